"""Which class runs each probe kind; the runner builds probes from drill-file specs here."""

from __future__ import annotations

from typing import Any

from drdrill.probes.base import Probe, Route
from drdrill.probes.postgres import PostgresReplicaProbe, PostgresWriteProbe

PROBE_CLASSES: dict[str, type[Probe]] = {
    PostgresWriteProbe.kind: PostgresWriteProbe,
    PostgresReplicaProbe.kind: PostgresReplicaProbe,
}


def build_probe(spec: Any, target: Any, run_id: str) -> Probe:
    """A probe for `spec`, routed to `target` (the model its `target` reference names)."""
    cls = PROBE_CLASSES[spec.kind]
    route = Route(getattr(spec, "target", spec.name), target)
    return cls(spec, route, run_id)
