"""One nats-py connection as drdrill uses it, and the heartbeat's shape on the wire.

Why the client never reconnects on its own: nats-py keeps a request waiting while it
reconnects, and buffers what is published meanwhile to send it once connected again. A
heartbeat published just before an outage could then be acknowledged after it, and its op
would read as a write that went through the outage in one piece. So a session is opened with
reconnection off, the loss of its connection ends the op in flight at once (its outcome is
unknown), and the probe opens a fresh session for its next op.

A heartbeat is one message on `<prefix>.<run_id>.<probe>` (the prefix is the target's
`subject`, or its stream's name), with `Nats-Msg-Id: <run_id>:<probe>:<seq>` so that the
server's dedupe window drops a retried publish, and a JSON payload
`{"run_id", "probe", "seq", "sent_at_ns"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import nats
import nats.errors
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext

from drdrill.probes.base import ErrorKind, OpResult

if TYPE_CHECKING:
    from drdrill.drills.schema import NatsTarget

logger = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
CLOSE_TIMEOUT_S = 2.0

# Errors raised while connecting: nothing was published, so an op certainly did not land.
CONNECT_ERRORS = (OSError, TimeoutError, nats.errors.Error)

T = TypeVar("T")


class ConnectionLost(Exception):
    """The session's connection closed while a request was waiting for its answer."""


def subject_prefix(target: NatsTarget) -> str:
    """The prefix of the heartbeats' subjects at `target`."""
    return target.subject or target.stream


def heartbeat_subject(target: NatsTarget, run_id: str, probe: str) -> str:
    """The subject every heartbeat of one probe in one run is published on."""
    return f"{subject_prefix(target)}.{run_id}.{probe}"


def msg_id(run_id: str, probe: str, seq: int) -> str:
    """The `Nats-Msg-Id` of one heartbeat."""
    return f"{run_id}:{probe}:{seq}"


def heartbeat_payload(run_id: str, probe: str, seq: int, sent_at_ns: int) -> bytes:
    """The JSON payload of one heartbeat."""
    return orjson.dumps({"run_id": run_id, "probe": probe, "seq": seq, "sent_at_ns": sent_at_ns})


def heartbeat_seq(payload: bytes | None) -> int | None:
    """The `seq` a heartbeat payload carries, or None when the payload is not a heartbeat."""
    try:
        seq = orjson.loads(payload or b"")["seq"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return seq if isinstance(seq, int) else None


@dataclass
class NatsSession:
    """A connection with reconnection off, its JetStream context, and an event set when the
    connection is lost."""

    nc: Client
    js: JetStreamContext
    lost: asyncio.Event

    @classmethod
    async def open(cls, target: NatsTarget, name: str, api_timeout_s: float) -> NatsSession:
        """Connect to `target.url`; JetStream API calls time out after `api_timeout_s`.

        Raises the cause of the failure (ConnectionRefusedError, TimeoutError, a nats-py
        error), never nats-py's NoServersError, which hides it.
        """
        lost = asyncio.Event()
        causes: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            causes.append(exc)
            logger.debug("nats client error name=%s error=%r", name, exc)

        async def on_lost() -> None:
            lost.set()

        try:
            nc = await nats.connect(
                target.url,
                name=name,
                allow_reconnect=False,
                # nats-py tries a server max_reconnect_attempts + 1 times even when it may not
                # reconnect, and 0 would mean forever: 1 gives two attempts, back to back.
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
                connect_timeout=target.connect_timeout_ms / 1000,
                error_cb=on_error,
                disconnected_cb=on_lost,
                closed_cb=on_lost,
            )
        except nats.errors.NoServersError as exc:
            raise (causes[-1] if causes else exc) from None
        js = nc.jetstream(domain=target.domain, timeout=api_timeout_s)
        return cls(nc, js, lost)

    @property
    def server_version(self) -> str:
        """The version the server announced, e.g. "2.12.1" or "2.13.0-RC.1"."""
        version = self.nc.connected_server_version
        try:
            core = f"{version.major}.{version.minor}.{version.patch}"
        except ValueError:  # not a semantic version: nats-py cannot parse it
            return "unknown"
        return f"{core}-{version.prerelease}" if version.prerelease else core

    async def until_lost(self, request: Awaitable[T]) -> T:
        """Await `request`, or raise ConnectionLost as soon as the connection is lost.

        nats-py leaves a request waiting for its full timeout after the connection closed;
        stopping at the loss tells an unknown outcome from a slow server.
        """
        task = asyncio.ensure_future(request)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
        if task not in done:
            raise ConnectionLost("connection closed while waiting for the answer")
        return task.result()

    async def close(self) -> None:
        """Close the connection; never raises, never waits more than a moment."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.nc.close(), CLOSE_TIMEOUT_S)


def translate_connect_error(exc: BaseException) -> OpResult:
    """Map a failure to connect to an outcome: always `fail`, since nothing was sent."""
    if isinstance(exc, ConnectionRefusedError):
        return OpResult.fail(ErrorKind.REFUSED, str(exc))
    if isinstance(exc, TimeoutError):
        return OpResult.fail(ErrorKind.TIMEOUT, "connect timed out")
    return OpResult.fail(ErrorKind.ERROR, repr(exc))


def describe(exc: BaseException) -> str:
    """An exception as one line for an error message (nats-py's str() of some is empty)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
