"""The fault proxy against real sockets: real upstream servers, real clients, all on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import pytest
import pytest_asyncio

from drdrill.sim.proxy import FaultProxy
from drdrill.sim.proxy_pipe import abort_with_rst

# The loop is this module's own, whatever the project's default loop scope: the proxy and the
# servers of one test must never outlive it.
pytestmark = [pytest.mark.timeout(20), pytest.mark.asyncio(loop_scope="function")]

Ends = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connect = Callable[[int], Awaitable[Ends]]

QUIET_S = 0.3  # how long "nothing arrives" is watched for


class Upstream:
    """A real TCP server on 127.0.0.1: echoes, or hands each accepted connection to the test."""

    def __init__(self, echo: bool) -> None:
        self._echo = echo
        self._accepted: asyncio.Queue[Ends] = asyncio.Queue()
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: list[asyncio.Task[None]] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Upstream:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def accept(self, within: float = 2.0) -> Ends:
        return await asyncio.wait_for(self._accepted.get(), within)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        for writer in self._writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        if not self._echo:
            self._accepted.put_nowait((reader, writer))
            return

        task = asyncio.current_task()
        assert task is not None
        self._handlers.append(task)
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        writer.close()


@pytest_asyncio.fixture(loop_scope="function")
async def proxy() -> AsyncIterator[FaultProxy]:
    async with FaultProxy() as running:
        yield running


@pytest_asyncio.fixture(loop_scope="function")
async def echo() -> AsyncIterator[Upstream]:
    server = await Upstream(echo=True).start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="function")
async def upstream() -> AsyncIterator[Upstream]:
    server = await Upstream(echo=False).start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="function")
async def connect() -> AsyncIterator[Connect]:
    writers: list[asyncio.StreamWriter] = []

    async def open_client(port: int) -> Ends:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
        return reader, writer

    yield open_client
    for writer in writers:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def wait_until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Poll state that the proxy's callbacks change until `predicate` holds."""
    for _ in range(int(within / 0.005)):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"still false after {within} s")


