"""Confirmation: a target not provably on loopback needs --yes or the drill's name typed;
without either, `drdrill run` exits 2 having touched nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from typer.testing import CliRunner

from drdrill.cli import app
from drdrill.drills.confirm import confirmed, hosts_in, is_loopback, remote_targets
from drdrill.drills.loader import parse_drill
from drdrill.sim.procs import free_port
from drdrill.sim.proxy import FaultProxy
from drdrill.sim.proxy_control import start_control

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("text", "hosts"),
    [
        ("postgresql://drill:pw@127.0.0.1:5432/app", ["127.0.0.1"]),
        ("postgresql://drill@pg-a.internal:5432,10.0.0.7:5433/app", ["pg-a.internal", "10.0.0.7"]),
        ("postgresql:///app?host=/var/run/postgresql", ["", "/var/run/postgresql"]),
        ("host=db.example.com port=5432 dbname=app", ["db.example.com"]),
        ("dbname=app user=drill", []),
        ("http://[::1]:8123", ["::1"]),
        ("127.0.0.1:7000", ["127.0.0.1"]),
        ("localhost", ["localhost"]),
    ],
)
def test_hosts_are_found_in_every_form_of_address(text: str, hosts: list[str]) -> None:
    assert hosts_in(text) == hosts


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
     ("", True), ("/var/run/postgresql", True), ("10.0.0.7", False),
     ("pg.internal", False), ("localhost.example.com", False), ("0.0.0.0", False)],
)
def test_only_this_machine_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def _drill(dsn: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "remote-drill", "objectives": {"rto_seconds": 30},
        "baseline_seconds": 1, "stable_window_seconds": 1,
        "regions": {"primary": {"postgres": {"dsn": dsn}},
                    "secondary": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:1/drill"}}},
        "probes": [{"name": "pg-write", "kind": "postgres.write", "target": "primary.postgres"}],
        "fault": {"kind": "process.kill", "label": "primary.postgres", "pid": 1},
        **extra,
    }


def test_remote_targets_names_each_with_its_field_and_masks_secrets() -> None:
    drill = parse_drill("t.yaml", _drill(
        "postgresql://drill:hunter22@pg.internal/app",
        failover=[{"kind": "postgres.promote", "target": "secondary.postgres"}],
        rollback=[{"kind": "proxy.heal", "proxy": "10.1.2.3:7000", "links": ["pg"]}],
        fault=[{"kind": "k8s.delete_pod", "namespace": "db", "pod": "pg-0"},
               {"kind": "aws.ec2_stop", "instance_ids": ["i-1"], "aws": {"region": "us-east-1"}}],
    ))
    assert remote_targets(drill) == [
        "regions.primary.postgres.dsn: postgresql://drill:***@pg.internal/app"
        " (host pg.internal)",
        "fault[1].aws: the AWS API in us-east-1",
        "rollback[0].proxy: 10.1.2.3:7000 (host 10.1.2.3)",
        "fault[0] k8s.delete_pod: the Kubernetes cluster kubectl reaches",
    ]


def test_an_all_loopback_drill_needs_no_confirmation() -> None:
    drill = parse_drill("t.yaml", _drill("postgresql://drill@127.0.0.1:5432/drill"))
    assert remote_targets(drill) == []
    assert confirmed(drill, yes=False, ask=lambda prompt: pytest.fail("asked")) is True


def test_typing_the_name_confirms_and_anything_else_does_not() -> None:
    drill = parse_drill("t.yaml", _drill("postgresql://drill@10.0.0.7/app"))
    prompts: list[str] = []

    def ask(answer: str | None) -> Any:
        def asking(prompt: str) -> str | None:
            prompts.append(prompt)
            return answer
        return asking

    assert confirmed(drill, yes=False, ask=ask("remote-drill\n")) is True
    assert confirmed(drill, yes=False, ask=ask("remote")) is False
    assert confirmed(drill, yes=False, ask=ask(None)) is False
    assert confirmed(drill, yes=True, ask=ask("ignored")) is True
    assert prompts[0] == (
        "This drill reaches targets that are not on loopback:\n"
        "  - regions.primary.postgres.dsn: postgresql://drill@10.0.0.7/app (host 10.0.0.7)\n"
        "Type the drill's name (remote-drill) to run it"
    )
    assert len(prompts) == 3


@pytest_asyncio.fixture
async def proxy() -> AsyncIterator[tuple[FaultProxy, str]]:
    async with FaultProxy() as fault_proxy:
        await fault_proxy.add_link("pg", upstream=("127.0.0.1", free_port()))
        control = await start_control(fault_proxy, 0)
        yield fault_proxy, f"127.0.0.1:{control.sockets[0].getsockname()[1]}"
        control.close()


@pytest.mark.parametrize("typed", [None, "wrong-name\n"])
async def test_run_without_yes_exits_2_before_touching_anything(
    tmp_path: Path, proxy: tuple[FaultProxy, str], typed: str | None
) -> None:
    fault_proxy, address = proxy
    drill = _drill("postgresql://drill@pg.example.invalid/app",
                   fault={"kind": "proxy.blackhole", "proxy": address, "link": "pg"})
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(drill))
    out = tmp_path / "runs"

    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)], input=typed)

    assert result.exit_code == 2
    assert "not confirmed: nothing was done" in result.output
    assert not out.exists()  # no run directory, no journal
    link = fault_proxy.link("pg")
    assert (link.mode, link.connections, link.bytes_up) == ("pass", 0, 0)
