"""The `clickhouse.switch` step against real servers: it runs the listed SQL on the target, then
repoints the writers; a target that does not answer or a statement that fails leaves every
probe where it was."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from ch_servers import start_node
from clickhouse_connect.driver.asyncclient import AsyncClient

from drdrill.drills import step_catalog  # noqa: F401 - registers every step kind
from drdrill.drills.schema import DrillFile
from drdrill.drills.steps import StepContext, step_runner
from drdrill.errors import StepError
from drdrill.probes.base import OpResult, Probe
from drdrill.probes.catalog import build_probe
from drdrill.sim.chnode import Backend, ChNode
from drdrill.sim.procs import free_port

pytestmark = pytest.mark.timeout(60)

_tables = itertools.count()


def _drill(a_url: str, b_url: str, step: dict[str, Any]) -> DrillFile:
    table = f"sw{next(_tables)}"
    return DrillFile.model_validate({
        "name": "clickhouse-steps",
        "objectives": {"rto_seconds": 30},
        "regions": {
            "a": {"clickhouse": {"url": a_url, "table": table}},
            "b": {"clickhouse": {"url": b_url, "table": table}},
        },
        "probes": [{"name": "w", "kind": "clickhouse.write", "target": "a.clickhouse"}],
        "fault": {"kind": "process.kill", "label": "a.clickhouse", "pid": 1},
        "failover": [step],
    })


def _context(drill: DrillFile, run_id: str) -> StepContext:
    probes: dict[str, Probe] = {
        spec.name: build_probe(spec, drill.target(spec.target), run_id) for spec in drill.probes
    }
    return StepContext(drill, probes)


async def _run(drill: DrillFile, context: StepContext) -> Any:
    spec = drill.failover[0]
    return await step_runner(spec.kind)(spec, context)


async def test_the_switch_runs_its_statements_then_repoints_the_writers(
    workdir: Path, node: ChNode, client: AsyncClient
) -> None:
    old = await start_node(workdir, Backend("chdb"), name="old")
    step = {"kind": "clickhouse.switch", "target": "b.clickhouse", "statements": [
        "CREATE TABLE promoted_marker (at DateTime) ENGINE = Memory",
        "INSERT INTO promoted_marker VALUES (now())",
    ]}
    drill = _drill(old.url, node.url, step)
    context = _context(drill, "run-switch")
    probe = context.probes["w"]
    before = await probe.op(0)
    old.kill()

    result = await _run(drill, context)
    after = await probe.op(1)
    read = await probe.final_read()
    await probe.close()
    marker = await client.command("SELECT count() FROM promoted_marker")

    assert before == OpResult.ok()
    assert result.promotes == [{"store": "w", "from": "a.clickhouse", "to": "b.clickhouse"}]
    assert result.detail == {"statements_run": 2}
    assert after == OpResult.ok()
    assert read.seqs.tolist() == [1]  # the write before the switch stayed on the old server
    assert read.target == "b.clickhouse"
    assert marker == 1


async def test_a_failing_statement_fails_the_step_and_switches_nothing(node: ChNode) -> None:
    step = {"kind": "clickhouse.switch", "target": "b.clickhouse",
            "statements": ["SELECT 1", "SYSTEM NO SUCH COMMAND"]}
    drill = _drill(f"http://127.0.0.1:{free_port()}", node.url, step)
    context = _context(drill, "run-bad-sql")

    with pytest.raises(StepError) as caught:
        await _run(drill, context)

    assert str(caught.value).startswith(
        "b.clickhouse: statement 2 of 2 failed ('SYSTEM NO SUCH COMMAND'): Received ClickHouse"
        " exception, code: 62"
    )
    assert context.probes["w"].route.name == "a.clickhouse"


async def test_an_unreachable_target_fails_the_step_and_switches_nothing(node: ChNode) -> None:
    port = free_port()
    step = {"kind": "clickhouse.switch", "target": "b.clickhouse", "timeout_seconds": 5}
    drill = _drill(node.url, f"http://127.0.0.1:{port}", step)
    context = _context(drill, "run-unreachable")

    with pytest.raises(StepError) as caught:
        await _run(drill, context)

    assert str(caught.value).startswith(
        f"cannot connect to b.clickhouse: Network Error: Cannot connect to host"
        f" 127.0.0.1:{port}"
    )
    assert context.probes["w"].route.name == "a.clickhouse"
