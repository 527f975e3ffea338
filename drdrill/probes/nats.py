"""NATS JetStream probes (nats-py): heartbeats published to a stream, the position of its mirror.

A write op is `ok` only when the stream's PubAck arrived (its stream sequence is journaled as
the op's value). The connection is dropped after any failure and reopened for the next op
(see `drdrill.probes.nats_client` for why nats-py's own reconnection is off): after a timeout
or a lost connection the client's state is unknown, and after a failover the old connection
points at a dead server.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import nats.errors
import nats.js.errors
import numpy as np
from nats.js.api import DeliverPolicy

from drdrill.errors import TargetError
from drdrill.probes.base import ErrorKind, FinalRead, OpResult, Probe, WriteProbe
from drdrill.probes.nats_client import (
    CONNECT_ERRORS,
    MSG_ID_HEADER,
    ConnectionLost,
    NatsSession,
    describe,
    heartbeat_payload,
    heartbeat_seq,
    heartbeat_subject,
    msg_id,
    translate_connect_error,
)

logger = logging.getLogger(__name__)

# Errors a request may end with once the session is open.
_REQUEST_ERRORS = (nats.errors.Error, ConnectionLost, OSError)

# How long the final read waits for the next message of the ordered consumer.
_READ_WAIT_S = 5.0


def translate_publish_error(exc: BaseException) -> OpResult:
    """Map an exception raised while a publish awaited its PubAck to an outcome.

    | exception | outcome | why |
    |---|---|---|
    | NoStreamResponseError | fail | no stream takes the subject here (a mirror not yet |
    | | | promoted): not stored |
    | APIError | fail | the stream answered with an error: not stored |
    | ConnectionClosedError, | fail | refused before anything reached the socket |
    | OutboundBufferLimitError | | |
    | TimeoutError | info | no ack in time: it may have been stored |
    | ConnectionLost, UnexpectedEOF, OSError | info | lost after sending: it may be stored |
    | any other nats-py error | info | unknown |

    A read (the mirror probe's) maps the same way; the probe then makes every outcome a fail.
    """
    if isinstance(exc, nats.js.errors.NoStreamResponseError):
        return OpResult.fail(ErrorKind.REJECTED, "no stream takes this subject here")
    if isinstance(exc, nats.js.errors.APIError):
        return OpResult.fail(ErrorKind.REJECTED, describe(exc))
    if isinstance(exc, nats.errors.ConnectionClosedError | nats.errors.OutboundBufferLimitError):
        return OpResult.fail(ErrorKind.CONN_LOST, describe(exc))
    if isinstance(exc, TimeoutError):
        return OpResult.info(ErrorKind.TIMEOUT, "no PubAck in time")
    if isinstance(exc, ConnectionLost | nats.errors.UnexpectedEOF | OSError):
        return OpResult.info(ErrorKind.CONN_LOST, describe(exc))
    return OpResult.info(ErrorKind.ERROR, describe(exc))


async def read_heartbeat_seqs(session: NatsSession, stream: str, subject: str) -> list[int]:
    """Every heartbeat seq on `subject` in `stream`, in stream order, duplicates kept.

    Reads with an ordered consumer (ephemeral, flow-controlled, restarted by nats-py on a
    gap) until the server says nothing is pending.
    """
    info = await session.js.stream_info(stream, subjects_filter=subject)
    held = (info.state.subjects or {}).get(subject, 0)
    if held == 0:
        return []

    sub = await session.js.subscribe(
        subject, stream=stream, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    seqs: list[int] = []
    try:
        while True:
            msg = await session.until_lost(sub.next_msg(timeout=_READ_WAIT_S))
            seq = heartbeat_seq(msg.data)
            if seq is None:
                logger.warning("not a heartbeat stream=%s subject=%s", stream, subject)
            else:
                seqs.append(seq)
            if msg.metadata.num_pending == 0:
                return seqs
    finally:
        await sub.unsubscribe()


class _NatsProbe(Probe):
    """Keeps one session to the route's current target, dropped after any failure."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session: NatsSession | None = None
        self._session_version = -1

    @property
    def _api_timeout_s(self) -> float:
        return float(self.spec.timeout_ms) / 1000

    async def _current_session(self) -> NatsSession:
        """The live session to the current target, (re)connecting when needed."""
        if self._session is not None and (
            self._session.lost.is_set() or self._session_version != self.route.version
        ):
            await self._drop()

        if self._session is None:
            self._session = await NatsSession.open(
                self.route.target, f"drdrill-{self.name}", self._api_timeout_s
            )
            self._session_version = self.route.version
        return self._session

    async def _drop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def on_timeout(self) -> None:
        await self._drop()

    async def close(self) -> None:
        await self._drop()


class NatsWriteProbe(_NatsProbe, WriteProbe):
    """Publishes one heartbeat per op; `ok` only when the stream acknowledged it."""

    kind = "nats.write"
    store_kind = "nats"
    replication = "mirror"

    async def open(self) -> None:
        """Check that the target's stream exists; a missing stream stops the drill here."""
        session = await self._current_session()
        await session.js.stream_info(self.route.target.stream)
        logger.info("stream found probe=%s target=%s", self.name, self.route.name)

    async def op(self, seq: int) -> OpResult:
        try:
            session = await self._current_session()
        except CONNECT_ERRORS as exc:
            await self._drop()
            return translate_connect_error(exc)

        subject = heartbeat_subject(self.route.target, self.run_id, self.name)
        payload = heartbeat_payload(self.run_id, self.name, seq, time.monotonic_ns())
        headers = {MSG_ID_HEADER: msg_id(self.run_id, self.name, seq)}
        try:
            ack = await session.until_lost(
                session.js.publish(subject, payload, timeout=self._api_timeout_s, headers=headers)
            )
        except _REQUEST_ERRORS as exc:
            await self._drop()
            return translate_publish_error(exc)
        return OpResult.ok(ack.seq)

    async def final_read(self) -> FinalRead:
        """Every heartbeat seq of this run and probe in the current target's stream."""
        target = self.route.target
        try:
            session = await NatsSession.open(target, f"drdrill-{self.name}-read", _READ_WAIT_S)
        except CONNECT_ERRORS as exc:
            raise TargetError(
                f"cannot connect to {self.route.name} for the final read: {describe(exc)}"
            ) from exc

        subject = heartbeat_subject(target, self.run_id, self.name)
        try:
            seqs = await read_heartbeat_seqs(session, target.stream, subject)
        except _REQUEST_ERRORS as exc:
            raise TargetError(
                f"final read of {subject} in stream {target.stream} at {self.route.name}"
                f" failed: {describe(exc)}"
            ) from exc
        finally:
            await session.close()
        return FinalRead(np.sort(np.array(seqs, dtype=np.int64)), self.route.name)


class NatsMirrorProbe(_NatsProbe):
    """Samples the highest heartbeat seq of the watched write probe that a mirror holds."""

    kind = "nats.mirror"

    async def op(self, seq: int) -> OpResult:
        try:
            session = await self._current_session()
        except CONNECT_ERRORS as exc:
            await self._drop()
            return translate_connect_error(exc)

        target = self.route.target
        watches: str = self.spec.watches  # type: ignore[union-attr]
        subject = heartbeat_subject(target, self.run_id, watches)
        try:
            last = await session.until_lost(session.js.get_last_msg(target.stream, subject))
        except nats.js.errors.NotFoundError:
            return OpResult.ok(None)  # nothing of the watched probe has reached the mirror yet
        except _REQUEST_ERRORS as exc:
            await self._drop()
            result = translate_publish_error(exc)
            return OpResult.fail(result.error or ErrorKind.ERROR, result.detail)
        return OpResult.ok(heartbeat_seq(last.data))
