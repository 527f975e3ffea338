"""route53.flip against moto's Route53 (its server mode, a real HTTP API): records UPSERTed,
their previous state kept in the step's detail, and a failback flip that puts them back."""

from __future__ import annotations

from typing import Any

import pytest
from web_helpers import minimal_drill, records_of, upsert

from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.schema import Route53FlipStep
from drdrill.drills.steps import StepContext, StepResult, step_runner
from drdrill.errors import StepError

pytestmark = pytest.mark.timeout(60)

APP = "app.example.test."
MOTO_CHANGE_ID = "/change/C2682N5HXP0BZ4"  # moto answers every change with this id


def _spec(zone: str, url: str, *records: dict[str, Any]) -> Route53FlipStep:
    return Route53FlipStep.model_validate({
        "kind": "route53.flip", "name": "flip", "zone": zone, "records": list(records),
        "poll_seconds": 0.05, "aws": {"region": "us-east-1", "endpoint_url": url}})


async def _flip(spec: Route53FlipStep, context: StepContext) -> StepResult:
    return await step_runner("route53.flip")(spec, context)


def _simple(value: str, ttl: int = 60) -> dict[str, Any]:
    return {"Name": APP, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": value}]}


async def test_flip_upserts_the_values_and_keeps_the_previous_state(
    route53: Any, zone: str, aws_api: str
) -> None:
    upsert(route53, zone, _simple("10.0.0.1"))
    context = StepContext(minimal_drill(), {})

    result = await _flip(_spec(zone, aws_api, {"name": "app.example.test",
                                               "to": {"values": ["10.0.1.1"]}}), context)

    assert records_of(route53, zone, APP) == [_simple("10.0.1.1")]  # the TTL was kept
    detail = result.detail
    assert detail["previous"] == [{"name": APP, "type": "A", "set_identifier": None,
                                   "record_set": _simple("10.0.0.1")}]
    assert detail["records"] == [{"name": APP, "type": "A", "set_identifier": None,
                                  "record_set": _simple("10.0.1.1")}]
    assert detail["change_id"] == MOTO_CHANGE_ID
    assert detail["zone"] == zone
    assert detail["submitted_t"] <= detail["insync_t"]
    assert result.promotes == []


async def test_failback_to_previous_restores_the_state_before_the_first_flip(
    route53: Any, zone: str, aws_api: str
) -> None:
    upsert(route53, zone, _simple("10.0.0.1", ttl=300))
    context = StepContext(minimal_drill(), {})
    await _flip(_spec(zone, aws_api, {"name": APP, "to": {"values": ["10.0.1.1"], "ttl": 5}}),
                context)
    await _flip(_spec(zone, aws_api, {"name": APP, "to": {"values": ["10.0.2.1"]}}), context)
    assert records_of(route53, zone, APP) == [_simple("10.0.2.1", ttl=5)]

    back = await _flip(_spec(zone, aws_api, {"name": APP, "to": "previous"}), context)

    assert records_of(route53, zone, APP) == [_simple("10.0.0.1", ttl=300)]
    assert back.detail["previous"][0]["record_set"] == _simple("10.0.2.1", ttl=5)
    # The memory is consumed: a second failback has nothing to return to.
    with pytest.raises(StepError) as caught:
        await _flip(_spec(zone, aws_api, {"name": APP, "to": "previous"}), context)
    assert str(caught.value) == (
        "record app.example.test. A: no earlier route53.flip of this drill changed it,"
        " so it has no previous state to return to")


async def test_weighted_records_change_weight_together_and_come_back(
    route53: Any, zone: str, aws_api: str
) -> None:
    def weighted(region: str, value: str, weight: int) -> dict[str, Any]:
        return {"Name": APP, "Type": "A", "SetIdentifier": region, "Weight": weight,
                "TTL": 30, "ResourceRecords": [{"Value": value}]}

    upsert(route53, zone, weighted("us", "10.0.0.1", 100), weighted("eu", "10.0.1.1", 0))
    context = StepContext(minimal_drill(), {})

    await _flip(_spec(zone, aws_api,
                      {"name": APP, "set_identifier": "us", "to": {"weight": 0}},
                      {"name": APP, "set_identifier": "eu", "to": {"weight": 100}}), context)
    flipped = sorted(records_of(route53, zone, APP), key=lambda r: r["SetIdentifier"])
    assert flipped == [weighted("eu", "10.0.1.1", 100), weighted("us", "10.0.0.1", 0)]

    await _flip(_spec(zone, aws_api,
                      {"name": APP, "set_identifier": "us", "to": "previous"},
                      {"name": APP, "set_identifier": "eu", "to": "previous"}), context)
    restored = sorted(records_of(route53, zone, APP), key=lambda r: r["SetIdentifier"])
    assert restored == [weighted("eu", "10.0.1.1", 0), weighted("us", "10.0.0.1", 100)]


async def test_a_failover_record_keeps_its_role_and_takes_new_values(
    route53: Any, zone: str, aws_api: str
) -> None:
    primary = {"Name": APP, "Type": "A", "SetIdentifier": "main", "Failover": "PRIMARY",
               "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.1"}]}
    upsert(route53, zone, primary)

    await _flip(_spec(zone, aws_api, {"name": APP, "set_identifier": "main",
                                      "to": {"values": ["10.0.1.1", "10.0.1.2"]}}),
                StepContext(minimal_drill(), {}))

    assert records_of(route53, zone, APP) == [{
        **primary, "ResourceRecords": [{"Value": "10.0.1.1"}, {"Value": "10.0.1.2"}]}]


