"""AWS faults: start a FIS experiment, fail over an RDS cluster, stop EC2 instances.

Credentials come from the usual AWS chain (`drdrill.aws`); boto3 blocks, so each call runs in
a worker thread. Every botocore error becomes a `FaultError` with the AWS code and message.

| kind | inject | lift | preflight (changes nothing) |
|---|---|---|---|
| aws.fis_start_experiment | StartExperiment | StopExperiment if running | GetExperimentTemplate |
| aws.rds_failover | FailoverDBCluster or -GlobalCluster | none: failback is a step | Describe* |
| aws.ec2_stop | StopInstances | StartInstances | StopInstances with DryRun |

Only EC2 has a DryRun flag; for FIS and RDS the check reads the resource instead, which
proves reachability and read permission, not the permission to act.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from drdrill import aws
from drdrill.drills.checks import CheckResult, register_preflight_check
from drdrill.drills.faults import Fault, register_fault
from drdrill.drills.schema import DrillFile
from drdrill.errors import FaultError

logger = logging.getLogger(__name__)

AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
# FIS experiment statuses after which there is nothing to stop.
_FIS_ENDED = frozenset({"completed", "stopping", "stopped", "failed", "cancelled"})


async def call_aws(spec: Any, service: str, operation: str, **params: Any) -> dict[str, Any]:
    """One AWS API call for this fault's endpoint; raises `FaultError` with AWS's words."""
    def call() -> dict[str, Any]:
        client = aws.client(service, region=spec.aws.region, endpoint_url=spec.aws.endpoint_url,
                            timeout_s=spec.timeout_seconds)
        method: Callable[..., dict[str, Any]] = getattr(client, operation)
        return method(**params)

    try:
        return await asyncio.to_thread(call)
    except AWS_ERRORS as exc:
        raise FaultError(f"{spec.kind}: {service} {operation} failed: {aws.describe(exc)}") \
            from exc


def _region(spec: Any) -> str:
    return f"in {spec.aws.region or 'the default region'}"


@register_fault("aws.fis_start_experiment")
def fis_fault(spec: Any) -> Fault:
    """Start a FIS experiment from its template; the lift stops it if it still runs."""
    started: dict[str, str] = {}

    async def inject() -> None:
        reply = await call_aws(spec, "fis", "start_experiment",
                               experimentTemplateId=spec.experiment_template_id,
                               clientToken=str(uuid.uuid4()))
        started["id"] = reply["experiment"]["id"]
        logger.info("fis experiment started id=%s", started["id"])

    async def lift() -> None:
        if "id" not in started:
            return
        reply = await call_aws(spec, "fis", "get_experiment", id=started["id"])
        status = reply["experiment"]["state"]["status"]
        if status not in _FIS_ENDED:
            await call_aws(spec, "fis", "stop_experiment", id=started["id"])
            logger.info("fis experiment stopped id=%s was=%s", started["id"], status)

    target = f"FIS experiment template {spec.experiment_template_id} {_region(spec)}"
    return Fault(spec.kind, target, inject, lift, spec.duration_seconds)


@register_fault("aws.rds_failover")
def rds_failover_fault(spec: Any) -> Fault:
    """Fail over an Aurora cluster, or a global database to its secondary cluster."""
    async def inject() -> None:
        if spec.global_cluster_identifier:
            mode = {"AllowDataLoss": True} if spec.allow_data_loss else {"Switchover": True}
            await call_aws(spec, "rds", "failover_global_cluster",
                           GlobalClusterIdentifier=spec.global_cluster_identifier,
                           TargetDbClusterIdentifier=spec.target_db_cluster_identifier, **mode)
            return

        target = ({"TargetDBInstanceIdentifier": spec.target_db_instance_identifier}
                  if spec.target_db_instance_identifier else {})
        await call_aws(spec, "rds", "failover_db_cluster",
                       DBClusterIdentifier=spec.db_cluster_identifier, **target)

    async def lift() -> None:
        return None  # a failover is not undone by drdrill: failing back is a step

    return Fault(spec.kind, rds_where(spec), inject, lift, spec.duration_seconds)


def rds_where(spec: Any) -> str:
    """The plan's words for an RDS failover: which cluster, to what, where."""
    if spec.global_cluster_identifier:
        how = "failover, data loss allowed" if spec.allow_data_loss else "switchover"
        return (f"global cluster {spec.global_cluster_identifier} -> "
                f"{spec.target_db_cluster_identifier} ({how}) {_region(spec)}")
    to = spec.target_db_instance_identifier or "a reader AWS chooses"
    return f"cluster {spec.db_cluster_identifier} -> instance {to} {_region(spec)}"


@register_fault("aws.ec2_stop")
def ec2_stop_fault(spec: Any) -> Fault:
    """Stop EC2 instances; the lift starts them again."""
    async def inject() -> None:
        await call_aws(spec, "ec2", "stop_instances", InstanceIds=spec.instance_ids,
                       Force=spec.force)

    async def lift() -> None:
        await call_aws(spec, "ec2", "start_instances", InstanceIds=spec.instance_ids)

    force = " (forced)" if spec.force else ""
    target = f"instances {', '.join(spec.instance_ids)}{force} {_region(spec)}"
    return Fault(spec.kind, target, inject, lift, spec.duration_seconds)


@register_preflight_check("aws.fis_start_experiment")
async def check_fis(spec: Any, drill: DrillFile) -> CheckResult:
    """The experiment template exists and can be read (FIS has no DryRun)."""
    try:
        await call_aws(spec, "fis", "get_experiment_template", id=spec.experiment_template_id)
    except FaultError as exc:
        return CheckResult.failed(str(exc))
    return CheckResult.ok(f"template {spec.experiment_template_id} exists (no DryRun in FIS)")


@register_preflight_check("aws.rds_failover")
async def check_rds(spec: Any, drill: DrillFile) -> CheckResult:
    """The cluster exists and can be read (RDS failover has no DryRun)."""
    try:
        if spec.global_cluster_identifier:
            await call_aws(spec, "rds", "describe_global_clusters",
                           GlobalClusterIdentifier=spec.global_cluster_identifier)
            return CheckResult.ok(f"global cluster {spec.global_cluster_identifier} exists"
                                  " (no DryRun in RDS)")
        reply = await call_aws(spec, "rds", "describe_db_clusters",
                               DBClusterIdentifier=spec.db_cluster_identifier)
    except FaultError as exc:
        return CheckResult.failed(str(exc))

    members = reply["DBClusters"][0].get("DBClusterMembers", [])
    if len(members) < 2:
        return CheckResult.failed(
            f"cluster {spec.db_cluster_identifier} has {len(members)} instance(s); a failover"
            " needs a second one to promote"
        )
    return CheckResult.ok(f"cluster {spec.db_cluster_identifier} has {len(members)} instances"
                          " (no DryRun in RDS)")


@register_preflight_check("aws.ec2_stop")
async def check_ec2_stop(spec: Any, drill: DrillFile) -> CheckResult:
    """StopInstances with DryRun: AWS answers DryRunOperation when the stop would be allowed."""
    try:
        await call_aws(spec, "ec2", "stop_instances", InstanceIds=spec.instance_ids,
                       DryRun=True)
    except FaultError as exc:
        cause = exc.__cause__
        if cause is not None and aws.error_code(cause) == "DryRunOperation":
            return CheckResult.ok(f"DryRun: stopping {', '.join(spec.instance_ids)} is allowed")
        return CheckResult.failed(str(exc))
    return CheckResult.failed("DryRun stop_instances returned without DryRunOperation")
