"""The PostgreSQL binaries the simulator runs, and its one-shot tools (initdb, pg_basebackup).

They come from the `pgserver` package (PostgreSQL 16, a dependency of drdrill[sim]) unless
`DRDRILL_PG_BIN` names another bin directory.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from drdrill.sim.procs import ManagedProcess, server_user

logger = logging.getLogger(__name__)

_TOOLS = ("postgres", "initdb", "pg_basebackup")
_TOOL_TIMEOUT = 120.0


class PgClusterError(RuntimeError):
    """The simulator's PostgreSQL servers could not be set up, started or stopped."""


class PgBinariesNotFound(PgClusterError):
    """No PostgreSQL binaries were found where we looked."""


def find_pg_bin() -> Path:
    """Return the bin directory holding postgres, initdb and pg_basebackup.

    `DRDRILL_PG_BIN` wins when set (without falling back elsewhere, so a typo is noticed);
    otherwise the `pgserver` package's `pginstall/bin`. Raises PgBinariesNotFound naming what
    was looked for and where.
    """
    override = os.environ.get("DRDRILL_PG_BIN")
    if override:
        return _checked_bin(Path(override), f"DRDRILL_PG_BIN={override}")

    # find_spec locates the package without importing it (its import has side effects).
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PgBinariesNotFound(
            f"no PostgreSQL binaries: looked for {', '.join(_TOOLS)} in the pgserver package, "
            f"which is not installed; install drdrill[sim] or set DRDRILL_PG_BIN to a "
            f"PostgreSQL 16 bin directory"
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    return _checked_bin(package_dir / "pginstall" / "bin", "the pgserver package")


def _checked_bin(bin_dir: Path, source: str) -> Path:
    missing = [tool for tool in _TOOLS if not os.access(bin_dir / tool, os.X_OK)]
    if missing:
        raise PgBinariesNotFound(
            f"no PostgreSQL binaries: looked for {', '.join(_TOOLS)} in {bin_dir} (from "
            f"{source}); missing or not executable: {', '.join(missing)}"
        )
    return bin_dir


async def check_runnable(bin_dir: Path, log_dir: Path) -> None:
    """Run `postgres --version` as the server user: it fails if the binaries or their
    libraries are not readable and executable by that user."""
    try:
        await run_tool("postgres-version", [str(bin_dir / "postgres"), "--version"], log_dir)
    except PgClusterError as exc:
        owner = server_user()
        who = f"uid {owner[0]}" if owner else "the current user"
        raise PgClusterError(f"{bin_dir / 'postgres'} cannot be run as {who}: {exc}") from exc


async def run_tool(name: str, argv: Sequence[str], log_dir: Path) -> None:
    """Run a one-shot PostgreSQL tool as the server user; raise PgClusterError on failure."""
    logger.info("tool started name=%s", name)
    process = ManagedProcess.start(
        name, argv, log_dir=log_dir, env=tool_env(), run_as_unprivileged=True
    )
    code = await process.wait_exited(_TOOL_TIMEOUT)
    if code != 0:
        logger.error("tool failed name=%s code=%d", name, code)
        raise PgClusterError(f"{name} exited with code {code}; log tail:\n{process.log_tail()}")
    logger.info("tool complete name=%s", name)


def tool_env() -> dict[str, str]:
    """Our environment without PG* variables: a PGHOST or PGPORT meant for something else
    must not steer the simulator's tools."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}
