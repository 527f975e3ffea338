"""One proxied TCP connection: the client's socket, the upstream socket, and the two directions
of bytes between them, each behind a gate that the link's fault mode opens and closes.

Why protocols and not streams: with `asyncio.Protocol` a chunk is forwarded inside the very
callback that read it, and a mode change is a plain method call on the same thread. So the
proxy can promise something exact about when a fault starts (see `Direction`), which a pair of
stream-copying tasks, each parked somewhere between its read and its write, could not.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections import deque
from typing import Protocol, cast

logger = logging.getLogger(__name__)

# How many bytes one direction may queue (waiting out a latency, or held by a closed gate)
# before it stops reading its source. The kernel's TCP windows then push back on the sender,
# as a slow or partitioned network would, and the proxy's memory stays bounded: at most this
# plus one read (256 KiB, asyncio's read size) per direction.
HOLD_LIMIT = 256 * 1024

# SO_LINGER on with a zero timeout: close() then sends RST instead of FIN.
_LINGER_ZERO = struct.pack("ii", 1, 0)


class LinkPolicy(Protocol):
    """What a pipe asks of its link: the gates, the delay, the upstream, and the accounting."""

    name: str
    upstream: tuple[str, int]

    @property
    def resets_new(self) -> bool:
        """Whether a newly accepted client must be reset at once."""
        ...

    def may_connect(self) -> bool:
        """Whether a new client may be connected upstream now."""
        ...

    def is_open(self, up: bool) -> bool:
        """Whether bytes may flow in that direction now."""
        ...

    def delay_s(self) -> float:
        """How long every chunk waits before it is forwarded, in seconds."""
        ...

    def count(self, up: bool, nbytes: int) -> None:
        """Account bytes forwarded in that direction."""
        ...

    def pipe_opened(self, pipe: Pipe) -> None:
        """A client was accepted."""
        ...

    def pipe_finished(self, pipe: Pipe) -> None:
        """Every socket of the pipe is closed."""
        ...


def abort_with_rst(transport: asyncio.Transport) -> None:
    """Close a socket at once with RST, discarding whatever it still had to send."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    transport.abort()


