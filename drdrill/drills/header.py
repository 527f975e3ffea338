"""The journal's first record: who ran what, when, with which versions."""

from __future__ import annotations

import importlib.metadata
import platform
from typing import TYPE_CHECKING, Any

import drdrill

if TYPE_CHECKING:
    from drdrill.drills.runner import DrillRun

_VERSIONED = ("asyncpg", "nats-py", "clickhouse-connect", "aiohttp", "boto3", "dnspython",
              "numpy", "pandas", "pyarrow")


def package_versions() -> dict[str, str]:
    """Versions of drdrill, Python and the drivers it talks through."""
    versions = {"drdrill": drdrill.__version__, "python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def run_header(run: DrillRun, sim: dict[str, Any] | None) -> dict[str, Any]:
    """The `run` record of docs/journal.md for this run."""
    drill = run.loaded.drill
    probes = []
    stores = []
    for spec in drill.probes:
        probe = run.probes[spec.name]
        probes.append({
            "name": spec.name,
            "kind": spec.kind,
            "role": probe.role,
            "store": spec.name if probe.role == "write" else None,
            "target": probe.route.name,
            "interval_ns": spec.interval_ms * 1_000_000,
            "timeout_ns": spec.timeout_ms * 1_000_000,
            "critical": spec.critical,
            "watches": getattr(spec, "watches", None),
        })
        if probe.role == "write":
            stores.append({
                "name": spec.name,
                "kind": probe.store_kind,  # type: ignore[attr-defined]
                "probe": spec.name,
                "replication": probe.replication,  # type: ignore[attr-defined]
            })

    return {
        "k": "run",
        "run_id": run.run_id,
        "drill": drill.name,
        "drill_file": str(run.loaded.path),
        "drill_sha256": run.loaded.sha256,
        "clock": run.clock.as_record(),
        "host": platform.node(),
        "versions": package_versions(),
        "objectives": drill.objectives.model_dump(),
        "stable_window_s": drill.stable_window_seconds,
        "probes": probes,
        "stores": stores,
        "sim": sim,
    }
