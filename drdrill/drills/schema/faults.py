"""Fault specs (`fault`): what is broken at T0, and how it is lifted."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from drdrill.drills.schema.common import AwsEndpoint, HostPort, Strict


class ProcessFault(Strict):
    kind: Literal["process.kill", "process.pause"]
    label: str = Field(description="what the process is, shown in the plan")
    pid: PositiveInt | None = None
    pid_file: str | None = Field(None, description="file whose first line is the pid")
    pause_seconds: PositiveFloat | None = Field(
        None, description="process.pause only: resume after this long (default: at the end)"
    )

    @model_validator(mode="after")
    def _one_way_to_find_the_process(self) -> ProcessFault:
        if (self.pid is None) == (self.pid_file is None):
            raise ValueError("give exactly one of pid and pid_file")
        return self


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