async def assert_quiet(reader: asyncio.StreamReader) -> None:
    """Nothing arrives on `reader` for QUIET_S."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), QUIET_S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_pass_through_both_ways_counts_bytes(
    proxy: FaultProxy, echo: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", echo.port))
    reader, writer = await connect(link.listen_port)
    payload = bytes(range(256)) * 4096  # 1 MiB, more than any single buffer on the way

    writer.write(payload)
    assert await reader.readexactly(len(payload)) == payload
    assert (link.mode, link.connections) == ("pass", 1)
    assert (link.bytes_up, link.bytes_down) == (1048576, 1048576)

    # The client's FIN reaches the echo server, whose close reaches the client.
    writer.write_eof()
    assert await reader.read() == b""
    await wait_until(lambda: link.connections == 0)


async def test_blackhole_holds_both_ways_and_heal_delivers_exactly_the_held_bytes(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    client_r, client_w = await connect(link.listen_port)
    server_r, server_w = await upstream.accept()
    client_w.write(b"before")
    assert await server_r.readexactly(6) == b"before"

    link.blackhole()
    client_w.write(b"held-1,")
    client_w.write(b"held-2")
    server_w.write(b"reply")
    await assert_quiet(server_r)
    await assert_quiet(client_r)
    assert (link.mode, link.connections, link.bytes_up, link.bytes_down) == ("blackhole", 1, 6, 0)

    link.heal()
    assert await server_r.readexactly(13) == b"held-1,held-2"
    assert await client_r.readexactly(5) == b"reply"
    assert (link.mode, link.bytes_up, link.bytes_down) == ("pass", 19, 5)


async def test_blackhole_holds_a_chunk_read_before_it_but_not_yet_forwarded(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    _, client_w = await connect(link.listen_port)
    server_r, _ = await upstream.accept()
    link.latency(300)
    client_w.write(b"in-flight")
    await asyncio.sleep(0.1)  # the proxy has read the chunk; it waits out the latency

    link.blackhole()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(server_r.read(1), 0.4)
    assert link.bytes_up == 0

    link.heal()
    assert await server_r.readexactly(9) == b"in-flight"
    assert link.bytes_up == 9


async def test_a_fin_is_held_behind_the_bytes_before_it_and_closes_in_turn(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    client_r, client_w = await connect(link.listen_port)
    server_r, server_w = await upstream.accept()

    link.blackhole()
    client_w.write(b"last")
    client_w.write_eof()
    await assert_quiet(server_r)

    # Half-close passes through: the server reads to EOF, then can still answer.
    link.heal()
    assert await server_r.read() == b"last"
    server_w.write(b"bye")
    server_w.close()
    assert await client_r.read() == b"bye"
    await wait_until(lambda: link.connections == 0)
    assert (link.bytes_up, link.bytes_down) == (4, 3)


async def test_a_reset_upstream_resets_the_client(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    client_r, _ = await connect(link.listen_port)
    _, server_w = await upstream.accept()

    abort_with_rst(cast(asyncio.Transport, server_w.transport))
    with pytest.raises(ConnectionResetError):
        await client_r.read(1)
    await wait_until(lambda: link.connections == 0)


async def test_blackhole_holds_new_connections_until_heal(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    link.blackhole()
    _, client_w = await connect(link.listen_port)
    client_w.write(b"early")

    with pytest.raises(TimeoutError):
        await upstream.accept(within=QUIET_S)
    assert link.connections == 1

    link.heal()
    server_r, _ = await upstream.accept()
    assert await server_r.readexactly(5) == b"early"


async def test_blackhole_pushes_back_on_the_sender(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    _, client_w = await connect(link.listen_port)
    server_r, _ = await upstream.accept()
    # 64 MiB: more than the kernel can absorb on the way here (send buffer at most 4 MiB,
    # receive buffer at most 32 MiB) plus the proxy's bounded hold.
    payload = bytes(range(251)) * (64 * 1024 * 1024 // 251)

    link.blackhole()
    client_w.write(payload)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client_w.drain(), 0.5)
    assert link.bytes_up == 0

    link.heal()
    assert await server_r.readexactly(len(payload)) == payload
    await client_w.drain()
    assert link.bytes_up == len(payload)


async def test_reset_breaks_connections_and_refuses_new_ones_until_heal(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    client_r, client_w = await connect(link.listen_port)
    server_r, _ = await upstream.accept()
    client_w.write(b"x")
    assert await server_r.readexactly(1) == b"x"
    link.blackhole()
    client_w.write(b"discarded")
    await assert_quiet(server_r)

    started = time.monotonic()
    link.reset()
    with pytest.raises(ConnectionResetError):
        await client_r.read(1)
    assert time.monotonic() - started < 1.0
    with pytest.raises(ConnectionResetError):
        await server_r.read(1)
    assert link.bytes_up == 1
    await wait_until(lambda: link.connections == 0)

    # A new client is accepted by the kernel, then broken at once; upstream never sees it.
    late_r, _ = await connect(link.listen_port)
    with pytest.raises(ConnectionResetError):
        await late_r.read(1)
    with pytest.raises(TimeoutError):
        await upstream.accept(within=QUIET_S)
    assert link.mode == "reset"

    link.heal()
    healed_r, healed_w = await connect(link.listen_port)
    server_r, server_w = await upstream.accept()
    server_w.write(b"back")
    assert await healed_r.readexactly(4) == b"back"


async def test_latency_delays_each_direction_and_keeps_chunks_pipelined(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    client_r, client_w = await connect(link.listen_port)
    server_r, server_w = await upstream.accept()
    link.latency(200)
    assert link.mode == "latency"

    sent = time.monotonic()
    client_w.write(b"ping")
    await server_r.readexactly(4)
    up_s = time.monotonic() - sent
    sent = time.monotonic()
    server_w.write(b"pong")
    await client_r.readexactly(4)
    down_s = time.monotonic() - sent
    # A shared machine can be slow, never early: only a generous upper bound.
    assert 0.2 <= up_s < 1.0
    assert 0.2 <= down_s < 1.0

    # Ten chunks 20 ms apart each wait 200 ms, not 200 ms behind one another (2 s in all).
    sent_at: list[float] = []
    for index in range(10):
        sent_at.append(time.monotonic())
        client_w.write(bytes([index]))
        await asyncio.sleep(0.02)
    arrived_at = []
    for index in range(10):
        assert await server_r.readexactly(1) == bytes([index])
        arrived_at.append(time.monotonic())
    assert all(arrived - sent >= 0.2 for sent, arrived in zip(sent_at, arrived_at, strict=True))
    assert arrived_at[-1] - sent_at[0] < 1.5


@pytest.mark.parametrize("direction", ["up", "down"])
async def test_cut_holds_one_direction_while_the_other_flows(
    proxy: FaultProxy, upstream: Upstream, connect: Connect, direction: str,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    client_r, client_w = await connect(link.listen_port)
    server_r, server_w = await upstream.accept()
    held_r, flowing_r = (server_r, client_r) if direction == "up" else (client_r, server_r)

    link.cut(direction)
    client_w.write(b"to-server")
    server_w.write(b"to-client")
    assert await flowing_r.readexactly(9) == (b"to-client" if direction == "up" else b"to-server")
    await assert_quiet(held_r)
    assert link.mode == f"cut_{direction}"
    assert (link.bytes_up, link.bytes_down) == ((0, 9) if direction == "up" else (9, 0))

    link.heal()
    assert await held_r.readexactly(9) == (b"to-server" if direction == "up" else b"to-client")
    assert (link.bytes_up, link.bytes_down) == (9, 9)


async def test_upstream_refused_breaks_the_client_quickly(
    proxy: FaultProxy, connect: Connect, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="drdrill.sim.proxy_pipe")
    dead_port = free_port()
    link = await proxy.add_link("dead", ("127.0.0.1", dead_port))

    started = time.monotonic()
    reader, _ = await connect(link.listen_port)
    with pytest.raises(ConnectionResetError):
        await reader.read(1)
    assert time.monotonic() - started < 1.0
    await wait_until(lambda: link.connections == 0)
    [record] = caplog.records
    assert record.getMessage().startswith(
        f"upstream connect failed link=dead upstream=127.0.0.1:{dead_port} "
        "error=ConnectionRefusedError("
    )


async def test_links_in_one_proxy_are_independent(
    proxy: FaultProxy, upstream: Upstream, connect: Connect,
) -> None:
    held = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    other = await proxy.add_link("nats", ("127.0.0.1", upstream.port))
    _, held_w = await connect(held.listen_port)
    held_server_r, _ = await upstream.accept()
    other_r, other_w = await connect(other.listen_port)
    other_server_r, other_server_w = await upstream.accept()

    held.blackhole()
    held_w.write(b"a")
    other_w.write(b"b")
    assert await other_server_r.readexactly(1) == b"b"
    await assert_quiet(held_server_r)

    other.reset()
    with pytest.raises(ConnectionResetError):
        await other_r.read(1)
    held.heal()
    assert await held_server_r.readexactly(1) == b"a"
    assert [(link.mode, link.bytes_up) for link in (held, other)] == [("pass", 1), ("reset", 1)]
    assert proxy.link("pg") is held


async def test_set_upstream_sends_later_connections_to_the_new_server(
    proxy: FaultProxy, upstream: Upstream, echo: Upstream, connect: Connect,
) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", upstream.port))
    _, first_w = await connect(link.listen_port)
    first_server_r, _ = await upstream.accept()

    link.set_upstream("127.0.0.1", echo.port)
    second_r, second_w = await connect(link.listen_port)
    second_w.write(b"echoed")
    assert await second_r.readexactly(6) == b"echoed"
    first_w.write(b"old")
    assert await first_server_r.readexactly(3) == b"old"
    assert link.upstream == ("127.0.0.1", echo.port)


async def test_mode_changes_are_logged_with_live_connections(
    proxy: FaultProxy, echo: Upstream, connect: Connect, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="drdrill.sim.proxy")
    link = await proxy.add_link("pg", ("127.0.0.1", echo.port))
    await connect(link.listen_port)
    await wait_until(lambda: link.connections == 1)
    caplog.clear()

    link.blackhole()
    link.latency(200)
    link.cut("down")
    link.reset()
    await wait_until(lambda: link.connections == 0)
    link.heal()
    assert [record.getMessage() for record in caplog.records] == [
        "link mode set link=pg mode=blackhole connections=1",
        "link mode set link=pg mode=latency ms=200 connections=1",
        "link mode set link=pg mode=cut_down connections=1",
        "link mode set link=pg mode=reset connections=1",
        "link mode set link=pg mode=pass connections=0",
    ]


async def test_bad_arguments_name_the_value(proxy: FaultProxy, echo: Upstream) -> None:
    link = await proxy.add_link("pg", ("127.0.0.1", echo.port))

    with pytest.raises(ValueError, match=r"^latency ms must be a finite number >= 0, got -1$"):
        link.latency(-1)
    with pytest.raises(ValueError, match=r"^latency ms must be a finite number >= 0, got nan$"):
        link.latency(math.nan)
    with pytest.raises(ValueError, match=r"^cut direction must be 'up' or 'down', got 'sideways'$"):
        link.cut("sideways")
    with pytest.raises(ValueError, match=r"^link 'pg' already exists$"):
        await proxy.add_link("pg", ("127.0.0.1", echo.port))
    with pytest.raises(KeyError):
        proxy.link("nope")
    assert link.mode == "pass"


async def test_close_breaks_connections_and_stops_listening(
    echo: Upstream, connect: Connect,
) -> None:
    proxy = FaultProxy()
    link = await proxy.add_link("pg", ("127.0.0.1", echo.port))
    reader, writer = await connect(link.listen_port)
    writer.write(b"up")
    assert await reader.readexactly(2) == b"up"

    await proxy.close()
    assert link.connections == 0
    with pytest.raises(ConnectionResetError):
        await reader.read(1)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", link.listen_port)


async def test_command_line_rejects_a_bad_link() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "drdrill.sim.proxy", "--link", "pg=5432", "--control", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert (process.returncode, stdout) == (2, b"")
    assert stderr.decode().endswith(
        "error: argument --link: --link must be NAME=LISTEN_PORT:HOST:PORT, got 'pg=5432'\n"
    )


async def test_control_port_drives_a_proxy_in_another_process(
    echo: Upstream, connect: Connect,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "drdrill.sim.proxy",
        "--link", f"echo=0:127.0.0.1:{echo.port}", "--control", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(await process.stdout.readline())
        assert sorted(ready) == ["control_port", "links", "ready"]
        control_r, control_w = await connect(ready["control_port"])

        async def command(line: bytes) -> dict[str, object]:
            control_w.write(line + b"\n")
            reply: dict[str, object] = json.loads(await control_r.readline())
            return reply

        client_r, client_w = await connect(ready["links"]["echo"])
        client_w.write(b"a")
        assert await client_r.readexactly(1) == b"a"

        before = time.monotonic_ns()
        reply = await command(b'{"link": "echo", "mode": "blackhole"}')
        after = time.monotonic_ns()
        assert reply == {
            "ok": True, "t_ns": reply["t_ns"], "link": "echo", "mode": "blackhole",
            "connections": 1, "bytes_up": 1, "bytes_down": 1,
        }
        assert isinstance(reply["t_ns"], int) and before <= reply["t_ns"] <= after
        client_w.write(b"b")
        await assert_quiet(client_r)

        reply = await command(b'{"link": "echo", "mode": "latency", "ms": 50}')
        assert (reply["ok"], reply["mode"]) == (True, "latency")
        assert await client_r.readexactly(1) == b"b"
        reply = await command(b'{"link": "echo", "mode": "pass"}')
        assert (reply["mode"], reply["bytes_up"], reply["bytes_down"]) == ("pass", 2, 2)

        assert await command(b'{"link": "nope", "mode": "pass"}') == {
            "ok": False, "error": "no link named 'nope'; links: echo",
        }
        assert await command(b'{"link": "echo", "mode": "sideways"}') == {
            "ok": False,
            "error": "unknown mode 'sideways'; modes: pass, blackhole, reset, cut_up, cut_down, "
                     "latency",
        }
        assert await command(b'{"link": "echo", "mode": "latency"}') == {
            "ok": False, "error": "mode latency needs a number 'ms', got None",
        }
        assert await command(b"not json") == {
            "ok": False, "error": "Expecting value: line 1 column 1 (char 0)",
        }
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
