"""DNS failover steps: `route53.flip` (boto3 route53) and `arc.set_routing_control` (Route 53 ARC).

`route53.flip` reads each named record set, UPSERTs its new state (values or alias, TTL,
weight, failover role) in one change batch, and waits until Route53 says the change is INSYNC.
Its journaled detail holds `submitted_t` and `insync_t` (monotonic ns), the change id and every
record's `previous` state, so that a failback flip with `to: previous` puts them back.

INSYNC means every Route53 name server answers the new state; clients still hold the old
answer until their resolvers' caches expire (the TTL). The DNS probe measures that apart.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

import botocore.exceptions

from drdrill import aws
from drdrill.clock import now_ns
from drdrill.drills.route53_ledger import (
    RecordKey,
    forget_previous,
    fqdn,
    recall_previous,
    remember_previous,
)
from drdrill.drills.steps import StepContext, StepResult, register_step
from drdrill.errors import StepError

logger = logging.getLogger(__name__)

_AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
# One AWS call may take this long before the step treats it as failed (the step's own timeout
# bounds the whole step).
_CALL_TIMEOUT_S = 10.0


def record_key(zone: str, change: Any) -> RecordKey:
    """What identifies a record set: zone, name, type and set identifier."""
    return RecordKey(zone, fqdn(change.name), change.type, change.set_identifier)


def desired_record(key: RecordKey, current: dict[str, Any] | None, to: Any) -> dict[str, Any]:
    """The record set `current` becomes under `to` (a RecordState); fields not given are kept.

    Raises StepError when a record that does not exist yet is not fully described.
    """
    record: dict[str, Any] = (copy.deepcopy(current) if current
                              else {"Name": key.name, "Type": key.type})
    if key.set_identifier is not None:
        record["SetIdentifier"] = key.set_identifier
    if to.values is not None:
        record.pop("AliasTarget", None)
        record["ResourceRecords"] = [{"Value": value} for value in to.values]
    if to.alias is not None:
        record.pop("ResourceRecords", None)
        record.pop("TTL", None)  # an alias record takes its target's TTL
        record["AliasTarget"] = {
            "HostedZoneId": to.alias.hosted_zone_id,
            "DNSName": to.alias.dns_name,
            "EvaluateTargetHealth": to.alias.evaluate_target_health,
        }
    for field, value in (("TTL", to.ttl), ("Weight", to.weight), ("Failover", to.failover),
                         ("HealthCheckId", to.health_check_id)):
        if value is not None:
            record[field] = value

    if "AliasTarget" not in record and ("ResourceRecords" not in record or "TTL" not in record):
        raise StepError(
            f"record {key.describe()} does not exist in zone {key.zone}: give its values and ttl"
        )
    return record


def find_record(client: Any, key: RecordKey) -> dict[str, Any] | None:
    """The record set `key` names, or None when the zone has none (blocking: run in a thread)."""
    params: dict[str, Any] = {"HostedZoneId": key.zone, "StartRecordName": key.name,
                              "StartRecordType": key.type, "MaxItems": "100"}
    while True:
        page = client.list_resource_record_sets(**params)
        records = page["ResourceRecordSets"]
        for record in records:
            if key.matches(record):
                return dict(record)

        # Listings are sorted by name and type: once past ours, it is not in the zone.
        past = not records or fqdn(records[-1]["Name"]) != key.name \
            or records[-1]["Type"] != key.type
        if past or not page.get("IsTruncated"):
            return None
        params.update(StartRecordName=page["NextRecordName"],
                      StartRecordType=page["NextRecordType"])
        if page.get("NextRecordIdentifier"):
            params["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def plan_changes(
    spec: Any, context: StepContext, current: list[dict[str, Any] | None]
) -> list[dict[str, Any] | None]:
    """One change per record: an UPSERT, a DELETE to restore a record that was absent, or None
    when a record to restore as absent is absent already."""
    changes: list[dict[str, Any] | None] = []
    for change, record in zip(spec.records, current, strict=True):
        key = record_key(spec.zone, change)
        if not change.to.previous:
            changes.append({"Action": "UPSERT",
                            "ResourceRecordSet": desired_record(key, record, change.to)})
            continue

        found, previous = recall_previous(context.drill, key)
        if not found:
            raise StepError(f"record {key.describe()}: no earlier route53.flip of this drill"
                            " changed it, so it has no previous state to return to")
        if previous is not None:
            changes.append({"Action": "UPSERT", "ResourceRecordSet": previous})
        elif record is not None:
            changes.append({"Action": "DELETE", "ResourceRecordSet": record})
        else:
            changes.append(None)
    return changes


async def wait_insync(client: Any, change_id: str, status: str, poll_s: float) -> None:
    """Poll GetChange until INSYNC; a failed poll is tried again at the next interval.

    Returns as soon as INSYNC is seen; the step's timeout bounds the wait.
    """
    while status != "INSYNC":
        await asyncio.sleep(poll_s)
        try:
            answer = await asyncio.to_thread(client.get_change, Id=change_id)
        except _AWS_ERRORS as exc:
            if not aws.is_transient(exc):
                raise StepError(f"GetChange {change_id} failed: {aws.describe(exc)}") from exc
            logger.warning("route53 change poll failed change_id=%s error=%s", change_id,
                           aws.describe(exc))
            continue
        status = answer["ChangeInfo"]["Status"]


@register_step("route53.flip")
async def run_route53_flip(spec: Any, context: StepContext) -> StepResult:
    """UPSERT the named records in one change batch and wait until Route53 says INSYNC."""
    # Step 1: a client, and every record's current state (what failback returns to).
    try:
        client = await asyncio.to_thread(
            aws.client, "route53", region=spec.aws.region, endpoint_url=spec.aws.endpoint_url,
            timeout_s=_CALL_TIMEOUT_S)
        keys = [record_key(spec.zone, change) for change in spec.records]
        current = [await asyncio.to_thread(find_record, client, key) for key in keys]
    except _AWS_ERRORS as exc:
        raise StepError(f"cannot read zone {spec.zone}: {aws.describe(exc)}") from exc

    # Step 2: submit the batch. What it replaces is remembered first: a submission that times
    # out may still have been applied, and a rollback flip must then find the previous state.
    changes = plan_changes(spec, context, current)
    batch = [change for change in changes if change is not None]
    if not batch:
        logger.info("route53 flip has nothing to change zone=%s", spec.zone)
        _forget_restored(spec, context, keys)
        return StepResult(detail={"zone": spec.zone, "change_id": None, "submitted_t": None,
                                  "insync_t": None, "previous": _states(keys, current),
                                  "records": _states(keys, current)})

    _remember(spec, context, keys, current)
    submitted_t = now_ns()
    try:
        answer = await asyncio.to_thread(
            client.change_resource_record_sets, HostedZoneId=spec.zone,
            ChangeBatch={"Comment": "drdrill route53.flip", "Changes": batch})
    except _AWS_ERRORS as exc:
        raise StepError(f"change of zone {spec.zone} refused: {aws.describe(exc)}") from exc

    info = answer["ChangeInfo"]
    _forget_restored(spec, context, keys)
    logger.info("route53 change submitted zone=%s change_id=%s previous=%s", spec.zone,
                info["Id"], current)

    # Step 3: INSYNC, as Route53 reports it.
    await wait_insync(client, info["Id"], info["Status"], spec.poll_seconds)
    insync_t = now_ns()
    logger.info("route53 change insync zone=%s change_id=%s seconds=%.3f", spec.zone,
                info["Id"], (insync_t - submitted_t) / 1e9)
    return StepResult(detail={
        "zone": spec.zone,
        "change_id": info["Id"],
        "submitted_t": submitted_t,
        "insync_t": insync_t,
        "previous": _states(keys, current),
        "records": _states(keys, [_after(change, record)
                                  for change, record in zip(changes, current, strict=True)]),
    })


def _remember(spec: Any, context: StepContext, keys: list[RecordKey],
              current: list[dict[str, Any] | None]) -> None:
    """Remember what a flip replaces (a flip back to `previous` consumes it once applied)."""
    for change, key, record in zip(spec.records, keys, current, strict=True):
        if not change.to.previous:
            remember_previous(context.drill, key, record)


def _forget_restored(spec: Any, context: StepContext, keys: list[RecordKey]) -> None:
    """Records put back as they were need no memory of their previous state any more."""
    for change, key in zip(spec.records, keys, strict=True):
        if change.to.previous:
            forget_previous(context.drill, key)


def _after(change: dict[str, Any] | None, record: dict[str, Any] | None
           ) -> dict[str, Any] | None:
    """A record set once its change applied (None: deleted, or absent and left so)."""
    if change is None:
        return record
    return change["ResourceRecordSet"] if change["Action"] == "UPSERT" else None


def _states(keys: list[RecordKey], records: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Records' states as journaled: identity and record set (null: absent)."""
    return [{"name": key.name, "type": key.type, "set_identifier": key.set_identifier,
             "record_set": record} for key, record in zip(keys, records, strict=True)]


