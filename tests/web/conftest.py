"""Real servers for the DNS, HTTP and Route53 tests: moto's Route53 in its own process (the
simulator's), and a fresh hosted zone per test."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from web_helpers import make_workdir

from drdrill import aws
from drdrill.sim.procs import live_processes
from drdrill.sim.web_servers import dummy_aws_credentials, start_moto


@pytest.fixture(scope="session")
def credentials() -> Iterator[None]:
    with dummy_aws_credentials():
        yield


@pytest_asyncio.fixture(scope="module")
async def aws_api(credentials: None) -> AsyncIterator[str]:
    """moto's server for the module; yields its endpoint URL."""
    workdir = make_workdir()
    process, url = await start_moto(workdir)
    yield url
    await process.stop()
    assert [p.name for p in live_processes() if p.name == "aws.moto"] == []
    shutil.rmtree(workdir)


@pytest.fixture
def route53(aws_api: str) -> Any:
    return aws.client("route53", region="us-east-1", endpoint_url=aws_api, timeout_s=10)


@pytest.fixture
def zone(route53: Any) -> str:
    """A fresh hosted zone `example.test.` of its own; returns its id."""
    created = route53.create_hosted_zone(Name="example.test.", CallerReference=uuid.uuid4().hex)
    return str(created["HostedZone"]["Id"]).rsplit("/", 1)[-1]
