"""report.md: the summary as a Markdown page a reviewer reads top to bottom.

Order: the verdict and the objectives (measured beside objective, with the bound) first, then
the evidence: RTO per probe, the fate of every store's writes, where the RTO went, latency by
phase, baseline lag, what the simulator knows when it ran the drill, and the phases.
"""

from __future__ import annotations

import logging
from typing import Any

from drdrill.reports.formatting import ranges_text, seconds_text, value_text

logger = logging.getLogger(__name__)


def render_markdown(summary: dict[str, Any]) -> str:
    """The text of report.md for `summary` (a summary.json object)."""
    sections = [_title(summary), _objectives(summary), _probes(summary), _stores(summary),
                _decomposition(summary), _latency(summary), _lag(summary), _truth(summary),
                _phases(summary)]
    return "\n\n".join(section for section in sections if section) + "\n"


def _cell(value: Any) -> str:
    """A table cell: `value_text`, with pipes escaped so that a name cannot break the table."""
    text = value if isinstance(value, str) else value_text(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _title(summary: dict[str, Any]) -> str:
    lines = [f"# Drill report: {summary.get('drill') or 'unknown drill'}", "",
             f"**Verdict: {str(summary['verdict']).upper()}**", "",
             f"- Run: `{summary.get('run_id')}`, status {summary['status']}"]
    if summary.get("abort_reason"):
        lines.append(f"- Aborted: {summary['abort_reason']}")
    lines.append(f"- T0 (fault injected): {summary.get('t0_utc') or 'unknown (no fault)'}")
    return "\n".join(lines)


def _objectives(summary: dict[str, Any]) -> str:
    rows = []
    for name in ("rto", "rpo"):
        objective = summary["objectives"].get(name)
        if objective:
            rows.append([name.upper(), seconds_text(objective["measured_seconds"]),
                         _bound(objective["bound_seconds"]),
                         seconds_text(objective["objective_seconds"]), objective["verdict"],
                         objective["reason"] or ""])

    rto, rpo = summary["rto"], summary["rpo"]
    lines = ["## Objectives", ""]
    lines.append(_table(["objective", "measured", "bound", "objective", "verdict", "why"], rows)
                 if rows else "The drill declares no objective: there is nothing to miss.")
    lines += ["",
              f"- RTO of the drill: {seconds_text(rto['seconds'], rto['bound_seconds'])}"
              f" (probe {rto['probe'] or 'none'}), {rto['verdict']}",
              f"- RPO of the drill: {seconds_text(rpo['seconds'], rpo['bound_seconds'])}"
              f" (store {rpo['store'] or 'none'}), {rpo['verdict']}"]
    return "\n".join(lines)


def _bound(bound: float | None) -> str:
    return "unknown" if bound is None else f"± {bound:.3f} s"


def _probes(summary: dict[str, Any]) -> str:
    if not summary["probes"]:
        return ""

    rows = [[p["name"], p["kind"], p["critical"], f"{p['ok']}/{p['fail']}/{p['info']}",
             _outage_start(p), seconds_text(p["recovered_seconds"]),
             seconds_text(p["rto_seconds"], p["rto_bound_seconds"]),
             p["detected_by_timeout"], p.get("verdict")] for p in summary["probes"]]
    header = ["probe", "kind", "critical", "ok/fail/info", "outage start", "recovered", "RTO",
              "detected by timeout", "verdict"]
    return "## RTO by probe\n\nSeconds from T0.\n\n" + _table(header, rows)


def _outage_start(probe: dict[str, Any]) -> str:
    """When the probe's outage began; a probe without one either never failed or saw nothing."""
    if probe["outage_start_seconds"] is not None:
        return seconds_text(probe["outage_start_seconds"])
    return "never failed" if probe["rto_seconds"] is not None else "no op after T0"


def _stores(summary: dict[str, Any]) -> str:
    if not summary["stores"]:
        return ""

    parts = ["## Stores: lost writes and RPO"]
    for store in summary["stores"]:
        parts.append(_store(store))
    return "\n\n".join(parts)


def _store(store: dict[str, Any]) -> str:
    replication = store["replication"] or "unknown"
    if replication == "simulated":
        replication = "simulated (replication simulated by drdrill, not the database's own)"
    lost = store["lost_writes"]
    lost_text = value_text(lost)
    if lost:
        lost_text += f" (seqs {ranges_text(store['lost_ranges'])})"
    predicted = store["predicted_rpo"]
    predicted_text = "no replica was watched in the baseline"
    if predicted and not predicted["samples"]:
        predicted_text = "no replica sample in the baseline"
    elif predicted:
        predicted_text = (f"up to {value_text(predicted['seq_behind_max'])} seqs behind, "
                          f"age up to {seconds_text(predicted['age_seconds_max'])}, "
                          f"{predicted['samples']} samples")
    lines = [
        f"### {store['name']} ({store['kind']})", "",
        f"- Replication: {replication}",
        f"- Final read: {store['final_read']}",
        f"- Acknowledged writes: {store['acked']}; lost: {lost_text}",
        f"- Unknown (`info`) writes: {store['info_total']}; survived "
        f"{value_text(store['info_survived'])}, vanished {value_text(store['info_vanished'])}",
        f"- Duplicates: {value_text(store['duplicates'])}; unexpected rows: "
        f"{value_text(store['unexpected'])}; split-brain writes: "
        f"{value_text(store['split_brain_writes'])}",
        f"- RPO measured: {seconds_text(store['rpo_seconds'], store['rpo_bound_seconds'])}",
        f"- RPO predicted (baseline replication lag): {predicted_text}",
        f"- Verdict: {store['verdict']}",
    ]
    return "\n".join(lines)


def _decomposition(summary: dict[str, Any]) -> str:
    parts = summary["decomposition"]
    rows: list[list[Any]] = [["fault detected", seconds_text(parts["detect_seconds"])]]
    for step in parts["steps"]:
        outcome = {True: "ok", False: "failed", None: "did not end"}[step.get("ok")]
        rows.append([f"step {step['name']} ({step.get('kind')}, {outcome})",
                     f"{seconds_text(step['start_seconds'])} → "
                     f"{seconds_text(step['end_seconds'])}"])
    for label, key in (("DNS change in sync (control plane)", "insync_seconds"),
                       ("DNS converged (probes)", "dns_converged_seconds"),
                       ("first stable HTTP", "first_stable_http_seconds")):
        if parts[key] is not None:
            rows.append([label, seconds_text(parts[key])])
    for probe in summary["probes"]:
        if probe.get("after_last_step_seconds") is not None:
            rows.append([f"{probe['name']} recovered after the last step",
                         _signed_seconds(probe["after_last_step_seconds"])])
    return ("## Where the RTO went\n\nSeconds from T0.\n\n"
            + _table(["event", "seconds"], rows))


def _latency(summary: dict[str, Any]) -> str:
    rows = [[probe["name"], phase, stats["p50"], stats["p95"], stats["p99"], stats["n"]]
            for probe in summary["probes"]
            for phase, stats in probe["latency_ms"].items()]
    if not rows:
        return ""
    return ("## Latency by phase\n\nMilliseconds, ok ops only.\n\n"
            + _table(["probe", "phase", "p50", "p95", "p99", "n"], rows))


def _lag(summary: dict[str, Any]) -> str:
    rows = []
    for store, lag in summary["replication_lag"].items():
        behind, age = lag["seq_behind"] or {}, lag["age_seconds"] or {}
        rows.append([store, lag["samples"],
                     "/".join(value_text(behind.get(key)) for key in ("p50", "p95", "max")),
                     "/".join(value_text(age.get(key)) for key in ("p50", "p95", "max"))])
    if not rows:
        return ""
    return ("## Replication lag in the baseline\n\n"
            + _table(["store", "samples", "seqs behind p50/p95/max", "age s p50/p95/max"],
                     rows))


def _truth(summary: dict[str, Any]) -> str:
    truth = summary.get("truth")
    if not truth:
        return ""

    measured = {store["name"]: store for store in summary["stores"]}
    rows = []
    for name, known in truth.items():
        store = measured.get(name, {})
        agree = (store.get("lost_writes") == known["lost_writes"]
                 and store.get("lost_ranges") == known["lost_ranges"])
        rows.append([name, known["lost_writes"], ranges_text(known["lost_ranges"]),
                     store.get("lost_writes"), ranges_text(store.get("lost_ranges")),
                     "yes" if agree else "NO"])
    return ("## Truth (simulator) vs measured\n\n"
            + _table(["store", "lost (truth)", "ranges (truth)", "lost (measured)",
                      "ranges (measured)", "agree"], rows))


def _phases(summary: dict[str, Any]) -> str:
    if not summary["phases"]:
        return ""
    rows = [[phase["name"], seconds_text(phase["start_seconds"])] for phase in summary["phases"]]
    return "## Phases\n\nStart, seconds from T0.\n\n" + _table(["phase", "start"], rows)


def _signed_seconds(value: float) -> str:
    """`+1.234 s` or `-0.114 s`: time after (or before) the last step ended."""
    sign = "-" if value < 0 else "+"
    return f"{sign}{seconds_text(abs(value))}"
