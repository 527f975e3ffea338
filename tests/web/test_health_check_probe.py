"""The route53.health_check probe against moto's Route53, whose health checks always report
one checker healthy (moto runs no checkers), and against an endpoint that does not answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from drdrill.drills.schema import Route53HealthCheckProbe as HealthSpec
from drdrill.probes.base import ErrorKind, OpResult, Outcome
from drdrill.probes.catalog import build_probe
from drdrill.probes.route53 import judge_observations

pytestmark = pytest.mark.timeout(30)


def _probe(health_check_id: str, url: str) -> Any:
    spec = HealthSpec(name="hc", kind="route53.health_check", health_check_id=health_check_id,
                      timeout_ms=2000, aws={"region": "us-east-1", "endpoint_url": url})
    return build_probe(spec, None, "run")


def _observation(status: str) -> dict[str, Any]:
    return {"Region": "us-east-1", "IPAddress": "10.0.0.1", "StatusReport": {"Status": status}}


async def test_a_healthy_check_is_ok_with_the_count_of_healthy_checkers(
    route53: Any, aws_api: str
) -> None:
    created = route53.create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig={
        "Type": "HTTP", "IPAddress": "10.0.0.1", "Port": 80, "ResourcePath": "/health"})
    probe = _probe(created["HealthCheck"]["Id"], aws_api)
    await probe.open()

    assert await probe.op(0) == OpResult.ok(1)
    assert probe.route.name == created["HealthCheck"]["Id"]


async def test_an_unknown_check_is_rejected(aws_api: str) -> None:
    result = await _probe("00000000-0000-0000-0000-000000000000", aws_api).op(0)

    assert (result.outcome, result.error) == (Outcome.FAIL, ErrorKind.REJECTED)
    assert result.detail is not None and result.detail.startswith("NoSuchHealthCheck: ")


async def test_an_api_that_does_not_answer_is_refused(credentials: None) -> None:
    result = await _probe("any", "http://127.0.0.1:9").op(0)

    assert result == OpResult.fail(
        ErrorKind.REFUSED, 'Could not connect to the endpoint URL:'
        ' "http://127.0.0.1:9/2013-04-01/healthcheck/any/status"')


def test_healthy_means_more_than_18_percent_of_the_checkers() -> None:
    # 1 of 6 is 16.7%: Route53 calls that unhealthy; 2 of 6 (33%) healthy.
    one = [_observation("Success: HTTP Status Code 200")] + [_observation("Failure: timeout")] * 5
    two = [_observation("Success: HTTP Status Code 200")] * 2 + [_observation("Failure: x")] * 4

    assert judge_observations(one) == OpResult(Outcome.FAIL, ErrorKind.REJECTED, 1,
                                               "1 of 6 checkers report healthy")
    assert judge_observations(two) == OpResult.ok(2)
    assert judge_observations([]) == OpResult(Outcome.FAIL, ErrorKind.REJECTED, 0,
                                              "0 of 0 checkers report healthy")
