"""arc.set_routing_control against local stand-ins of Route 53 ARC cluster endpoints.

moto implements no `route53-recovery-cluster` API and no real cluster can be had in a test, so
each endpoint is a small local server speaking the same awsJson1_0 protocol (tests/web/
aws_standins.py): the step goes through boto3 and real HTTP, but what a real cluster would do
beyond storing the state (safety rules, replication across its five regions) is not shown.
"""

from __future__ import annotations

import pytest
from aws_standins import ArcStandIn, arc_app, serving
from web_helpers import minimal_drill

from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.schema import ArcRoutingControlStep
from drdrill.drills.steps import StepContext, step_runner
from drdrill.errors import StepError

pytestmark = pytest.mark.timeout(30)

ARN = "arn:aws:route53-recovery-control::111122223333:controlpanel/abc/routingcontrol/eu"


def _spec(endpoints: list[str], state: str = "On", arn: str = ARN) -> ArcRoutingControlStep:
    return ArcRoutingControlStep.model_validate({
        "kind": "arc.set_routing_control", "routing_control_arn": arn, "state": state,
        "cluster_endpoints": [{"endpoint": url, "region": "eu-west-1"} for url in endpoints],
        "safety_rules_to_override": ["arn:aws:rule/1"]})


async def test_sets_the_state_at_the_first_endpoint_that_answers(credentials: None) -> None:
    down = ArcStandIn({ARN: "Off"}, unavailable=True)
    up = ArcStandIn({ARN: "Off"})
    context = StepContext(minimal_drill(), {})
    async with serving(arc_app(down)) as down_url, serving(arc_app(up)) as up_url:
        refused = "http://127.0.0.1:9"  # nothing listens there
        result = await step_runner("arc.set_routing_control")(
            _spec([refused, down_url, up_url]), context)

    assert up.states == {ARN: "On"}
    assert up.updates == [{"RoutingControlArn": ARN, "RoutingControlState": "On",
                           "SafetyRulesToOverride": ["arn:aws:rule/1"]}]
    assert down.updates == []
    detail = result.detail
    assert detail["endpoint"] == up_url
    assert detail["previous"] == "Off"
    assert detail["state"] == "On"
    assert detail["submitted_t"] <= detail["acknowledged_t"]
    assert detail["failed_endpoints"] == [
        f'{refused}: Could not connect to the endpoint URL: "{refused}/"',
        f"{down_url}: EndpointTemporarilyUnavailableException: the endpoint is unavailable",
    ]


async def test_an_unknown_routing_control_fails_without_trying_further(
    credentials: None
) -> None:
    first = ArcStandIn({})
    second = ArcStandIn({ARN: "Off"})
    context = StepContext(minimal_drill(), {})
    async with serving(arc_app(first)) as first_url, serving(arc_app(second)) as second_url:
        with pytest.raises(StepError) as caught:
            await step_runner("arc.set_routing_control")(
                _spec([first_url, second_url]), context)

    assert str(caught.value) == (
        f"routing control {ARN} at {first_url}: ResourceNotFoundException:"
        f" no routing control {ARN}")
    assert second.updates == []


async def test_every_endpoint_down_is_a_step_error_listing_them(credentials: None) -> None:
    down = ArcStandIn({ARN: "On"}, unavailable=True)
    async with serving(arc_app(down)) as url:
        with pytest.raises(StepError) as caught:
            await step_runner("arc.set_routing_control")(
                _spec([url], state="Off"), StepContext(minimal_drill(), {}))

    assert str(caught.value) == (
        f"no cluster endpoint of {ARN} answered: ['{url}: EndpointTemporarilyUnavailableException:"
        " the endpoint is unavailable']")
