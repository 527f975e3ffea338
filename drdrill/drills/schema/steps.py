"""Step specs (`failover[]`, `failback[]`, `rollback[]`): what the drill does after T0."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveFloat, field_validator, model_validator

from drdrill.drills.schema.common import AwsEndpoint, HostPort, Strict, TargetRef


class StepBase(Strict):
    name: str | None = Field(None, description="shown in reports; default: kind and target")
    timeout_seconds: PositiveFloat = Field(60, description="the step fails when it takes longer")


class PostgresPromoteStep(StepBase):
    kind: Literal["postgres.promote"]
    target: TargetRef
    switch_probes: list[str] | None = Field(
        None, description="write probes to repoint; default: every postgres.write probe"
    )
    pinned_probes: list[str] = Field(
        default_factory=list,
        description="write probes of the same database left on the old primary (a split-brain"
        " rehearsal): listed as promoted, not switched, so their later writes count as"
        " split-brain writes",
    )


class SleepStep(StepBase):
    kind: Literal["sleep"]
    seconds: PositiveFloat


class NatsPromoteMirrorStep(StepBase):
    kind: Literal["nats.promote_mirror"]
    target: TargetRef
    subjects: list[str] | None = Field(
        None,
        min_length=1,
        description="subjects the promoted stream takes; default: ['<subject>.>'] of the target",
    )
    switch_probes: list[str] | None = Field(
        None, description="write probes to repoint; default: every nats.write probe"
    )


class NatsSwitchStep(StepBase):
    kind: Literal["nats.switch"]
    target: TargetRef
    switch_probes: list[str] | None = Field(
        None, description="write probes to repoint; default: every nats.write probe"
    )


class ClickHouseSwitchStep(StepBase):
    kind: Literal["clickhouse.switch"]
    target: TargetRef
    statements: list[str] = Field(
        default_factory=list,
        description="SQL run on the target first, in order (e.g. SYSTEM commands)",
    )
    switch_probes: list[str] | None = Field(
        None, description="write probes to repoint; default: every clickhouse.write probe"
    )


class AliasTarget(Strict):
    hosted_zone_id: str
    dns_name: str
    evaluate_target_health: bool = False


class RecordState(Strict):
    """What a record set becomes; a field left out keeps the record's current value.

    `previous: true` (written `to: previous`) puts back the whole record as it was before this
    drill first flipped it, and takes no other field.
    """

    previous: bool = False
    values: list[str] | None = Field(None, min_length=1)
    alias: AliasTarget | None = None
    ttl: Annotated[int, Field(ge=0)] | None = None
    weight: Annotated[int, Field(ge=0, le=255)] | None = None
    failover: Literal["PRIMARY", "SECONDARY"] | None = None
    health_check_id: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> RecordState:
        if self.values is not None and self.alias is not None:
            raise ValueError("give values or alias, not both")
        if self.previous and self.model_fields_set - {"previous"}:
            raise ValueError("'previous' puts back the whole record: give no other field")
        return self


class RecordChange(Strict):
    name: str = Field(description="the record's name, e.g. api.example.com")
    type: str = Field("A", pattern=r"^[A-Z]+$")
    set_identifier: str | None = Field(None, description="of a weighted or failover record")
    to: RecordState = Field(description="the new state, or 'previous' (see RecordState)")

    @field_validator("to", mode="before")
    @classmethod
    def _previous_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value != "previous":
                raise ValueError("expected 'previous' or a mapping of the record's new state")
            return {"previous": True}
        return value


class Route53FlipStep(StepBase):
    kind: Literal["route53.flip"]
    zone: str = Field(description="the hosted zone's id, e.g. Z0123456789ABCDEFGHIJ")
    records: list[RecordChange] = Field(min_length=1)
    poll_seconds: PositiveFloat = Field(1.0, description="GetChange polling until INSYNC")
    aws: AwsEndpoint = AwsEndpoint()


class ArcClusterEndpoint(Strict):
    endpoint: str = Field(pattern=r"^https?://")
    region: str


class ArcRoutingControlStep(StepBase):
    kind: Literal["arc.set_routing_control"]
    routing_control_arn: str
    state: Literal["On", "Off"]
    cluster_endpoints: list[ArcClusterEndpoint] = Field(
        min_length=1, description="the cluster's endpoints, tried in turn until one answers"
    )
    safety_rules_to_override: list[str] = Field(default_factory=list)


class ProxyHealStep(StepBase):
    kind: Literal["proxy.heal"]
    proxy: HostPort = Field(description="the fault proxy's control port, e.g. 127.0.0.1:7000")
    links: list[str] = Field(min_length=1, description="links put back to pass")


StepSpec = Annotated[
    PostgresPromoteStep | NatsPromoteMirrorStep | NatsSwitchStep | SleepStep | ProxyHealStep
    | Route53FlipStep | ArcRoutingControlStep | ClickHouseSwitchStep,
    Field(discriminator="kind"),
]
