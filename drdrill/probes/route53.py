"""The Route53 health-check probe: what Route53's own checkers say of an endpoint, each tick.

Route53 considers a health check healthy when more than 18% of its checkers report it
healthy; the probe applies the same rule, so its outcome is the one Route53 acts upon when it
answers failover records. `v` is the number of checkers reporting healthy.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, cast

import botocore.exceptions

from drdrill import aws
from drdrill.probes.base import ErrorKind, OpResult, Outcome, Probe

if TYPE_CHECKING:
    from drdrill.drills.schema import Route53HealthCheckProbe as Route53HealthCheckProbeSpec

logger = logging.getLogger(__name__)

# Route53's documented threshold: healthy when more than 18% of the checkers say so.
HEALTHY_SHARE = 0.18


def translate_aws_error(exc: BaseException) -> OpResult:
    """Map a failed GetHealthCheckStatus to an outcome (always `fail`: a read changes nothing).

    | error | kind |
    |---|---|
    | EndpointConnectionError | refused |
    | ConnectTimeoutError, ReadTimeoutError | timeout |
    | NoSuchHealthCheck, InvalidInput | rejected |
    | anything else (throttling, credentials, 5xx) | error |
    """
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return OpResult.fail(ErrorKind.REFUSED, aws.describe(exc))
    if isinstance(exc, botocore.exceptions.ConnectTimeoutError
                  | botocore.exceptions.ReadTimeoutError):
        return OpResult.fail(ErrorKind.TIMEOUT, aws.describe(exc))
    if aws.error_code(exc) in {"NoSuchHealthCheck", "InvalidInput"}:
        return OpResult.fail(ErrorKind.REJECTED, aws.describe(exc))
    return OpResult.fail(ErrorKind.ERROR, aws.describe(exc))


def judge_observations(observations: list[dict[str, Any]]) -> OpResult:
    """`ok` when more than 18% of the checkers report success; `v` counts those that do."""
    healthy = sum(
        1 for o in observations if str(o.get("StatusReport", {}).get("Status", "")).startswith(
            "Success")
    )
    if observations and healthy / len(observations) > HEALTHY_SHARE:
        return OpResult.ok(healthy)
    return OpResult(Outcome.FAIL, ErrorKind.REJECTED, healthy,
                    f"{healthy} of {len(observations)} checkers report healthy")


class Route53HealthCheckProbe(Probe):
    """Reads a health check's status (GetHealthCheckStatus) each tick."""

    kind = "route53.health_check"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = cast("Route53HealthCheckProbeSpec", self.spec)
        self._client: Any = None

    async def open(self) -> None:
        """Build the boto3 client (it reads credentials and endpoint data: done once here)."""
        spec = self.options
        self._client = await asyncio.to_thread(
            aws.client, "route53", region=spec.aws.region, endpoint_url=spec.aws.endpoint_url,
            timeout_s=spec.timeout_ms / 1000,
        )
        logger.info("route53 health check probe ready probe=%s health_check=%s",
                    self.name, spec.health_check_id)

    async def op(self, seq: int) -> OpResult:
        if self._client is None:
            await self.open()

        try:
            response = await asyncio.to_thread(
                self._client.get_health_check_status, HealthCheckId=self.options.health_check_id
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            return translate_aws_error(exc)
        return judge_observations(response.get("HealthCheckObservations", []))
