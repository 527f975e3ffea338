"""The processes behind the simulator's Route53 and web tier: the local AWS API and the apps.

The AWS API is moto's server mode (`python -m moto.server`), a process of its own so that its
request handling never competes with the probes for the harness's interpreter. moto accepts any
credentials; `dummy_aws_credentials` sets placeholder ones for the harness's boto3 clients, so
that no real key is ever sent, even to a local server.

Both run as the harness's own user: they are Python programs, and the interpreter of a virtual
environment made by root is usually not readable by the unprivileged user PostgreSQL runs as.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from drdrill.sim.procs import ManagedProcess, ProcessStartError, free_port

logger = logging.getLogger(__name__)

_READY_TIMEOUT_S = 30.0
_POLL_S = 0.05
_PLACEHOLDERS = {"AWS_ACCESS_KEY_ID": "drdrill-sim", "AWS_SECRET_ACCESS_KEY": "drdrill-sim"}
# Variables that would make boto3 pick other credentials (or fail on a missing profile).
_CLEARED = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@contextlib.contextmanager
def dummy_aws_credentials() -> Iterator[None]:
    """Placeholder AWS credentials in this process's environment; restored on exit."""
    saved = {name: os.environ.get(name) for name in (*_PLACEHOLDERS, *_CLEARED)}
    os.environ.update(_PLACEHOLDERS)
    for name in _CLEARED:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def shared_free_port(hosts: tuple[str, ...], attempts: int = 20) -> int:
    """A TCP port free on every one of `hosts` a moment ago (the apps share one port)."""
    for _ in range(attempts):
        port = free_port()
        if all(_can_bind(host, port) for host in hosts):
            return port
    raise ProcessStartError(f"no TCP port free on all of {hosts} after {attempts} tries")


def _can_bind(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


async def wait_answering(process: ManagedProcess, url: str) -> None:
    """Wait until `url` answers any HTTP status; raises ProcessStartError if the process dies
    or nothing answers within the ready timeout."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while True:
            if not process.is_running:
                raise ProcessStartError(
                    f"{process.name} exited with code {process.returncode}:\n"
                    f"{process.log_tail()}")
            try:
                async with session.get(url) as response:
                    await response.read()
                    return
            except (aiohttp.ClientError, OSError):
                pass
            if time.monotonic() >= deadline:
                raise ProcessStartError(f"{process.name} not answering at {url} after"
                                        f" {_READY_TIMEOUT_S} s:\n{process.log_tail()}")
            await asyncio.sleep(_POLL_S)


async def start_moto(log_dir: Path) -> tuple[ManagedProcess, str]:
    """moto's server on a free loopback port; returns the process and its endpoint URL."""
    port = free_port()
    process = ManagedProcess.start(
        "aws.moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        log_dir=log_dir)
    url = f"http://127.0.0.1:{port}"
    await wait_answering(process, f"{url}/moto-api/")
    logger.info("local aws api ready url=%s pid=%d", url, process.pid)
    return process, url


async def start_webapp(region: str, host: str, port: int, dsn: str,
                       log_dir: Path) -> ManagedProcess:
    """One region's web app (drdrill.sim.webapp) on `host:port`, answering once it returns."""
    process = ManagedProcess.start(
        f"{region}.webapp",
        [sys.executable, "-m", "drdrill.sim.webapp", "--region", region, "--host", host,
         "--port", str(port), "--dsn", dsn],
        log_dir=log_dir)
    await wait_answering(process, f"http://{host}:{port}/health")
    logger.info("webapp ready region=%s listen=%s:%d pid=%d", region, host, port, process.pid)
    return process
