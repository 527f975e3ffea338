"""The TCP fault proxy: links that pass, hold, delay or break the bytes of real connections, so
that the simulator (and drill files) can cut and heal a path at an instant they journal.

A `FaultProxy` runs several links in one asyncio loop. A link is one listener forwarding to
one upstream, under one mode at a time:

| mode | existing connections | new connections |
|---|---|---|
| `pass` | bytes flow | connect upstream at once |
| `blackhole` | both directions held (not read, not dropped) | accepted, upstream connect held |
| `reset` | aborted with RST on both sides, held bytes discarded | accepted, then RST at once |
| `latency` | every chunk waits `ms` before it is forwarded, both ways | connect at once |
| `cut_up` / `cut_down` | client->server (up) or server->client (down) held | connect at once |

Holding means not reading: the kernel's TCP windows fill and the sender blocks, as in a real
partition, and the proxy's memory stays bounded. `heal()` returns to `pass`: held bytes flow
again in order, held connects proceed.

The guarantee of a mode change: it takes effect before the method returns, for every byte not
yet handed to the outgoing socket. So once `blackhole()` (or `cut()`) returns, no byte that the
proxy had not already handed to the kernel is forwarded until `heal()`, even one read before
the call; bytes handed over before it are on the wire and arrive, as they would on a network.
The caller reads the clock after the call returns and journals that as the fault's instant.
Latency and cuts are modelled on data only: the TCP handshake itself is never delayed or cut,
except in `blackhole`, where the upstream connect waits for `heal()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import signal
import sys
from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import Literal

from drdrill.sim.proxy_control import parse_host_port, start_control
from drdrill.sim.proxy_pipe import Pipe, Side

logger = logging.getLogger(__name__)

Mode = Literal["pass", "blackhole", "reset", "latency", "cut_up", "cut_down"]

# Which gates each mode closes: (up, down).
_CLOSED: dict[str, tuple[bool, bool]] = {
    "blackhole": (True, True),
    "cut_up": (True, False),
    "cut_down": (False, True),
}


class Link:
    """One listener, its upstream, its mode, and the connections it accepted.

    `connections` counts client connections accepted and not yet fully closed (including those
    waiting for their upstream connect, and those a blackhole keeps from noticing that a peer
    left); a reset connection stops counting on the loop's next iteration, when asyncio closes
    its sockets and the RST goes out. `bytes_up` and `bytes_down` count bytes forwarded
    (handed to the outgoing socket) client->server and server->client, over the link's life;
    bytes held are counted when they are forwarded, never if they are discarded.
    """

    def __init__(self, name: str, upstream: tuple[str, int]) -> None:
        self.name = name
        self.upstream = upstream
        self.mode: Mode = "pass"
        self.listen_port = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self._latency_s = 0.0
        self._pipes: set[Pipe] = set()
        self._server: asyncio.Server | None = None

    @property
    def connections(self) -> int:
        """Live connection pairs."""
        return len(self._pipes)

    def blackhole(self) -> None:
        """Hold both directions of every connection, and the upstream connect of new ones."""
        self._set_mode("blackhole")

    def reset(self) -> None:
        """Abort every connection with RST, and every new one at once, until `heal()`."""
        affected = len(self._pipes)
        self.mode = "reset"
        for pipe in list(self._pipes):
            pipe.reset()
        self._log_mode(affected)

    def latency(self, ms: float) -> None:
        """Delay every chunk by `ms` milliseconds in both directions."""
        if not (math.isfinite(ms) and ms >= 0):
            raise ValueError(f"latency ms must be a finite number >= 0, got {ms!r}")

        self._latency_s = ms / 1000
        self._set_mode("latency")

    def cut(self, direction: str) -> None:
        """Hold one direction only: "up" (client->server) or "down" (server->client)."""
        if direction == "up":
            self._set_mode("cut_up")
        elif direction == "down":
            self._set_mode("cut_down")
        else:
            raise ValueError(f"cut direction must be 'up' or 'down', got {direction!r}")

    def heal(self) -> None:
        """Back to `pass`: held bytes flow again, held connects proceed."""
        self._set_mode("pass")

    def set_upstream(self, host: str, port: int) -> None:
        """Send connections whose upstream connect starts from now on to `host:port`."""
        self.upstream = (host, port)
        logger.info("link upstream set link=%s upstream=%s:%d", self.name, host, port)

    def _set_mode(self, mode: Mode) -> None:
        self.mode = mode
        for pipe in list(self._pipes):
            pipe.apply_mode()
        self._log_mode(len(self._pipes))

    def _log_mode(self, connections: int) -> None:
        latency = f" ms={self._latency_s * 1000:g}" if self.mode == "latency" else ""
        logger.info(
            "link mode set link=%s mode=%s%s connections=%d",
            self.name, self.mode, latency, connections,
        )

    # What the pipes ask (drdrill.sim.proxy_pipe.LinkPolicy).

    @property
    def resets_new(self) -> bool:
        return self.mode == "reset"

    def may_connect(self) -> bool:
        return self.mode not in ("blackhole", "reset")

    def is_open(self, up: bool) -> bool:
        closed_up, closed_down = _CLOSED.get(self.mode, (False, False))
        return not (closed_up if up else closed_down)

    def delay_s(self) -> float:
        return self._latency_s if self.mode == "latency" else 0.0

    def count(self, up: bool, nbytes: int) -> None:
        if up:
            self.bytes_up += nbytes
        else:
            self.bytes_down += nbytes

    def pipe_opened(self, pipe: Pipe) -> None:
        self._pipes.add(pipe)

    def pipe_finished(self, pipe: Pipe) -> None:
        self._pipes.discard(pipe)

    async def _listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: Side(Pipe(self), client=True), host, port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        pipes = list(self._pipes)
        for pipe in pipes:
            pipe.reset()
        await asyncio.gather(*(pipe.finished for pipe in pipes))
        if self._server is not None:
            await self._server.wait_closed()


class FaultProxy:
    """Several listeners (links) in one asyncio process."""

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}

    @property
    def links(self) -> Mapping[str, Link]:
        """The links by name (read-only view)."""
        return MappingProxyType(self._links)

    async def add_link(
        self, name: str, upstream: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0),
    ) -> Link:
        """Listen on `listen` (port 0: a free one) and forward to `upstream`; return the link."""
        if name in self._links:
            raise ValueError(f"link {name!r} already exists")

        link = Link(name, upstream)
        await link._listen(*listen)
        self._links[name] = link
        logger.info(
            "link listening link=%s listen=%s:%d upstream=%s:%d",
            name, listen[0], link.listen_port, upstream[0], upstream[1],
        )
        return link

    def link(self, name: str) -> Link:
        """The link named `name`; KeyError if there is none."""
        return self._links[name]

    async def close(self) -> None:
        """Stop every listener and break every connection (RST); return when all are closed."""
        await asyncio.gather(*(link._close() for link in self._links.values()))
        logger.info("proxy closed links=%d", len(self._links))

    async def __aenter__(self) -> FaultProxy:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _link_spec(text: str) -> tuple[str, int, tuple[str, int]]:
    """Parse NAME=LISTEN_PORT:HOST:PORT into (name, listen port, upstream)."""
    try:
        name, rest = text.split("=", 1)
        listen, upstream = rest.split(":", 1)
        if not name:
            raise ValueError("empty name")
        return name, int(listen), parse_host_port(upstream)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--link must be NAME=LISTEN_PORT:HOST:PORT, got {text!r}"
        ) from None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m drdrill.sim.proxy",
        description="Run a TCP fault proxy driven by JSON lines on a loopback control port.",
    )
    parser.add_argument("--link", dest="links", action="append", type=_link_spec, required=True,
                        metavar="NAME=LISTEN_PORT:HOST:PORT", help="a link (0: a free port)")
    parser.add_argument("--control", type=int, required=True, metavar="PORT",
                        help="control port on 127.0.0.1 (0: a free port)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def _serve(links: list[tuple[str, int, tuple[str, int]]], control_port: int) -> None:
    async with FaultProxy() as proxy:
        for name, listen_port, upstream in links:
            await proxy.add_link(name, upstream, ("127.0.0.1", listen_port))
        control = await start_control(proxy, control_port)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        # One line on stdout tells the process that started us which ports were bound.
        ready = {
            "ready": True,
            "control_port": control.sockets[0].getsockname()[1],
            "links": {name: link.listen_port for name, link in proxy.links.items()},
        }
        print(json.dumps(ready), flush=True)
        await stop.wait()

        control.close()
        await control.wait_closed()


def main(argv: list[str] | None = None) -> None:
    """Run the proxy until SIGTERM or SIGINT."""
    args = _parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    asyncio.run(_serve(args.links, args.control))


if __name__ == "__main__":
    main()
