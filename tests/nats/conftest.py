"""Real nats-server pairs for the NATS tests: an origin and a mirror server linked by a leafnode."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from drdrill.sim.natsnode import NatsPair
from drdrill.sim.procs import live_processes

_names = itertools.count()


def make_workdir() -> Path:
    # Not pytest's tmp_path: its parent is mode 0700, which the unprivileged server user
    # could not traverse.
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-nats-"))
    workdir.chmod(0o711)
    return workdir


def stream_name() -> str:
    """A stream name no other test of the session uses."""
    return f"S{next(_names)}"


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = make_workdir()
    yield path
    shutil.rmtree(path)


@pytest_asyncio.fixture(scope="module")
async def pair() -> AsyncIterator[NatsPair]:
    """One healthy pair shared by the tests of a module that leave it healthy; each test
    makes its own streams."""
    path = make_workdir()
    built = await NatsPair.create(path)
    yield built
    await built.stop()
    assert [p.name for p in live_processes() if p.name.endswith(".nats")] == []
    shutil.rmtree(path)
