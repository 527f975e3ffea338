"""What every part of the drill file's schema shares: strict models and reference types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TargetRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+\.[a-z0-9_]+$")]


ResolverAddress = Annotated[str, Field(pattern=r"^(\[[0-9A-Fa-f:.]+\]|[0-9.]+)(:[0-9]{1,5})?$")]


HostPort = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+:[0-9]{1,5}$")]


class AwsEndpoint(Strict):
    """Where boto3 sends calls; credentials always come from the usual AWS chain."""

    region: str | None = Field(default=None, description="AWS region; default: the chain's")
    endpoint_url: str | None = Field(default=None, description="e.g. a local AWS API")
