"""boto3 clients for steps and probes, and the translation of botocore's errors into our words.

Credentials always come from the usual AWS chain (environment, profile, instance role): a
drill file never holds keys. The endpoint can be overridden per step or probe (`aws:
{endpoint_url}`), which is how the simulator points boto3 at its local AWS API.

boto3 blocks, so callers run its calls in a worker thread (`asyncio.to_thread`). Each call makes
one attempt within the given timeout: a drill measures, and botocore's retries with backoff
would hide how long the control plane really took.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

logger = logging.getLogger(__name__)

# Errors of one call that say nothing about the request itself: trying again elsewhere or
# later may succeed.
_TRANSIENT_CODES = frozenset({
    "Throttling", "ThrottlingException", "InternalServerException", "InternalFailure",
    "ServiceUnavailable", "EndpointTemporarilyUnavailableException", "PriorRequestNotComplete",
})


def client(
    service: str, *, region: str | None, endpoint_url: str | None, timeout_s: float
) -> Any:
    """A boto3 client making one attempt per call, each within `timeout_s` to connect and read."""
    config = botocore.config.Config(
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.session.Session().client(
        service, region_name=region, endpoint_url=endpoint_url, config=config
    )


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError (e.g. 'NoSuchHostedZone'); None for other errors."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt (later, or at another endpoint) may succeed."""
    if isinstance(exc, botocore.exceptions.EndpointConnectionError
                  | botocore.exceptions.ConnectTimeoutError
                  | botocore.exceptions.ReadTimeoutError):
        return True
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in _TRANSIENT_CODES or int(status) >= 500
    return False


def describe(exc: BaseException) -> str:
    """One line for a botocore error: the AWS code and message, or the error itself."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc) or repr(exc)
