"""Proxy faults and the proxy.heal step, driven through a real fault proxy's control port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.checks import CheckStatus, preflight_check
from drdrill.drills.faults import build_fault
from drdrill.drills.loader import parse_drill
from drdrill.drills.schema import DrillFile
from drdrill.drills.steps import StepContext, step_runner
from drdrill.errors import FaultError, StepError
from drdrill.sim.procs import free_port
from drdrill.sim.proxy import FaultProxy
from drdrill.sim.proxy_control import start_control

pytestmark = pytest.mark.timeout(30)


class Proxy:
    """A FaultProxy with links `a` and `b` and its control port."""

    def __init__(self, proxy: FaultProxy, address: str) -> None:
        self.proxy = proxy
        self.address = address

    def mode(self, link: str) -> str:
        return self.proxy.link(link).mode


@pytest_asyncio.fixture
async def proxy() -> AsyncIterator[Proxy]:
    async with FaultProxy() as fault_proxy:
        for name in ("a", "b"):
            await fault_proxy.add_link(name, upstream=("127.0.0.1", free_port()))
        control = await start_control(fault_proxy, 0)
        yield Proxy(fault_proxy, f"127.0.0.1:{control.sockets[0].getsockname()[1]}")
        control.close()
        await control.wait_closed()


def _drill(proxy: Proxy, fault: dict[str, object], rollback: list[object]) -> DrillFile:
    return parse_drill("t.yaml", {
        "name": "t", "objectives": {},
        "regions": {"r": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:1/drill"}}},
        "probes": [{"name": "p", "kind": "postgres.write", "target": "r.postgres"}],
        "fault": {"proxy": proxy.address, "link": "a", **fault},
        "rollback": rollback,
    })


@pytest.mark.parametrize(
    ("fault", "mode", "target"),
    [
        ({"kind": "proxy.blackhole"}, "blackhole", "blackhole"),
        ({"kind": "proxy.reset"}, "reset", "reset"),
        ({"kind": "proxy.latency", "ms": 250}, "latency", "latency 250 ms"),
        ({"kind": "proxy.partition"}, "blackhole", "partition both"),
        ({"kind": "proxy.partition", "direction": "up"}, "cut_up", "partition up"),
        ({"kind": "proxy.partition", "direction": "down"}, "cut_down", "partition down"),
    ],
)
async def test_inject_sets_the_mode_and_lift_heals(
    proxy: Proxy, fault: dict[str, object], mode: str, target: str
) -> None:
    spec = _drill(proxy, {**fault, "duration_seconds": 4}, []).faults[0]
    built = build_fault(spec)

    await built.inject()
    assert (proxy.mode("a"), proxy.mode("b")) == (mode, "pass")
    await built.lift()
    assert (proxy.mode("a"), proxy.mode("b")) == ("pass", "pass")
    assert built.target == f"link a of proxy {proxy.address} ({target})"
    assert built.lift_after == 4


async def test_latency_reaches_the_link(proxy: Proxy) -> None:
    spec = _drill(proxy, {"kind": "proxy.latency", "ms": 250}, []).faults[0]
    await build_fault(spec).inject()
    assert proxy.proxy.link("a").delay_s() == 0.25


async def test_heal_step_puts_every_link_back(proxy: Proxy) -> None:
    proxy.proxy.link("a").blackhole()
    proxy.proxy.link("b").cut("up")
    drill = _drill(proxy, {"kind": "proxy.reset"},
                   [{"kind": "proxy.heal", "proxy": proxy.address, "links": ["a", "b"]}])

    result = await step_runner("proxy.heal")(drill.rollback[0], StepContext(drill, {}))
    assert (proxy.mode("a"), proxy.mode("b")) == ("pass", "pass")
    assert result.detail == {"healed": ["a", "b"], "proxy": proxy.address}


async def test_heal_tries_every_link_and_names_the_unknown_one(proxy: Proxy) -> None:
    proxy.proxy.link("b").blackhole()
    drill = _drill(proxy, {"kind": "proxy.reset"},
                   [{"kind": "proxy.heal", "proxy": proxy.address, "links": ["zz", "b"]}])

    with pytest.raises(StepError) as caught:
        await step_runner("proxy.heal")(drill.rollback[0], StepContext(drill, {}))
    assert proxy.mode("b") == "pass"
    assert str(caught.value) == (
        f"fault proxy {proxy.address} refused {{'link': 'zz', 'mode': 'pass'}}:"
        " no link named 'zz'; links: a, b"
    )


async def test_preflight_queries_without_changing(proxy: Proxy) -> None:
    drill = _drill(proxy, {"kind": "proxy.blackhole"}, [])
    check = preflight_check("proxy.blackhole")
    assert check is not None

    result = await check(drill.faults[0], drill)
    assert (result.status, result.detail) == (CheckStatus.OK, "a: pass, 0 connections")
    assert proxy.mode("a") == "pass"


async def test_an_unreachable_proxy_is_a_fault_error() -> None:
    port = free_port()
    spec = parse_drill("t.yaml", {
        "name": "t", "objectives": {},
        "regions": {"r": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:1/drill"}}},
        "probes": [{"name": "p", "kind": "postgres.write", "target": "r.postgres"}],
        "fault": {"kind": "proxy.reset", "proxy": f"127.0.0.1:{port}", "link": "a"},
    }).faults[0]

    with pytest.raises(FaultError) as caught:
        await asyncio.wait_for(build_fault(spec).inject(), 10)
    assert str(caught.value).startswith(
        f"cannot reach the fault proxy's control port 127.0.0.1:{port}: "
    )
