"""Probe specs (`probes[]`): each names its kind, its target and its timing."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt

from drdrill.drills.schema.common import AwsEndpoint, ResolverAddress, Strict, TargetRef


class ProbeBase(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="unique; a write probe's"
                      " name is also its store's name in reports")
    interval_ms: PositiveInt = Field(100, description="tick k is due at start + k * interval")
    timeout_ms: PositiveInt = Field(1000, description="per op; a write that times out is info")
    critical: bool = Field(False, description="counts in the drill's RTO and the guardrails")


class PostgresWriteProbe(ProbeBase):
    kind: Literal["postgres.write"]
    target: TargetRef = Field(description="a `region.postgres` target; the heartbeat table is"
                              " created there if missing")


class PostgresReplicaProbe(ProbeBase):
    kind: Literal["postgres.replica"]
    target: TargetRef
    watches: str = Field(description="the write probe whose heartbeats this replica receives")


class NatsWriteProbe(ProbeBase):
    kind: Literal["nats.write"]
    target: TargetRef


class NatsMirrorProbe(ProbeBase):
    kind: Literal["nats.mirror"]
    target: TargetRef
    watches: str = Field(description="the write probe whose heartbeats this mirror receives")


class ClickHouseWriteProbe(ProbeBase):
    kind: Literal["clickhouse.write"]
    target: TargetRef


class ClickHouseReplicaProbe(ProbeBase):
    kind: Literal["clickhouse.replica"]
    target: TargetRef
    watches: str = Field(description="the write probe whose heartbeats this replica receives")


class _ServiceProbe(ProbeBase):
    """A probe of the service as users reach it (a name, a URL), not of one region's target."""

    @property
    def target(self) -> None:
        """No region's target: such a probe follows whatever DNS answers."""
        return None


class DnsProbe(_ServiceProbe):
    kind: Literal["dns.query"]
    qname: str = Field(description="the name queried, e.g. api.example.com")
    rdtype: Literal["A", "AAAA", "CNAME", "TXT"] = "A"
    resolvers: list[ResolverAddress] = Field(
        default_factory=list, description="'host' or 'host:port'; default: the system's"
    )


class HttpProbe(_ServiceProbe):
    kind: Literal["http.request"]
    url: str = Field(pattern=r"^https?://", description="e.g. https://api.example.com/health")
    method: Literal["GET", "POST", "HEAD"] = "GET"
    body: str | None = Field(None, description="the request body, sent as given")
    expect_status: Annotated[int, Field(ge=100, le=599)] = 200
    expect_body: str | None = Field(None, description="a substring the body must contain")
    resolvers: list[ResolverAddress] = Field(
        default_factory=list,
        description="resolve the URL's host here, honouring TTLs; default: the system's",
    )
    keepalive_ms: Annotated[int, Field(ge=0)] = Field(
        0, description="reuse an idle connection this long; 0: a new connection per op"
    )


class Route53HealthCheckProbe(_ServiceProbe):
    kind: Literal["route53.health_check"]
    health_check_id: str
    aws: AwsEndpoint = AwsEndpoint()


ProbeSpec = Annotated[
    PostgresWriteProbe | PostgresReplicaProbe | NatsWriteProbe | NatsMirrorProbe
    | ClickHouseWriteProbe | ClickHouseReplicaProbe
    | DnsProbe | HttpProbe | Route53HealthCheckProbe,
    Field(discriminator="kind"),
]
