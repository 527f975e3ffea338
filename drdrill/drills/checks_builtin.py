"""Preflight checks for the kinds whose modules do not register their own: process faults,
`postgres.promote`, the NATS steps (through the version check `steps_nats` exposes), `sleep`.

Each check only reads: a query, a stream's info, signal 0 to a pid.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import asyncpg
import nats.errors

from drdrill.drills.checks import CheckResult, register_preflight_check
from drdrill.drills.faults import resolve_pid
from drdrill.drills.schema import DrillFile
from drdrill.drills.steps_nats import check_version
from drdrill.errors import FaultError, StepError
from drdrill.probes.nats_client import CONNECT_ERRORS, NatsSession, describe

logger = logging.getLogger(__name__)

_PG_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
_NATS_API_TIMEOUT_S = 5.0

# has_function_privilege is true for a superuser too, so it alone answers "may promote".
_PROMOTE_QUERY = """
SELECT pg_is_in_recovery() AS standby,
       current_user AS role,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
       has_function_privilege('pg_catalog.pg_promote(boolean, integer)', 'EXECUTE') AS allowed
"""


@register_preflight_check("process.kill", "process.pause")
async def check_process(spec: Any, drill: DrillFile) -> CheckResult:
    """The pid can be read and signalled (signal 0 delivers nothing)."""
    try:
        pid = resolve_pid(spec)
        os.kill(pid, 0)
    except FaultError as exc:
        return CheckResult.failed(str(exc))
    except ProcessLookupError:
        return CheckResult.failed(f"{spec.label}: no process {pid}")
    except PermissionError:
        return CheckResult.failed(f"{spec.label}: not allowed to signal pid {pid}")
    return CheckResult.ok(f"{spec.label} is pid {pid} and may be signalled")


@register_preflight_check("postgres.promote")
async def check_postgres_promote(spec: Any, drill: DrillFile) -> CheckResult:
    """The target is a standby in recovery and our role may call pg_promote."""
    target = drill.target(spec.target)
    try:
        conn = await asyncpg.connect(target.dsn, timeout=target.connect_timeout_ms / 1000)
    except _PG_ERRORS as exc:
        return CheckResult.failed(f"cannot connect to {spec.target}: {exc}")
    try:
        row = await conn.fetchrow(_PROMOTE_QUERY)
    except _PG_ERRORS as exc:
        return CheckResult.failed(f"{spec.target}: query failed: {exc}")
    finally:
        await conn.close()

    if not row["standby"]:
        return CheckResult.failed(
            f"{spec.target} is not in recovery (pg_is_in_recovery() is false): not a standby"
        )
    if not row["allowed"]:
        return CheckResult.failed(
            f"{spec.target}: role {row['role']} may not call pg_promote (not a superuser and"
            f" no EXECUTE on pg_promote); GRANT EXECUTE ON FUNCTION pg_promote TO {row['role']}"
        )
    why = "superuser" if row["superuser"] else "EXECUTE on pg_promote"
    return CheckResult.ok(f"{spec.target} is in recovery; role {row['role']} may promote ({why})")


@register_preflight_check("nats.promote_mirror", "nats.switch")
async def check_nats(spec: Any, drill: DrillFile) -> CheckResult:
    """The server answers with a version that can promote a mirror, and the stream exists."""
    target = drill.target(spec.target)
    try:
        session = await NatsSession.open(target, "drdrill-preflight", _NATS_API_TIMEOUT_S)
    except CONNECT_ERRORS as exc:
        return CheckResult.failed(f"cannot connect to {spec.target}: {describe(exc)}")

    try:
        found = session.nc.connected_server_version
        version = f"{found.major}.{found.minor}.{found.patch}"
        if spec.kind == "nats.promote_mirror":
            check_version(spec.target, version)
        await session.js.stream_info(target.stream)
    except StepError as exc:
        return CheckResult.failed(str(exc))
    except (nats.errors.Error, OSError) as exc:
        return CheckResult.failed(f"{spec.target}: stream {target.stream}: {describe(exc)}")
    finally:
        await session.close()
    return CheckResult.ok(f"{spec.target}: nats-server {version}, stream {target.stream} exists")


@register_preflight_check("sleep")
async def check_sleep(spec: Any, drill: DrillFile) -> CheckResult:
    """Nothing to reach."""
    return CheckResult.ok(f"waits {spec.seconds:g} s")
