"""One PostgreSQL server of the simulator: its data directory, port and process."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

import asyncpg

from drdrill.sim.pgbin import PgClusterError, tool_env
from drdrill.sim.procs import ManagedProcess

logger = logging.getLogger(__name__)

SUPERUSER = "drill"
DATABASE = "drill"
_POLL_SECONDS = 0.05


class PgNode:
    """One PostgreSQL server of the pair: its data directory, port and process."""

    def __init__(self, name: str, data_dir: Path, port: int, bin_dir: Path, log_dir: Path):
        self.name = name
        self.data_dir = data_dir
        self.port = port
        self.bin_dir = bin_dir
        self.log_dir = log_dir
        self.process: ManagedProcess | None = None

    @property
    def process_name(self) -> str:
        """The name faults use for this server, e.g. "primary.postgres"."""
        return f"{self.name}.postgres"

    @property
    def dsn(self) -> str:
        """The DSN of the `drill` database, e.g. postgresql://drill@127.0.0.1:5432/drill."""
        return self.dsn_of(DATABASE)

    def dsn_of(self, database: str) -> str:
        """The DSN of another database of this server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running

    async def start(self, ready_timeout: float = 30.0) -> None:
        """Start the server on `self.port` and wait until it accepts connections."""
        if self.is_running:
            raise PgClusterError(f"{self.process_name} is already running")

        self.process = ManagedProcess.start(
            self.process_name,
            [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)],
            log_dir=self.log_dir,
            env=tool_env(),
            run_as_unprivileged=True,
            # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients to leave.
            stop_signal=signal.SIGINT,
        )
        logger.info(
            "postgres start name=%s pid=%d port=%d data_dir=%s",
            self.process_name,
            self.process.pid,
            self.port,
            self.data_dir,
        )
        await self.wait_ready(ready_timeout)

    async def wait_ready(self, ready_timeout: float = 30.0) -> None:
        """Poll with asyncpg until the server answers a query; raise PgClusterError if it
        exits first and TimeoutError after `ready_timeout` seconds."""
        deadline = time.monotonic() + ready_timeout
        while True:
            process = self._running_process()
            if await self._answers():
                logger.info(
                    "postgres ready name=%s pid=%d port=%d",
                    self.process_name,
                    process.pid,
                    self.port,
                )
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.process_name} not ready after {ready_timeout}s")
            await asyncio.sleep(_POLL_SECONDS)

    def kill(self) -> None:
        """SIGKILL the server and all its workers, as if its machine died."""
        process = self._running_process()
        process.kill()
        logger.info(
            "postgres killed name=%s pid=%d port=%d", self.process_name, process.pid, self.port
        )

    def pause(self) -> None:
        """SIGSTOP the server and its workers: connections stay open, nothing answers."""
        self._running_process().pause()

    def resume(self) -> None:
        self._running_process().resume()

    async def stop(self, stop_timeout: float = 30.0) -> None:
        """Fast shutdown (SIGKILL after `stop_timeout` s); does nothing if not running."""
        if self.process is None or not self.process.is_running:
            return

        code = await self.process.stop(stop_timeout)
        logger.info(
            "postgres stopped name=%s pid=%d port=%d code=%d",
            self.process_name,
            self.process.pid,
            self.port,
            code,
        )

    def _running_process(self) -> ManagedProcess:
        if self.process is None:
            raise PgClusterError(f"{self.process_name} was never started")
        if not self.process.is_running:
            raise PgClusterError(
                f"{self.process_name} exited with code {self.process.returncode}; "
                f"log tail:\n{self.process.log_tail()}"
            )
        return self.process

    async def _answers(self) -> bool:
        """True if the server answers a query now. The `postgres` database always exists,
        even before the pair created `drill`."""
        try:
            conn = await asyncpg.connect(self.dsn_of("postgres"), timeout=1.0)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        try:
            await conn.fetchval("SELECT 1")
            return True
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        finally:
            await conn.close()
