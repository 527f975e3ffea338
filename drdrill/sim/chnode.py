"""One ClickHouse server of the simulator: a real `clickhouse server`, or the chdb endpoint.

Which one runs is decided once per simulation by `find_backend`:

1. `CLICKHOUSE_BIN`, when set, names the `clickhouse` binary (no fallback, so a typo is seen);
2. else a `clickhouse` binary on PATH;
3. else `python -m drdrill.sim.chdb_server`, the chdb-backed HTTP endpoint. No modern
   ClickHouse server installs from the package registries this project may use, so this is
   the default.

Either way the node is one process tree per region, listening on 127.0.0.1 only, killed by a
fault like any machine. A real server runs as the unprivileged user when we are root; the chdb
endpoint runs as we do, because it needs this Python, which an unprivileged user may not be
able to reach (a pyenv under /root, mode 0700, is common).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from drdrill.sim.procs import ManagedProcess, free_port, server_user

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.05

# A real server's whole configuration: HTTP on loopback, data under the node's directory,
# the `default` user without a password (loopback only), nothing else listening. No machine
# this project runs on has the binary (none installs from its package registries), so this
# configuration has not been run here; the chdb endpoint is what the tests exercise.
_SERVER_CONFIG = """<clickhouse>
    <logger><level>information</level><log>{dir}/server.log</log>
        <errorlog>{dir}/server.err.log</errorlog><console>false</console></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{port}</http_port>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/data/tmp/</tmp_path>
    <user_files_path>{dir}/data/user_files/</user_files_path>
    <mark_cache_size>67108864</mark_cache_size>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <profiles><default></default></profiles>
    <quotas><default></default></quotas>
</clickhouse>
"""


class ChNodeError(RuntimeError):
    """A simulator ClickHouse server could not be found, started or reached."""


@dataclass(frozen=True)
class Backend:
    """What runs a node: `kind` is "chdb" or "clickhouse-server"; `binary` the server binary
    (None for chdb, which runs with this Python)."""

    kind: str
    binary: Path | None = None

    def describe(self) -> dict[str, str]:
        """Facts for the journal: which backend, and the versions a reader needs."""
        if self.binary is not None:
            return {"backend": "clickhouse-server", "binary": str(self.binary)}
        return {
            "backend": "chdb",
            "chdb": importlib.metadata.version("chdb"),
            "chdb_core": importlib.metadata.version("chdb-core"),
            "endpoint": "drdrill.sim.chdb_server (ClickHouse HTTP interface over chdb)",
        }


def find_backend() -> Backend:
    """The backend this machine offers (see the module's docstring for the order)."""
    override = os.environ.get("CLICKHOUSE_BIN")
    if override:
        path = Path(override)
        if not os.access(path, os.X_OK):
            raise ChNodeError(f"CLICKHOUSE_BIN={override} is not an executable file")
        return Backend("clickhouse-server", path)

    found = shutil.which("clickhouse")
    if found:
        return Backend("clickhouse-server", Path(found))
    return Backend("chdb")


class ChNode:
    """One region's ClickHouse server: its directory, port and process."""

    def __init__(self, name: str, node_dir: Path, backend: Backend, log_dir: Path) -> None:
        self.name = name
        self.node_dir = node_dir
        self.backend = backend
        self.log_dir = log_dir
        self.port = free_port()
        self.process: ManagedProcess | None = None

    @property
    def process_name(self) -> str:
        """The name faults and logs use, e.g. "primary.clickhouse"."""
        return f"{self.name}.clickhouse"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise ChNodeError(f"{self.process_name} was never started")
        return self.process.pid

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running

    async def start(self, ready_timeout: float = 60.0) -> None:
        """Start the server on `self.port` and return once it answers `/ping`."""
        if self.is_running:
            raise ChNodeError(f"{self.process_name} is already running")

        unprivileged = self.backend.binary is not None
        _server_dir(self.node_dir, server_user() if unprivileged else None)
        self.process = ManagedProcess.start(
            self.process_name,
            self._argv(),
            log_dir=self.log_dir,
            cwd=self.node_dir,
            run_as_unprivileged=unprivileged,
        )
        logger.info("clickhouse start name=%s pid=%d port=%d backend=%s",
                    self.process_name, self.process.pid, self.port, self.backend.kind)
        await self._wait_ready(ready_timeout)

    async def restart_alone(self, ready_timeout: float = 60.0) -> None:
        """Start a killed or stopped node again on its own data, on a new free port, so that
        what it holds can be read while clients of the old port stay away from it."""
        if self.is_running:
            raise ChNodeError(f"{self.process_name} is still running")

        self.port = free_port()
        logger.info("restart alone started name=%s port=%d", self.process_name, self.port)
        await self.start(ready_timeout)
        logger.info("restart alone complete name=%s port=%d", self.process_name, self.port)

    def kill(self) -> None:
        """SIGKILL the server's process tree, as if its machine died."""
        if self.process is not None:
            self.process.kill()

    def pause(self) -> None:
        """SIGSTOP the server: its socket stays open, nothing answers."""
        if self.process is not None:
            self.process.pause()

    def resume(self) -> None:
        if self.process is not None:
            self.process.resume()

    async def stop(self, stop_timeout: float = 20.0) -> None:
        """Graceful stop (SIGKILL after `stop_timeout` s); does nothing if not running."""
        if self.process is not None and self.process.is_running:
            code = await self.process.stop(stop_timeout)
            logger.info("clickhouse stopped name=%s code=%d", self.process_name, code)

    def _argv(self) -> list[str]:
        if self.backend.binary is None:
            return [sys.executable, "-m", "drdrill.sim.chdb_server", "--port", str(self.port),
                    "--path", str(self.node_dir / "data")]

        config = self.node_dir / "config.xml"
        config.write_text(_SERVER_CONFIG.format(dir=self.node_dir, port=self.port))
        return [str(self.backend.binary), "server", f"--config-file={config}"]

    async def _wait_ready(self, ready_timeout: float) -> None:
        deadline = time.monotonic() + ready_timeout
        async with aiohttp.ClientSession() as session:
            while not await _answers(session, f"{self.url}/ping"):
                process = self.process
                if process is None or not process.is_running:
                    tail = process.log_tail() if process else ""
                    raise ChNodeError(
                        f"{self.process_name} exited while starting; log tail:\n{tail}"
                    )
                if time.monotonic() >= deadline:
                    raise ChNodeError(f"{self.process_name} not answering after {ready_timeout}s")
                await asyncio.sleep(_POLL_SECONDS)
        logger.info("clickhouse ready name=%s port=%d", self.process_name, self.port)


async def _answers(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


def _server_dir(path: Path, owner: tuple[int, int] | None) -> None:
    """Create `path` and its `data/` (mode 0700), owned by `owner` when given."""
    for directory in (path, path / "data"):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if owner is not None:
            os.chown(directory, *owner)