class Direction:
    """The bytes from one socket of a pipe to the other, in order, through the link's gate.

    Every chunk read from the source is queued, then forwarded by `pump` once the gate is open
    and the delay has passed. The guarantee a mode change gives: a chunk is either already
    handed to the sink's transport (its buffer, then the kernel: on the wire, as on a real
    network) or still in this queue, and a queued chunk is forwarded only while the gate is
    open at that moment. So once `Link.blackhole()` returns, no byte that the proxy had not
    already handed to the outgoing socket is forwarded until `heal()`, whether it was read
    before the call or after it.
    """

    def __init__(self, pipe: Pipe, up: bool) -> None:
        self._pipe = pipe
        self._loop = asyncio.get_running_loop()
        self.up = up
        self.source: asyncio.Transport | None = None
        self.sink: asyncio.Transport | None = None
        self._queue: deque[tuple[float, bytes | None]] = deque()  # (read at, chunk or FIN)
        self._queued_bytes = 0
        self._sink_full = False
        self._source_ended = False
        self.finished = False
        self._timer: asyncio.TimerHandle | None = None

    def take(self, data: bytes | None) -> None:
        """Queue a chunk read from the source (None for its FIN) and forward what may go."""
        if data is None:
            self._source_ended = True
        else:
            self._queued_bytes += len(data)

        self._queue.append((self._loop.time(), data))
        self.pump()

    def set_sink_full(self, full: bool) -> None:
        """Record the sink's flow control (its write buffer above or below the high mark)."""
        self._sink_full = full
        self.pump()

    def pump(self) -> None:
        """Forward every queued chunk that may go now, then steer reading from the source."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

        self._forward_due()
        self._steer_reading()

    def discard(self) -> None:
        """Drop every queued chunk and let go of both sockets (the pipe is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
        self._queued_bytes = 0
        self.source = None
        self.sink = None

    def _forward_due(self) -> None:
        policy = self._pipe.policy
        while self._queue and self.sink is not None and not self._sink_full:
            if not policy.is_open(self.up):
                return

            # A chunk waits out the delay in force now, counted from when it was read, so a
            # latency change also applies to chunks already waiting and order is kept.
            read_at, data = self._queue[0]
            due = read_at + policy.delay_s()
            if due > self._loop.time():
                self._timer = self._loop.call_at(due, self.pump)
                return

            self._queue.popleft()
            if data is None:
                self._pass_fin(self.sink)
                return

            self._queued_bytes -= len(data)
            self.sink.write(data)
            policy.count(self.up, len(data))

    def _pass_fin(self, sink: asyncio.Transport) -> None:
        # The source half-closed: half-close the sink too, so the peer sees the close at once
        # and a protocol that still answers after a FIN keeps working.
        self.finished = True
        try:
            sink.write_eof()
        except OSError as exc:
            logger.debug("fin not passed link=%s error=%r", self._pipe.policy.name, exc)
            self._pipe.reset()
            return
        self._pipe.direction_finished()

    def _steer_reading(self) -> None:
        # After its FIN a source must never be resumed: asyncio would read the FIN again.
        if self.source is None or self._source_ended:
            return

        wanted = (
            self.sink is not None
            and not self._sink_full
            and self._pipe.policy.is_open(self.up)
            and self._queued_bytes < HOLD_LIMIT
        )
        if wanted:
            self.source.resume_reading()
        else:
            self.source.pause_reading()


class Pipe:
    """One client connection and its upstream connection, joined by two directions.

    A pipe lives from the client's accept until all its sockets are closed; `finished`
    resolves then. One side closed or broken by the world closes or breaks the other.
    """

    def __init__(self, policy: LinkPolicy) -> None:
        self.policy = policy
        self._loop = asyncio.get_running_loop()
        self._up = Direction(self, up=True)
        self._down = Direction(self, up=False)
        self._client: asyncio.Transport | None = None
        self._server: asyncio.Transport | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._closing = False
        self._open_sockets = 0
        self.finished: asyncio.Future[None] = self._loop.create_future()

    def client_made(self, transport: asyncio.Transport) -> None:
        """A client was accepted: reset it, or hold it until its upstream is connected."""
        self._client = transport
        self._open_sockets += 1
        self.policy.pipe_opened(self)
        if self.policy.resets_new:
            self.reset()
            return

        transport.pause_reading()
        self._up.source = transport
        self._down.sink = transport
        self.connect_if_allowed()

    def connect_if_allowed(self) -> None:
        """Start the upstream connection, unless started already or the link forbids it now."""
        if self._connecting is None and not self._closing and self.policy.may_connect():
            task = self._loop.create_task(self._connect(self.policy.upstream))
            task.add_done_callback(lambda _: self._finish_if_done())
            self._connecting = task

    def server_made(self, transport: asyncio.Transport) -> None:
        """The upstream connection is up: start both directions."""
        self._open_sockets += 1
        if self._closing:
            abort_with_rst(transport)
            return

        self._server = transport
        self._up.sink = transport
        self._down.source = transport
        self.apply_mode()

    def apply_mode(self) -> None:
        """Re-read the link's mode: connect, hold, release or delay accordingly."""
        self.connect_if_allowed()
        self._up.pump()
        self._down.pump()

    def data_from(self, client: bool, data: bytes | None) -> None:
        """Bytes (or a FIN, as None) read from one side."""
        (self._up if client else self._down).take(data)

    def sink_full(self, client: bool, full: bool) -> None:
        """One side's write buffer crossed its high or low mark."""
        (self._down if client else self._up).set_sink_full(full)

    def direction_finished(self) -> None:
        """Close the pipe once both sides have sent their FIN and it was passed on."""
        if self._up.finished and self._down.finished:
            self.close()

    def side_lost(self, client: bool, exc: Exception | None) -> None:
        """One socket is closed: close the other (break it with RST if this one broke)."""
        self._open_sockets -= 1
        if client:
            self._client = None
        else:
            self._server = None

        if not self._closing:
            logger.debug(
                "connection side lost link=%s side=%s error=%r",
                self.policy.name, "client" if client else "upstream", exc,
            )
            if exc is None:
                self.close()
            else:
                self.reset()
        self._finish_if_done()

    def close(self) -> None:
        """Close both sockets with FIN after what their transports still have to send."""
        self._shut(graceful=True)

    def reset(self) -> None:
        """Break both sockets with RST at once, discarding every byte held or buffered."""
        self._shut(graceful=False)

    def _shut(self, graceful: bool) -> None:
        self._closing = True
        self._up.discard()
        self._down.discard()
        for transport in (self._client, self._server):
            if transport is None:
                continue
            if graceful:
                transport.close()
            else:
                abort_with_rst(transport)

        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        self._finish_if_done()

    def _finish_if_done(self) -> None:
        connecting = self._connecting is not None and not self._connecting.done()
        if self._closing and self._open_sockets == 0 and not connecting:
            if not self.finished.done():
                self.finished.set_result(None)
                self.policy.pipe_finished(self)

    async def _connect(self, upstream: tuple[str, int]) -> None:
        host, port = upstream
        try:
            await self._loop.create_connection(lambda: Side(self, client=False), host, port)
        except OSError as exc:
            # The client must fail fast, as it would against the real server: RST, not a hang.
            logger.warning(
                "upstream connect failed link=%s upstream=%s:%d error=%r",
                self.policy.name, host, port, exc,
            )
            self.reset()


class Side(asyncio.Protocol):
    """The protocol of one socket of a pipe: hands every event to the pipe."""

    def __init__(self, pipe: Pipe, client: bool) -> None:
        self._pipe = pipe
        self._client = client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream = cast(asyncio.Transport, transport)  # TCP sockets always get a full transport
        if self._client:
            self._pipe.client_made(stream)
        else:
            self._pipe.server_made(stream)

    def data_received(self, data: bytes) -> None:
        self._pipe.data_from(self._client, data)

    def eof_received(self) -> bool:
        self._pipe.data_from(self._client, None)
        return True  # keep the socket open for writing: the FIN is passed on in order

    def connection_lost(self, exc: Exception | None) -> None:
        self._pipe.side_lost(self._client, exc)

    def pause_writing(self) -> None:
        self._pipe.sink_full(self._client, True)

    def resume_writing(self) -> None:
        self._pipe.sink_full(self._client, False)
