"""`drdrill plan` and `run --dry-run` list every fault, step and rollback with its exact target,
secrets masked, and run nothing."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from drdrill.cli import app

DRILL = {
    "name": "every-fault",
    "objectives": {"rto_seconds": 60},
    "regions": {
        "primary": {"postgres": {"dsn": "postgresql://drill:s3cret-pw@127.0.0.1:5432/drill"}},
        "secondary": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:5433/drill"}},
    },
    "probes": [{"name": "pg-write", "kind": "postgres.write", "target": "primary.postgres"}],
    "fault": [
        {"kind": "process.pause", "label": "primary.postgres", "pid": 4242, "pause_seconds": 3},
        {"kind": "proxy.blackhole", "proxy": "127.0.0.1:7000", "link": "pg-client"},
        {"kind": "proxy.reset", "proxy": "127.0.0.1:7000", "link": "pg-client"},
        {"kind": "proxy.latency", "proxy": "127.0.0.1:7000", "link": "pg-client", "ms": 300},
        {"kind": "proxy.partition", "proxy": "127.0.0.1:7000", "link": "pg-replication",
         "direction": "up", "duration_seconds": 4},
        {"kind": "compose.kill", "service": "db", "project": "dr", "files": ["dr.yml"]},
        {"kind": "compose.pause", "service": "nats"},
        {"kind": "compose.stop", "service": "web"},
        {"kind": "k8s.delete_pod", "namespace": "databases", "pod": "postgres-0",
         "context": "us-east-1"},
        {"kind": "k8s.scale", "namespace": "web", "resource": "deployment/api", "replicas": 0},
        {"kind": "aws.fis_start_experiment", "experiment_template_id": "EXT1a2b3c",
         "aws": {"region": "us-east-1"}},
        {"kind": "aws.rds_failover", "db_cluster_identifier": "orders",
         "target_db_instance_identifier": "orders-b", "aws": {"region": "us-east-1"}},
        {"kind": "aws.rds_failover", "global_cluster_identifier": "g1",
         "target_db_cluster_identifier": "arn:aws:rds:eu-central-1:1:cluster:eu"},
        {"kind": "aws.ec2_stop", "instance_ids": ["i-1", "i-2"], "force": True,
         "aws": {"region": "us-east-1"}},
        {"kind": "exec", "label": "drop routes", "argv": ["ip", "route", "del", "10.0.0.0/8"],
         "lift_argv": ["ip", "route", "add", "10.0.0.0/8", "via", "10.1.1.1"],
         "env": {"TOKEN": "tok-abcdef"}},
    ],
    "failover": [{"kind": "postgres.promote", "name": "promote", "target": "secondary.postgres"}],
    "rollback": [{"kind": "proxy.heal", "name": "heal", "proxy": "127.0.0.1:7000",
                  "links": ["pg-client", "pg-replication"], "timeout_seconds": 10}],
}

EXPECTED_FAULTS = [
    "2. fault (T0): process.pause -> primary.postgres (pid 4242), lifted 3 s after its inject",
    "2. fault (T0): proxy.blackhole -> link pg-client of proxy 127.0.0.1:7000 (blackhole)",
    "2. fault (T0): proxy.reset -> link pg-client of proxy 127.0.0.1:7000 (reset)",
    "2. fault (T0): proxy.latency -> link pg-client of proxy 127.0.0.1:7000 (latency 300 ms)",
    "2. fault (T0): proxy.partition -> link pg-replication of proxy 127.0.0.1:7000"
    " (partition up), lifted 4 s after its inject",
    "2. fault (T0): compose.kill -> service db (project dr, -f dr.yml)",
    "2. fault (T0): compose.pause -> service nats",
    "2. fault (T0): compose.stop -> service web",
    "2. fault (T0): k8s.delete_pod -> pod postgres-0 in namespace databases, context us-east-1",
    "2. fault (T0): k8s.scale -> deployment/api to 0 replicas, then back in namespace web",
    "2. fault (T0): aws.fis_start_experiment -> FIS experiment template EXT1a2b3c in us-east-1",
    "2. fault (T0): aws.rds_failover -> cluster orders -> instance orders-b in us-east-1",
    "2. fault (T0): aws.rds_failover -> global cluster g1 -> arn:aws:rds:eu-central-1:1:cluster:eu"
    " (switchover) in the default region",
    "2. fault (T0): aws.ec2_stop -> instances i-1, i-2 (forced) in us-east-1",
    "2. fault (T0): exec -> drop routes: ip route del 10.0.0.0/8;"
    " lift: ip route add 10.0.0.0/8 via 10.1.1.1",
]


def test_plan_lists_every_fault_step_and_rollback_with_its_target(tmp_path: Path) -> None:
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(DRILL))

    result = CliRunner().invoke(app, ["plan", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line for line in lines if line.startswith("2. fault")] == EXPECTED_FAULTS
    assert "  - promote [postgres.promote] -> secondary.postgres" \
        " (postgresql://drill@127.0.0.1:5433/drill) (timeout 60 s)" in lines
    assert "  - heal [proxy.heal] -> links pg-client, pg-replication of proxy 127.0.0.1:7000" \
        " (timeout 10 s)" in lines
    assert "  - pg-write [postgres.write] every 100 ms, timeout 1000 ms -> primary.postgres" \
        " (postgresql://drill:***@127.0.0.1:5432/drill)" in lines
    assert "s3cret-pw" not in result.output and "tok-abcdef" not in result.output

    dry = CliRunner().invoke(app, ["run", str(path), "--dry-run", "--out", str(tmp_path / "r")])
    assert (dry.exit_code, dry.output) == (0, result.output)
    assert not (tmp_path / "r").exists()
