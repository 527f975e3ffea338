"""Waiting for INSYNC through GetChange against a local stand-in: moto reports every change
INSYNC at once, so the polling (and its tolerance of throttling) is shown against a server that
answers PENDING first, over the real Route53 wire protocol."""

from __future__ import annotations

import time

import pytest
from aws_standins import ChangeStandIn, change_app, serving

from drdrill import aws
from drdrill.drills.steps_route53 import wait_insync
from drdrill.errors import StepError

pytestmark = pytest.mark.timeout(30)


async def test_polls_until_insync_and_rides_over_throttling(credentials: None) -> None:
    standin = ChangeStandIn(["PENDING", "THROTTLE", "PENDING", "INSYNC"])
    async with serving(change_app(standin)) as url:
        client = aws.client("route53", region="us-east-1", endpoint_url=url, timeout_s=5)
        started = time.monotonic()
        await wait_insync(client, "/change/C1", "PENDING", poll_s=0.1)
        elapsed = time.monotonic() - started

    assert standin.calls == 4
    assert 0.4 <= elapsed < 1.4  # four polls, 0.1 s apart


async def test_no_poll_when_the_submission_already_says_insync(credentials: None) -> None:
    standin = ChangeStandIn([])
    async with serving(change_app(standin)) as url:
        client = aws.client("route53", region="us-east-1", endpoint_url=url, timeout_s=5)
        await wait_insync(client, "/change/C1", "INSYNC", poll_s=0.1)

    assert standin.calls == 0


async def test_an_unknown_change_stops_the_wait(credentials: None) -> None:
    standin = ChangeStandIn(["PENDING", "NOSUCH"])
    async with serving(change_app(standin)) as url:
        client = aws.client("route53", region="us-east-1", endpoint_url=url, timeout_s=5)
        with pytest.raises(StepError) as caught:
            await wait_insync(client, "/change/C1", "PENDING", poll_s=0.05)

    assert standin.calls == 2  # not asked again: the error is about the request itself
    assert str(caught.value) == (
        "GetChange /change/C1 failed: NoSuchChange: A change with the specified change ID does"
        " not exist.")
