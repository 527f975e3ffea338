"""Faults on a link of a running fault proxy (`python -m drdrill.sim.proxy`), and the step that
heals links, driven through the proxy's control port (one JSON line each way).

| kind | proxy mode | lift |
|---|---|---|
| proxy.blackhole | blackhole: bytes and new connects held both ways | pass |
| proxy.reset | reset: every connection RST, new ones too | pass |
| proxy.latency | latency: every chunk delayed by `ms` | pass |
| proxy.partition | both: blackhole; up: cut_up; down: cut_down | pass |

A partition both ways is the proxy's blackhole: on a real network a partition also swallows
the SYN of a new connection, which is what holding the upstream connect does.

The proxy applies a change before it replies, so when the inject returns the link is cut and
the runner's T0 (read after it returns) is no earlier than the cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from drdrill.drills.checks import CheckResult, register_preflight_check
from drdrill.drills.faults import Fault, register_fault
from drdrill.drills.schema import DrillFile
from drdrill.drills.steps import StepContext, StepResult, register_step
from drdrill.errors import FaultError, StepError

logger = logging.getLogger(__name__)

CONTROL_TIMEOUT_S = 5.0
_PARTITION_MODES = {"both": "blackhole", "up": "cut_up", "down": "cut_down"}


async def proxy_command(address: str, command: dict[str, Any]) -> dict[str, Any]:
    """Send one command to the proxy at `address` (HOST:PORT); returns its `ok` reply.

    Raises `FaultError` when the proxy cannot be reached or refuses the command.
    """
    host, _, port = address.rpartition(":")
    try:
        async with asyncio.timeout(CONTROL_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                writer.write(json.dumps(command).encode() + b"\n")
                await writer.drain()
                line = await reader.readline()
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
        reply: dict[str, Any] = json.loads(line)
    except TimeoutError:
        raise FaultError(f"fault proxy {address}: no reply within {CONTROL_TIMEOUT_S:g} s") \
            from None
    except OSError as exc:
        raise FaultError(f"cannot reach the fault proxy's control port {address}: {exc}") \
            from exc
    except ValueError:  # an empty or broken line: the proxy closed on us
        raise FaultError(f"fault proxy {address} gave no valid reply") from None

    if not reply.get("ok"):
        raise FaultError(f"fault proxy {address} refused {command}: {reply.get('error')}")
    return reply


def fault_command(spec: Any) -> dict[str, Any]:
    """The control command that injects this fault."""
    if spec.kind == "proxy.latency":
        return {"link": spec.link, "mode": "latency", "ms": spec.ms}
    if spec.kind == "proxy.partition":
        return {"link": spec.link, "mode": _PARTITION_MODES[spec.direction]}
    return {"link": spec.link, "mode": spec.kind.removeprefix("proxy.")}


def _what(spec: Any) -> str:
    if spec.kind == "proxy.latency":
        return f"latency {spec.ms:g} ms"
    if spec.kind == "proxy.partition":
        return f"partition {spec.direction}"
    return str(spec.kind).removeprefix("proxy.")


@register_fault("proxy.blackhole", "proxy.reset", "proxy.latency", "proxy.partition")
def proxy_fault(spec: Any) -> Fault:
    """Put one link of the proxy in the fault's mode; the lift puts it back to pass."""
    async def inject() -> None:
        reply = await proxy_command(spec.proxy, fault_command(spec))
        logger.info("proxy link set link=%s mode=%s connections=%s", spec.link, reply["mode"],
                    reply["connections"])

    async def lift() -> None:
        await proxy_command(spec.proxy, {"link": spec.link, "mode": "pass"})

    target = f"link {spec.link} of proxy {spec.proxy} ({_what(spec)})"
    return Fault(spec.kind, target, inject, lift, spec.duration_seconds)


@register_step("proxy.heal")
async def run_proxy_heal(spec: Any, context: StepContext) -> StepResult:
    """Put links back to pass (a rollback or failback step); every link is tried."""
    errors = []
    for link in spec.links:
        try:
            await proxy_command(spec.proxy, {"link": link, "mode": "pass"})
        except FaultError as exc:
            errors.append(str(exc))
    if errors:
        raise StepError("; ".join(errors))
    return StepResult(detail={"healed": list(spec.links), "proxy": spec.proxy})


@register_preflight_check("proxy.blackhole", "proxy.reset", "proxy.latency", "proxy.partition",
                          "proxy.heal")
async def check_proxy(spec: Any, drill: DrillFile) -> CheckResult:
    """The control port answers and knows each link; a query changes nothing."""
    links = getattr(spec, "links", None) or [spec.link]
    states = []
    for link in links:
        try:
            reply = await proxy_command(spec.proxy, {"link": link})
        except FaultError as exc:
            return CheckResult.failed(str(exc))
        states.append(f"{link}: {reply['mode']}, {reply['connections']} connections")
    return CheckResult.ok("; ".join(states))
