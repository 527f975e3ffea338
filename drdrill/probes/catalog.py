"""Which class runs each probe kind; the runner builds probes from drill-file specs here."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from drdrill.probes.base import Probe, Route
from drdrill.probes.clickhouse import ClickHouseReplicaProbe, ClickHouseWriteProbe
from drdrill.probes.dns import DnsProbe
from drdrill.probes.http import HttpProbe
from drdrill.probes.nats import NatsMirrorProbe, NatsWriteProbe
from drdrill.probes.postgres import PostgresReplicaProbe, PostgresWriteProbe
from drdrill.probes.route53 import Route53HealthCheckProbe

PROBE_CLASSES: dict[str, type[Probe]] = {
    PostgresWriteProbe.kind: PostgresWriteProbe,
    PostgresReplicaProbe.kind: PostgresReplicaProbe,
    NatsWriteProbe.kind: NatsWriteProbe,
    NatsMirrorProbe.kind: NatsMirrorProbe,
    ClickHouseWriteProbe.kind: ClickHouseWriteProbe,
    ClickHouseReplicaProbe.kind: ClickHouseReplicaProbe,
    DnsProbe.kind: DnsProbe,
    HttpProbe.kind: HttpProbe,
    Route53HealthCheckProbe.kind: Route53HealthCheckProbe,
}


def build_probe(spec: Any, target: Any, run_id: str) -> Probe:
    """A probe for `spec`, routed to `target` (the model its `target` reference names)."""
    cls = PROBE_CLASSES[spec.kind]
    route = Route(route_name(spec), target)
    return cls(spec, route, run_id)


def route_name(spec: Any) -> str:
    """What a probe's ops journal as `r`: its target reference, or for a probe of the service
    as users reach it, what it asks for (the URL's host, the DNS name, the health check id)."""
    target = getattr(spec, "target", None)
    if target:
        return str(target)

    url = getattr(spec, "url", None)
    host = urlsplit(url).hostname if url else None
    return str(host or getattr(spec, "qname", None) or getattr(spec, "health_check_id", None)
               or spec.name)
