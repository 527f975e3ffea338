"""The results in Prometheus' text exposition format, for the node exporter's textfile collector.

Every series carries `drill` and `run_id` labels. A value the drill could not measure (an RTO
of a probe that never recovered) is left out rather than written as NaN, so alert rules on
`absent()` and on thresholds both read it right; the verdict series say why.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

VERDICTS = ("met", "missed", "unknown", "aborted")
OBJECTIVE_VERDICTS = ("met", "missed", "unknown")

Labels = dict[str, str]
Sample = tuple[Labels, float | None]

# name -> help text; every metric is a gauge (one drill's results, not a running count).
HELP = {
    "drdrill_run_timestamp_seconds": "UTC start of the run (Unix time)",
    "drdrill_verdict": "1 for the run's verdict (met, missed, unknown, aborted), 0 otherwise",
    "drdrill_objective_seconds": "objective of the drill, seconds",
    "drdrill_objective_verdict": "1 for the objective's verdict (met, missed, unknown)",
    "drdrill_rto_seconds": "RTO of the drill: T0 to stable recovery of the slowest critical probe",
    "drdrill_rto_bound_seconds": "resolution of the drill's RTO, plus or minus seconds",
    "drdrill_rpo_seconds": "RPO of the drill: the largest RPO among the stores",
    "drdrill_rpo_bound_seconds": "resolution of the drill's RPO, plus or minus seconds",
    "drdrill_probe_rto_seconds": "RTO of one probe",
    "drdrill_probe_ops": "ops of one probe by outcome (ok, fail, info)",
    "drdrill_store_acked_writes": "heartbeats the store acknowledged",
    "drdrill_store_lost_writes": "acknowledged heartbeats missing from the final read",
    "drdrill_store_info_writes": "writes of unknown outcome, by fate (survived, vanished)",
    "drdrill_store_duplicate_writes": "heartbeats present more than once in the final read",
    "drdrill_store_split_brain_writes": "writes acknowledged by the old primary after promotion",
    "drdrill_store_rpo_seconds": "RPO of one store",
}


def render_metrics(summary: dict[str, Any], run_start_utc: str | None) -> str:
    """The summary in text exposition format: a HELP and TYPE line per metric, then samples."""
    base = {"drill": str(summary.get("drill", "")), "run_id": str(summary.get("run_id", ""))}
    lines: list[str] = []
    for name, samples in _samples(summary, run_start_utc).items():
        present = [(labels, value) for labels, value in samples if value is not None]
        if not present:
            continue

        lines.append(f"# HELP {name} {HELP[name]}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in present:
            lines.append(f"{name}{_labels({**base, **labels})} {_number(value)}")
    return "\n".join(lines) + "\n"


def write_metrics(path: Path, text: str) -> None:
    """Replace `path` atomically, so the collector never reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(temp, 0o644)
    os.replace(temp, path)
    logger.info("metrics written path=%s", path)


def _samples(summary: dict[str, Any], run_start_utc: str | None) -> dict[str, list[Sample]]:
    objectives = summary.get("objectives") or {}
    rto, rpo = summary.get("rto") or {}, summary.get("rpo") or {}
    found: dict[str, list[Sample]] = {name: [] for name in HELP}

    found["drdrill_run_timestamp_seconds"].append(({}, _unix(run_start_utc)))
    found["drdrill_verdict"] += _one_hot(summary.get("verdict"), VERDICTS, {})
    for name in ("rto", "rpo"):
        block = objectives.get(name) or {}
        found["drdrill_objective_seconds"].append(
            ({"objective": name}, block.get("objective_seconds")))
        if block:
            found["drdrill_objective_verdict"] += _one_hot(
                block.get("verdict"), OBJECTIVE_VERDICTS, {"objective": name})

    found["drdrill_rto_seconds"].append(({}, rto.get("seconds")))
    found["drdrill_rto_bound_seconds"].append(({}, rto.get("bound_seconds")))
    found["drdrill_rpo_seconds"].append(({}, rpo.get("seconds")))
    found["drdrill_rpo_bound_seconds"].append(({}, rpo.get("bound_seconds")))
    for probe in summary.get("probes", []):
        labels = {"probe": probe["name"]}
        found["drdrill_probe_rto_seconds"].append((labels, probe.get("rto_seconds")))
        for outcome in ("ok", "fail", "info"):
            found["drdrill_probe_ops"].append(({**labels, "outcome": outcome}, probe.get(outcome)))
    for store in summary.get("stores", []):
        _store_samples(found, store)
    return found


def _store_samples(found: dict[str, list[Sample]], store: dict[str, Any]) -> None:
    labels = {"store": store["name"]}
    found["drdrill_store_acked_writes"].append((labels, store.get("acked")))
    found["drdrill_store_lost_writes"].append((labels, store.get("lost_writes")))
    for fate in ("survived", "vanished"):
        found["drdrill_store_info_writes"].append(
            ({**labels, "fate": fate}, store.get(f"info_{fate}")))
    found["drdrill_store_duplicate_writes"].append((labels, store.get("duplicates")))
    found["drdrill_store_split_brain_writes"].append((labels, store.get("split_brain_writes")))
    found["drdrill_store_rpo_seconds"].append((labels, store.get("rpo_seconds")))


def _one_hot(value: str | None, choices: tuple[str, ...], labels: Labels) -> list[Sample]:
    return [({**labels, "verdict": choice}, 1.0 if value == choice else 0.0) for choice in choices]


def _unix(utc: str | None) -> float | None:
    return datetime.fromisoformat(utc).timestamp() if utc else None


def _labels(labels: Labels) -> str:
    pairs = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + pairs + "}"


def _escape(value: str) -> str:
    """Label values escape backslash, double quote and newline (the exposition format's rule)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))