@register_step("arc.set_routing_control")
async def run_arc_set_routing_control(spec: Any, context: StepContext) -> StepResult:
    """Set a routing control On or Off through the first cluster endpoint that answers.

    AWS asks clients to try the cluster's regional endpoints in turn: any one of them can
    update the state, and some may be unavailable at any time.
    """
    failed: list[str] = []
    for endpoint in spec.cluster_endpoints:
        try:
            return await asyncio.to_thread(_set_routing_control, spec, endpoint, failed)
        except _AWS_ERRORS as exc:
            if not aws.is_transient(exc):
                raise StepError(f"routing control {spec.routing_control_arn} at"
                                f" {endpoint.endpoint}: {aws.describe(exc)}") from exc
            logger.warning("arc endpoint failed endpoint=%s error=%s", endpoint.endpoint,
                           aws.describe(exc))
            failed.append(f"{endpoint.endpoint}: {aws.describe(exc)}")
    raise StepError(f"no cluster endpoint of {spec.routing_control_arn} answered: {failed}")


def _set_routing_control(spec: Any, endpoint: Any, failed: list[str]) -> StepResult:
    """Read the state, then set it, at one endpoint (blocking: run in a thread)."""
    client = aws.client("route53-recovery-cluster", region=endpoint.region,
                        endpoint_url=endpoint.endpoint, timeout_s=_CALL_TIMEOUT_S)
    arn = spec.routing_control_arn
    previous = client.get_routing_control_state(RoutingControlArn=arn)["RoutingControlState"]
    submitted_t = now_ns()
    client.update_routing_control_state(
        RoutingControlArn=arn, RoutingControlState=spec.state,
        SafetyRulesToOverride=spec.safety_rules_to_override)
    logger.info("arc routing control set arn=%s from=%s to=%s endpoint=%s", arn, previous,
                spec.state, endpoint.endpoint)
    return StepResult(detail={
        "routing_control_arn": arn,
        "endpoint": endpoint.endpoint,
        "previous": previous,
        "state": spec.state,
        "submitted_t": submitted_t,
        "acknowledged_t": now_ns(),
        "failed_endpoints": list(failed),
    })