async def test_values_become_an_alias_without_ttl(route53: Any, zone: str, aws_api: str) -> None:
    upsert(route53, zone, _simple("10.0.0.1"))
    alias = {"hosted_zone_id": "Z2FDTNDATAQYW2", "dns_name": "eu-lb.example.net.",
             "evaluate_target_health": True}

    await _flip(_spec(zone, aws_api, {"name": APP, "to": {"alias": alias}}),
                StepContext(minimal_drill(), {}))

    assert records_of(route53, zone, APP) == [{
        "Name": APP, "Type": "A",
        "AliasTarget": {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "eu-lb.example.net.",
                        "EvaluateTargetHealth": True}}]


async def test_a_record_the_flip_created_is_deleted_by_the_failback(
    route53: Any, zone: str, aws_api: str
) -> None:
    context = StepContext(minimal_drill(), {})
    new = "new.example.test."

    created = await _flip(_spec(zone, aws_api, {"name": new, "type": "TXT",
                                                "to": {"values": ['"hello"'], "ttl": 10}}),
                          context)
    assert created.detail["previous"] == [{"name": new, "type": "TXT", "set_identifier": None,
                                           "record_set": None}]
    assert records_of(route53, zone, new) == [
        {"Name": new, "Type": "TXT", "TTL": 10, "ResourceRecords": [{"Value": '"hello"'}]}]

    back = await _flip(_spec(zone, aws_api, {"name": new, "type": "TXT", "to": "previous"}),
                       context)
    assert records_of(route53, zone, new) == []
    assert back.detail["records"] == [{"name": new, "type": "TXT", "set_identifier": None,
                                       "record_set": None}]


async def test_restoring_a_record_that_is_already_absent_changes_nothing(
    route53: Any, zone: str, aws_api: str
) -> None:
    context = StepContext(minimal_drill(), {})
    new = "gone.example.test."
    await _flip(_spec(zone, aws_api, {"name": new, "to": {"values": ["10.0.0.5"], "ttl": 10}}),
                context)
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "DELETE", "ResourceRecordSet": records_of(route53, zone, new)[0]}]})

    back = await _flip(_spec(zone, aws_api, {"name": new, "to": "previous"}), context)

    absent = [{"name": new, "type": "A", "set_identifier": None, "record_set": None}]
    assert back.detail == {"zone": zone, "change_id": None, "submitted_t": None,
                           "insync_t": None, "previous": absent, "records": absent}
    assert records_of(route53, zone, new) == []


async def test_a_missing_record_needs_values_and_ttl(
    route53: Any, zone: str, aws_api: str
) -> None:
    with pytest.raises(StepError) as caught:
        await _flip(_spec(zone, aws_api, {"name": "absent.example.test", "to": {"weight": 5}}),
                    StepContext(minimal_drill(), {}))

    assert str(caught.value) == (
        f"record absent.example.test. A does not exist in zone {zone}: give its values and ttl")


async def test_an_unknown_zone_is_a_step_error_naming_it(aws_api: str) -> None:
    with pytest.raises(StepError) as caught:
        await _flip(_spec("ZNOSUCHZONE", aws_api, {"name": APP, "to": {"values": ["10.0.0.9"]}}),
                    StepContext(minimal_drill(), {}))

    assert str(caught.value) == (
        "cannot read zone ZNOSUCHZONE: NoSuchHostedZone: No hosted zone found with ID:"
        " ZNOSUCHZONE")


async def test_an_unreachable_endpoint_is_a_step_error(credentials: None) -> None:
    url = "http://127.0.0.1:9"  # discard: nothing listens there
    with pytest.raises(StepError) as caught:
        await _flip(_spec("Z1", url, {"name": APP, "to": {"values": ["10.0.0.9"]}}),
                    StepContext(minimal_drill(), {}))

    assert str(caught.value) == (
        'cannot read zone Z1: Could not connect to the endpoint URL:'
        ' "http://127.0.0.1:9/2013-04-01/hostedzone/Z1/rrset?name=app.example.test.&type=A'
        '&maxitems=100"')
