"""AWS faults against moto's in-process AWS (FIS, RDS FailoverDBCluster, EC2 stop/start and
its DryRun), and against botocore's Stubber for FailoverGlobalCluster, which moto does not
implement (moto 5.2 has no failover_global_cluster)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from drdrill import aws
from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.checks import CheckStatus, preflight_check
from drdrill.drills.faults import build_fault
from drdrill.drills.loader import parse_drill
from drdrill.drills.schema import DrillFile
from drdrill.errors import FaultError
from drdrill.sim.procs import free_port

pytestmark = pytest.mark.timeout(60)

REGION = "eu-central-1"


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing"), ("AWS_DEFAULT_REGION", REGION)):
        monkeypatch.setenv(name, value)


@pytest.fixture
def moto(credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


def _drill(fault: dict[str, Any]) -> DrillFile:
    return parse_drill("t.yaml", {
        "name": "t", "objectives": {},
        "regions": {"r": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:1/drill"}}},
        "probes": [{"name": "p", "kind": "postgres.write", "target": "r.postgres"}],
        "fault": {**fault, "aws": {"region": REGION}},
    })


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


async def _check(drill: DrillFile) -> tuple[CheckStatus, str]:
    check = preflight_check(drill.faults[0].kind)
    assert check is not None
    result = await check(drill.faults[0], drill)
    return result.status, result.detail


def _template() -> str:
    reply = _client("fis").create_experiment_template(
        clientToken="t", description="region outage",
        roleArn="arn:aws:iam::123456789012:role/fis",
        stopConditions=[{"source": "none"}],
        actions={"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT10M"}}},
    )
    return str(reply["experimentTemplate"]["id"])


async def test_fis_starts_an_experiment_and_the_lift_stops_it(moto: None) -> None:
    template = _template()
    drill = _drill({"kind": "aws.fis_start_experiment", "experiment_template_id": template})
    fault = build_fault(drill.faults[0])

    assert await _check(drill) == (
        CheckStatus.OK, f"template {template} exists (no DryRun in FIS)"
    )
    await fault.inject()
    (experiment,) = _client("fis").list_experiments()["experiments"]
    assert experiment["experimentTemplateId"] == template

    await fault.lift()
    state = _client("fis").get_experiment(id=experiment["id"])["experiment"]["state"]
    assert state["status"] in ("stopping", "stopped")
    assert fault.target == f"FIS experiment template {template} in {REGION}"


async def test_fis_with_a_missing_template_fails_inject_and_preflight(moto: None) -> None:
    drill = _drill({"kind": "aws.fis_start_experiment", "experiment_template_id": "EXT404"})

    status, detail = await _check(drill)
    assert status == CheckStatus.FAILED
    assert detail == ("aws.fis_start_experiment: fis get_experiment_template failed:"
                      " ResourceNotFoundException: Experiment template EXT404 does not exist")
    with pytest.raises(FaultError):
        await build_fault(drill.faults[0]).inject()


def _aurora_cluster() -> None:
    rds = _client("rds")
    rds.create_db_cluster(DBClusterIdentifier="orders", Engine="aurora-postgresql",
                          MasterUsername="admin", MasterUserPassword="not-a-secret-1")
    for name in ("orders-a", "orders-b"):
        rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.r6g.large",
                               Engine="aurora-postgresql", DBClusterIdentifier="orders")


def _writer() -> str:
    (cluster,) = _client("rds").describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"]
    (writer,) = [m for m in cluster["DBClusterMembers"] if m["IsClusterWriter"]]
    return str(writer["DBInstanceIdentifier"])


async def test_rds_failover_moves_the_writer_to_the_target(moto: None) -> None:
    _aurora_cluster()
    assert _writer() == "orders-a"
    drill = _drill({"kind": "aws.rds_failover", "db_cluster_identifier": "orders",
                    "target_db_instance_identifier": "orders-b"})
    fault = build_fault(drill.faults[0])

    assert await _check(drill) == (
        CheckStatus.OK, "cluster orders has 2 instances (no DryRun in RDS)"
    )
    await fault.inject()
    await fault.lift()  # a failover is not undone
    assert _writer() == "orders-b"
    assert fault.target == f"cluster orders -> instance orders-b in {REGION}"


async def test_global_failover_calls_the_api_as_stubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto does not implement FailoverGlobalCluster: botocore's Stubber checks the request.
    drill = _drill({"kind": "aws.rds_failover", "global_cluster_identifier": "g1",
                    "target_db_cluster_identifier": "arn:aws:rds:eu-central-1:1:cluster:eu",
                    "allow_data_loss": True})
    client = boto3.client("rds", region_name=REGION, aws_access_key_id="k",
                          aws_secret_access_key="s")
    stubber = Stubber(client)
    stubber.add_response(
        "failover_global_cluster", {"GlobalCluster": {"GlobalClusterIdentifier": "g1"}},
        {"GlobalClusterIdentifier": "g1", "AllowDataLoss": True,
         "TargetDbClusterIdentifier": "arn:aws:rds:eu-central-1:1:cluster:eu"},
    )
    monkeypatch.setattr(aws, "client", lambda *args, **kwargs: client)
    with stubber:
        await build_fault(drill.faults[0]).inject()
        stubber.assert_no_pending_responses()
    assert build_fault(drill.faults[0]).target == (
        "global cluster g1 -> arn:aws:rds:eu-central-1:1:cluster:eu"
        f" (failover, data loss allowed) in {REGION}"
    )


def _instances() -> list[str]:
    reply = _client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2)
    return sorted(i["InstanceId"] for i in reply["Instances"])


def _states(ids: list[str]) -> list[str]:
    reply = _client("ec2").describe_instances(InstanceIds=ids)
    found = {i["InstanceId"]: i["State"]["Name"]
             for r in reply["Reservations"] for i in r["Instances"]}
    return [found[i] for i in ids]


async def test_ec2_stop_stops_and_the_lift_starts_again(moto: None) -> None:
    ids = _instances()
    drill = _drill({"kind": "aws.ec2_stop", "instance_ids": ids})
    fault = build_fault(drill.faults[0])

    assert await _check(drill) == (
        CheckStatus.OK, f"DryRun: stopping {', '.join(ids)} is allowed"
    )
    assert _states(ids) == ["running", "running"]  # the DryRun stopped nothing
    await fault.inject()
    assert _states(ids) == ["stopped", "stopped"]
    await fault.lift()
    assert _states(ids) == ["running", "running"]


async def test_ec2_stop_with_aws_unreachable_fails_its_dry_run(credentials: None) -> None:
    port = free_port()
    drill = parse_drill("t.yaml", {
        "name": "t", "objectives": {},
        "regions": {"r": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:1/drill"}}},
        "probes": [{"name": "p", "kind": "postgres.write", "target": "r.postgres"}],
        "fault": {"kind": "aws.ec2_stop", "instance_ids": ["i-0123456789abcdef0"],
                  "timeout_seconds": 2,
                  "aws": {"region": REGION, "endpoint_url": f"http://127.0.0.1:{port}"}},
    })
    status, detail = await asyncio.wait_for(_check(drill), 30)
    assert status == CheckStatus.FAILED
    assert detail == ("aws.ec2_stop: ec2 stop_instances failed: Could not connect to the"
                      f' endpoint URL: "http://127.0.0.1:{port}/"')
