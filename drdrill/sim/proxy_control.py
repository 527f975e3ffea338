"""The control port of a fault proxy run as its own process: JSON lines on loopback TCP.

One command per line, one reply per line:

    {"link": "pg", "mode": "blackhole"}            -> {"ok": true, "t_ns": ..., "link": "pg",
                                                       "mode": "blackhole", "connections": 2,
                                                       "bytes_up": 1234, "bytes_down": 5678}
    {"link": "pg", "mode": "latency", "ms": 200}
    {"link": "pg", "upstream": "127.0.0.1:5433"}   (set_upstream; may come with a mode)
    {"link": "pg"}                                 (no change: the link's state)
    anything wrong                                 -> {"ok": false, "error": "..."}

Modes are the values of `Link.mode`: pass (heal), blackhole, reset, latency, cut_up, cut_down.
`t_ns` is the proxy's monotonic clock (the host's CLOCK_MONOTONIC, the same clock as the
harness's on one machine), read right after the change took effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from drdrill.clock import now_ns

if TYPE_CHECKING:
    from drdrill.sim.proxy import FaultProxy, Link

logger = logging.getLogger(__name__)

_MODES: dict[str, Callable[[Link], None]] = {
    "pass": lambda link: link.heal(),
    "blackhole": lambda link: link.blackhole(),
    "reset": lambda link: link.reset(),
    "cut_up": lambda link: link.cut("up"),
    "cut_down": lambda link: link.cut("down"),
}


class CommandError(ValueError):
    """A control command that cannot be applied; its message is the reply's error."""


def parse_host_port(text: str) -> tuple[str, int]:
    """Parse HOST:PORT; ValueError if it is not that."""
    host, port = text.rsplit(":", 1)
    if not host:
        raise ValueError(f"empty host in {text!r}")
    return host, int(port)


async def start_control(proxy: FaultProxy, port: int) -> asyncio.Server:
    """Serve the control protocol on 127.0.0.1:`port` (0: a free port); return the server."""
    server = await asyncio.start_server(partial(_serve_client, proxy), "127.0.0.1", port)
    logger.info("control listening port=%d", server.sockets[0].getsockname()[1])
    return server


def apply_command(proxy: FaultProxy, line: bytes) -> dict[str, Any]:
    """Apply one JSON command line; return the reply (see the module docstring)."""
    try:
        link = _apply(proxy, json.loads(line))
    except ValueError as exc:  # CommandError, bad JSON, or a value Link refused
        return {"ok": False, "error": str(exc)}

    return {
        "ok": True, "t_ns": now_ns(), "link": link.name, "mode": link.mode,
        "connections": link.connections, "bytes_up": link.bytes_up,
        "bytes_down": link.bytes_down,
    }


def _apply(proxy: FaultProxy, command: object) -> Link:
    if not isinstance(command, dict):
        raise CommandError(f"a command must be a JSON object, got {command!r}")

    name = command.get("link")
    link = proxy.links.get(name) if isinstance(name, str) else None
    if link is None:
        raise CommandError(f"no link named {name!r}; links: {', '.join(sorted(proxy.links))}")

    if "upstream" in command:
        upstream = command["upstream"]
        try:
            link.set_upstream(*parse_host_port(str(upstream)))
        except ValueError:
            raise CommandError(f"upstream must be 'HOST:PORT', got {upstream!r}") from None

    mode = command.get("mode")
    if mode is None:
        return link
    if mode == "latency":
        ms = command.get("ms")
        if not isinstance(ms, int | float) or isinstance(ms, bool):
            raise CommandError(f"mode latency needs a number 'ms', got {ms!r}")
        link.latency(float(ms))
        return link

    apply_mode = _MODES.get(mode) if isinstance(mode, str) else None
    if apply_mode is None:
        modes = ", ".join([*_MODES, "latency"])
        raise CommandError(f"unknown mode {mode!r}; modes: {modes}")
    apply_mode(link)
    return link


async def _serve_client(
    proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
) -> None:
    try:
        while line := await reader.readline():
            reply = apply_command(proxy, line)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
    except (ConnectionError, ValueError) as exc:  # ValueError: a line over the stream limit
        logger.warning("control connection failed error=%r", exc)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
