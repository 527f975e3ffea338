"""The drill file's schema: regions hold targets, probes name a target, steps name targets.

Every model forbids unknown keys, so a typo in a drill file is an error naming the field,
never a silently ignored setting. Cross-references (a probe's target, a step's target) are
checked after parsing by `drdrill.drills.references`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- targets -------------------------------------------------------------------------------


class PostgresTarget(Strict):
    dsn: str = Field(description="libpq URL, e.g. postgresql://drill@pg.internal:5432/app")
    table: str = Field("drdrill_heartbeat", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                       description="heartbeat table, created if missing")
    connect_timeout_ms: PositiveInt = 1000


class NatsTarget(Strict):
    url: str = Field(description="nats://host:4222")
    stream: str
    subject: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="prefix of the heartbeats' subjects (`<subject>.<run_id>.<probe>`); on a"
        " mirror, the origin stream's prefix, which its messages keep; default: the stream's name",
    )
    domain: str | None = Field(
        None,
        description="JetStream domain to address through this URL, when the stream lives in"
        " another domain than the server the URL reaches (e.g. across a leafnode)",
    )
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
    replication_note: str | None = Field(
        None, description="how this store replicates, as reports show it (the simulator: "
        "'simulated'); default: from `cluster`"
    )


class HttpTarget(Strict):
    url: str


class Region(Strict):
    postgres: PostgresTarget | None = None
    nats: NatsTarget | None = None
    clickhouse: ClickHouseTarget | None = None
    http: HttpTarget | None = None


TARGET_FAMILIES = ("postgres", "nats", "clickhouse", "http")
TargetRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+\.[a-z0-9_]+$")]
ResolverAddress = Annotated[str, Field(pattern=r"^(\[[0-9A-Fa-f:.]+\]|[0-9.]+)(:[0-9]{1,5})?$")]


# --- probes --------------------------------------------------------------------------------


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


class AwsEndpoint(Strict):
    """Where boto3 sends calls; credentials always come from the usual AWS chain."""

    region: str | None = Field(default=None, description="AWS region; default: the chain's")
    endpoint_url: str | None = Field(default=None, description="e.g. a local AWS API")


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


# --- faults --------------------------------------------------------------------------------


class ProcessFault(Strict):
    kind: Literal["process.kill", "process.pause"]
    label: str = Field(description="what the process is, shown in the plan")
    pid: PositiveInt | None = None
    pid_file: str | None = Field(None, description="file whose first line is the pid")
    pause_seconds: PositiveFloat | None = Field(
        None, description="process.pause only: resume after this long (default: at the end)"
    )


HostPort = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+:[0-9]{1,5}$")]


class _TimedFault(Strict):
    duration_seconds: PositiveFloat | None = Field(
        None, description="lift the fault this long after T0 (default: at teardown)"
    )


class ProxyFault(_TimedFault):
    kind: Literal["proxy.blackhole", "proxy.reset"]
    proxy: HostPort = Field(description="the fault proxy's control port, e.g. 127.0.0.1:7000")
    link: str = Field(description="the proxy link to act on")


class ProxyLatencyFault(_TimedFault):
    kind: Literal["proxy.latency"]
    proxy: HostPort
    link: str
    ms: Annotated[float, Field(ge=0)] = Field(description="delay added to every chunk, each way")


class ProxyPartitionFault(_TimedFault):
    kind: Literal["proxy.partition"]
    proxy: HostPort
    link: str
    direction: Literal["both", "up", "down"] = Field(
        "both", description="up: client->server held; down: server->client held; both"
    )


class ComposeFault(_TimedFault):
    kind: Literal["compose.kill", "compose.pause", "compose.stop"]
    service: str = Field(description="the docker compose service")
    project: str | None = Field(None, description="docker compose -p")
    files: list[str] = Field(default_factory=list, description="docker compose -f, in order")
    binary: str = Field("docker", description="the docker CLI to run")
    timeout_seconds: PositiveFloat = Field(60, description="how long one CLI call may take")


class K8sDeletePodFault(_TimedFault):
    kind: Literal["k8s.delete_pod"]
    namespace: str
    pod: str
    context: str | None = Field(None, description="kubectl --context; default: the current one")
    grace_period_seconds: Annotated[int, Field(ge=0)] | None = None
    binary: str = "kubectl"
    timeout_seconds: PositiveFloat = 60


class K8sScaleFault(_TimedFault):
    kind: Literal["k8s.scale"]
    namespace: str
    resource: str = Field(pattern=r"^[a-z.]+/[A-Za-z0-9.-]+$", description="e.g. statefulset/pg")
    replicas: Annotated[int, Field(ge=0)]
    context: str | None = None
    binary: str = "kubectl"
    timeout_seconds: PositiveFloat = 60


class AwsFisFault(_TimedFault):
    kind: Literal["aws.fis_start_experiment"]
    experiment_template_id: str
    aws: AwsEndpoint = AwsEndpoint()
    timeout_seconds: PositiveFloat = 30


class AwsRdsFailoverFault(_TimedFault):
    kind: Literal["aws.rds_failover"]
    db_cluster_identifier: str | None = Field(None, description="FailoverDBCluster")
    target_db_instance_identifier: str | None = None
    global_cluster_identifier: str | None = Field(None, description="FailoverGlobalCluster")
    target_db_cluster_identifier: str | None = Field(
        None, description="global failover: the ARN of the secondary cluster to promote"
    )
    allow_data_loss: bool = Field(
        False, description="global failover: a failover (True) rather than a switchover"
    )
    aws: AwsEndpoint = AwsEndpoint()
    timeout_seconds: PositiveFloat = 30

    @model_validator(mode="after")
    def _cluster_or_global(self) -> AwsRdsFailoverFault:
        if (self.db_cluster_identifier is None) == (self.global_cluster_identifier is None):
            raise ValueError("give db_cluster_identifier or global_cluster_identifier, not both")
        if self.global_cluster_identifier and not self.target_db_cluster_identifier:
            raise ValueError("a global failover needs target_db_cluster_identifier")
        return self


class AwsEc2StopFault(_TimedFault):
    kind: Literal["aws.ec2_stop"]
    instance_ids: list[str] = Field(min_length=1)
    force: bool = False
    aws: AwsEndpoint = AwsEndpoint()
    timeout_seconds: PositiveFloat = 30


class ExecFault(_TimedFault):
    kind: Literal["exec"]
    label: str = Field(description="what the command does, shown in the plan")
    argv: list[str] = Field(min_length=1, description="the command; never run by a shell")
    lift_argv: list[str] | None = Field(None, min_length=1, description="run to lift the fault")
    env: dict[str, str] = Field(
        default_factory=dict, description="added to the environment; values are never shown"
    )
    timeout_seconds: PositiveFloat = 60


FaultSpec = Annotated[
    ProcessFault | ProxyFault | ProxyLatencyFault | ProxyPartitionFault | ComposeFault
    | K8sDeletePodFault | K8sScaleFault | AwsFisFault | AwsRdsFailoverFault | AwsEc2StopFault
    | ExecFault,
    Field(discriminator="kind"),
]


# --- steps ---------------------------------------------------------------------------------


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


# --- the drill -----------------------------------------------------------------------------


class Objectives(Strict):
    rto_seconds: PositiveFloat | None = Field(None, description="the drill's RTO must not exceed")
    rpo_seconds: Annotated[float, Field(ge=0)] | None = Field(
        None, description="no store's RPO may exceed"
    )


class Guardrails(Strict):
    baseline_min_success: Annotated[float, Field(ge=0, le=1)] = Field(
        0.99, description="a critical probe below this success rate in the baseline stops the"
        " drill before the fault"
    )
    baseline_max_p99_ms: PositiveFloat | None = Field(
        None, description="the same for a critical probe's p99 latency in the baseline"
    )


class DrillFile(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="used in run directory names")
    description: str = ""
    objectives: Objectives
    stable_window_seconds: PositiveFloat = Field(
        5, description="a probe has recovered when every op is ok for this long"
    )
    baseline_seconds: PositiveFloat = Field(5, description="how long probes run before the fault")
    recovery_budget_seconds: PositiveFloat = Field(
        300, description="from T0; when spent, the drill aborts (fault lifted, rollback run)"
    )
    guardrails: Guardrails = Guardrails()
    regions: dict[str, Region] = Field(
        min_length=1, description="region name -> its targets; targets are named region.family"
    )
    probes: list[ProbeSpec] = Field(min_length=1)
    fault: FaultSpec | list[FaultSpec] = Field(
        description="one fault, or several injected back to back at T0"
    )
    failover: list[StepSpec] = Field(default_factory=list, description="run in order after T0")
    rollback: list[StepSpec] = Field(
        default_factory=list, description="run only on abort, after the fault is lifted"
    )
    failback: list[StepSpec] = Field(
        default_factory=list, description="run after verification, measured like failover"
    )

    @property
    def faults(self) -> list[Any]:
        """The faults in injection order, whether the file gave one or a list."""
        return list(self.fault) if isinstance(self.fault, list) else [self.fault]

    def target(self, ref: str | None) -> Any:
        """The target model a `region.family` reference names (None when absent or None)."""
        if ref is None:
            return None

        region, _, family = ref.partition(".")
        found = self.regions.get(region)
        return getattr(found, family, None) if found is not None else None
