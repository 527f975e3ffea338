"""Helpers shared by the web tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from drdrill.drills.loader import parse_drill
from drdrill.drills.schema import DrillFile


def make_workdir() -> Path:
    # Not pytest's tmp_path: its parent is mode 0700, which the unprivileged PostgreSQL user
    # could not traverse.
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-web-"))
    workdir.chmod(0o711)
    return workdir


def minimal_drill() -> DrillFile:
    """A valid drill to hand to steps as their context (they read nothing from it)."""
    return parse_drill("test.yaml", {
        "name": "web-test",
        "objectives": {"rto_seconds": 30},
        "regions": {"primary": {"http": {"url": "http://127.0.0.1:1/"}}},
        "probes": [{"name": "api", "kind": "http.request", "url": "http://127.0.0.1:1/"}],
        "fault": {"kind": "process.kill", "label": "x", "pid": 1},
    })


def upsert(client: Any, zone_id: str, *records: dict[str, Any]) -> None:
    client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": record} for record in records]})


def records_of(client: Any, zone_id: str, name: str) -> list[dict[str, Any]]:
    """The record sets of `name` in the zone, as Route53 lists them."""
    listed = client.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    return [r for r in listed if r["Name"] == name]
