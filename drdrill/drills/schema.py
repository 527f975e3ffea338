"""The drill file's schema: regions hold targets, probes name a target, steps name targets.

Every model forbids unknown keys, so a typo in a drill file is an error naming the field,
never a silently ignored setting. Cross-references (a probe's target, a step's target) are
checked after parsing by `drdrill.drills.references`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- targets -------------------------------------------------------------------------------


class PostgresTarget(Strict):
    dsn: str = Field(description="libpq URL, e.g. postgresql://drill@pg.internal:5432/app")
    table: str = Field("drdrill_heartbeat", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    connect_timeout_ms: PositiveInt = 1000


class NatsTarget(Strict):
    url: str = Field(description="nats://host:4222")
    stream: str
    subject: str | None = Field(None, description="subject prefix; default: the stream's name")
    connect_timeout_ms: PositiveInt = 1000


class ClickHouseTarget(Strict):
    url: str = Field(description="http://host:8123")
    database: str = "default"
    table: str = Field("drdrill_heartbeat", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    username: str = "default"
    password: str = ""
    cluster: str | None = None
    insert_settings: dict[str, Any] = Field(default_factory=dict)
    connect_timeout_ms: PositiveInt = 1000


class HttpTarget(Strict):
    url: str


class Region(Strict):
    postgres: PostgresTarget | None = None
    nats: NatsTarget | None = None
    clickhouse: ClickHouseTarget | None = None
    http: HttpTarget | None = None


TARGET_FAMILIES = ("postgres", "nats", "clickhouse", "http")
TargetRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+\.[a-z0-9_]+$")]


# --- probes --------------------------------------------------------------------------------


class ProbeBase(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    interval_ms: PositiveInt = 100
    timeout_ms: PositiveInt = 1000
    critical: bool = False


class PostgresWriteProbe(ProbeBase):
    kind: Literal["postgres.write"]
    target: TargetRef


class PostgresReplicaProbe(ProbeBase):
    kind: Literal["postgres.replica"]
    target: TargetRef
    watches: str = Field(description="the write probe whose heartbeats this replica receives")


ProbeSpec = Annotated[PostgresWriteProbe | PostgresReplicaProbe, Field(discriminator="kind")]


# --- faults --------------------------------------------------------------------------------


class ProcessFault(Strict):
    kind: Literal["process.kill", "process.pause"]
    label: str = Field(description="what the process is, shown in the plan")
    pid: PositiveInt | None = None
    pid_file: str | None = Field(None, description="file whose first line is the pid")
    pause_seconds: PositiveFloat | None = Field(
        None, description="process.pause only: resume after this long (default: at the end)"
    )


FaultSpec = Annotated[ProcessFault, Field(discriminator="kind")]


# --- steps ---------------------------------------------------------------------------------


class StepBase(Strict):
    name: str | None = None
    timeout_seconds: PositiveFloat = 60


class PostgresPromoteStep(StepBase):
    kind: Literal["postgres.promote"]
    target: TargetRef
    switch_probes: list[str] | None = Field(
        None, description="write probes to repoint; default: every postgres.write probe"
    )


class SleepStep(StepBase):
    kind: Literal["sleep"]
    seconds: PositiveFloat


StepSpec = Annotated[PostgresPromoteStep | SleepStep, Field(discriminator="kind")]


# --- the drill -----------------------------------------------------------------------------


class Objectives(Strict):
    rto_seconds: PositiveFloat | None = None
    rpo_seconds: Annotated[float, Field(ge=0)] | None = None


class Guardrails(Strict):
    baseline_min_success: Annotated[float, Field(ge=0, le=1)] = 0.99
    baseline_max_p99_ms: PositiveFloat | None = None


class DrillFile(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    objectives: Objectives
    stable_window_seconds: PositiveFloat = 5
    baseline_seconds: PositiveFloat = 5
    recovery_budget_seconds: PositiveFloat = 300
    guardrails: Guardrails = Guardrails()
    regions: dict[str, Region] = Field(min_length=1)
    probes: list[ProbeSpec] = Field(min_length=1)
    fault: FaultSpec | list[FaultSpec] = Field(
        description="one fault, or several injected back to back at T0"
    )
    failover: list[StepSpec] = Field(default_factory=list)
    rollback: list[StepSpec] = Field(default_factory=list)
    failback: list[StepSpec] = Field(default_factory=list)

    @property
    def faults(self) -> list[Any]:
        """The faults in injection order, whether the file gave one or a list."""
        return list(self.fault) if isinstance(self.fault, list) else [self.fault]

    def target(self, ref: str) -> Any:
        """The target model a `region.family` reference names (None when absent)."""
        region, _, family = ref.partition(".")
        found = self.regions.get(region)
        return getattr(found, family, None) if found is not None else None
