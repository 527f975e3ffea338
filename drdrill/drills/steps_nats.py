"""NATS failover steps: promote a JetStream mirror to a writable stream, or only repoint clients.

A mirror is promoted by a stream update that removes its mirror configuration and gives it the
subjects its origin took; nats-server accepts that update from 2.12 on (older servers answer
"stream mirror configuration can not be updated"), so the step checks the version first and
says which version it needs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats.errors
import nats.js.errors
from nats.js.api import StreamInfo

from drdrill.drills.steps import StepContext, StepResult, register_step, switch_write_probes
from drdrill.errors import StepError
from drdrill.probes.nats_client import CONNECT_ERRORS, NatsSession, describe, subject_prefix

logger = logging.getLogger(__name__)

PROMOTE_MIN_VERSION = (2, 12, 0)
_API_TIMEOUT_S = 5.0
_RETRY_S = 0.05


def promote_subjects(spec: Any, target: Any) -> list[str]:
    """The subjects the promoted stream takes: the step's, or `<prefix>.>` of the target."""
    return list(spec.subjects) if spec.subjects else [f"{subject_prefix(target)}.>"]


def readiness_subject(subjects: list[str]) -> str:
    """A concrete subject inside the first of `subjects`, for the publish that proves the
    promoted stream takes writes (wildcards become literal drdrill tokens)."""
    tokens = subjects[0].split(".")
    concrete = ["drdrill" if t == "*" else "drdrill.promoted" if t == ">" else t for t in tokens]
    return ".".join(concrete)


def check_version(ref: str, version: str) -> None:
    """Raise StepError unless `version` (as the server announced it) can promote a mirror."""
    core = version.split("-")[0].split("+")[0]
    try:
        parts = tuple(int(p) for p in core.split("."))
    except ValueError:
        raise StepError(f"{ref}: cannot read the nats-server version {version!r}") from None

    if parts < PROMOTE_MIN_VERSION:
        needed = ".".join(str(p) for p in PROMOTE_MIN_VERSION)
        raise StepError(
            f"{ref}: nats-server {version} cannot promote a mirror; promoting needs"
            f" nats-server {needed} or later (a stream update that removes the mirror"
            f" configuration)"
        )


@register_step("nats.promote_mirror")
async def run_nats_promote_mirror(spec: Any, context: StepContext) -> StepResult:
    """Turn the target's mirror into a writable stream, wait until it takes a publish, then
    repoint the write probes to it.

    Refuses a stream that is not a mirror: promoting it would be a no-op hiding a wrong drill
    file.
    """
    target = context.drill.target(spec.target)
    session = await _connect(spec.target, target)
    version = session.server_version
    try:
        check_version(spec.target, version)
        info = await _mirror_info(spec.target, session, target.stream)
        subjects = promote_subjects(spec, target)
        await _drop_mirror(spec.target, session, info, subjects)
        attempts = await _await_writable(session, target.stream, readiness_subject(subjects))
    finally:
        await session.close()

    promotes = switch_write_probes(context, spec.switch_probes, "nats.write", spec.target)
    mirror = info.config.mirror
    return StepResult(
        promotes=promotes,
        detail={
            "server_version": version,
            "mirrored": mirror.name if mirror else None,
            "last_seq_at_promotion": info.state.last_seq,
            "mirror_lag": info.mirror.lag if info.mirror else None,
            "subjects": subjects,
            "publish_attempts": attempts,
        },
    )


@register_step("nats.switch")
async def run_nats_switch(spec: Any, context: StepContext) -> StepResult:
    """Repoint the write probes to the target and change nothing on any server.

    For setups whose stream is already writable there (a stream replicated across a
    super-cluster): no store was made writable by this step, so it promotes nothing; the
    switch is in `detail`.
    """
    switched = switch_write_probes(context, spec.switch_probes, "nats.write", spec.target)
    return StepResult(detail={"switched": switched})


async def _connect(ref: str, target: Any) -> NatsSession:
    try:
        return await NatsSession.open(target, "drdrill-step", _API_TIMEOUT_S)
    except CONNECT_ERRORS as exc:
        raise StepError(f"cannot connect to {ref}: {describe(exc)}") from exc


async def _mirror_info(ref: str, session: NatsSession, stream: str) -> StreamInfo:
    """The stream's info; raises StepError when it is missing or not a mirror."""
    try:
        info = await session.js.stream_info(stream)
    except (nats.errors.Error, OSError) as exc:
        raise StepError(f"{ref}: cannot read stream {stream}: {describe(exc)}") from exc

    if info.config.mirror is None:
        raise StepError(f"{ref}: stream {stream} is not a mirror (its config has no mirror)")
    return info


async def _drop_mirror(
    ref: str, session: NatsSession, info: StreamInfo, subjects: list[str]
) -> None:
    """Update the stream: no mirror, these subjects, every other setting kept."""
    config = info.config.evolve(mirror=None, subjects=subjects)
    try:
        await session.js.update_stream(config)
    except (nats.errors.Error, OSError) as exc:
        raise StepError(f"{ref}: promoting stream {config.name} failed: {describe(exc)}") from exc
    logger.info("mirror promoted target=%s stream=%s subjects=%s", ref, config.name, subjects)


async def _await_writable(session: NatsSession, stream: str, subject: str) -> int:
    """Publish to `subject` until the stream acknowledges; returns the number of attempts.

    The step's own timeout bounds the wait. The message lands in the promoted stream, on a
    subject no heartbeat uses.
    """
    attempts = 0
    while True:
        attempts += 1
        try:
            await session.js.publish(
                subject, b"drdrill: mirror promoted", timeout=1.0, stream=stream
            )
        except (nats.js.errors.NoStreamResponseError, nats.js.errors.APIError,
                nats.errors.TimeoutError) as exc:
            logger.debug("promoted stream not writable yet stream=%s error=%s", stream, exc)
            await asyncio.sleep(_RETRY_S)
            continue
        logger.info("promoted stream writable stream=%s attempts=%d", stream, attempts)
        return attempts
