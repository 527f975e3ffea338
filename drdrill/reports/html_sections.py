"""The tables and text of report.html, as HTML fragments; every text is escaped and redacted."""

from __future__ import annotations

import html
from typing import Any

from drdrill.journal.reader import Journal
from drdrill.redact import redact
from drdrill.reports.formatting import UNKNOWN, ranges_text, seconds_text, value_text


def text(value: Any) -> str:
    """Any value as safe HTML text: secrets masked, markup escaped."""
    return html.escape(redact(value_text(value)))


def table(headers: list[str], rows: list[list[str]], css: str = "") -> str:
    """A <table>; `rows` hold HTML already escaped (use `text`)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def verdict_badge(verdict: str | None) -> str:
    """The verdict as a coloured badge (class `verdict-<value>`)."""
    value = verdict or UNKNOWN
    return f'<span class="badge verdict-{html.escape(value)}">{html.escape(value)}</span>'


def run_facts(summary: dict[str, Any], journal: Journal) -> str:
    """The run's identity: drill, run id, status, T0, host, drill file and versions."""
    header = journal.header or {}
    facts = [("drill", summary.get("drill")), ("run", summary.get("run_id")),
             ("status", summary.get("status")), ("T0 (UTC)", summary.get("t0_utc")),
             ("run started (UTC)", (header.get("clock") or {}).get("utc")),
             ("host", header.get("host")), ("drill file", header.get("drill_file")),
             ("drill file sha256", header.get("drill_sha256")),
             ("drdrill", (header.get("versions") or {}).get("drdrill"))]
    if summary.get("abort_reason"):
        facts.insert(3, ("aborted because", summary["abort_reason"]))
    if journal.truncated:
        facts.append(("journal", "cut short by a crash; its last partial line was ignored"))
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{text(v)}</dd>" for k, v in facts)
    return f'<dl class="facts">{items}</dl>'


def objectives_table(summary: dict[str, Any]) -> str:
    """RTO and RPO: objective, measured with its bound, by which probe or store, verdict."""
    objectives = summary.get("objectives") or {}
    rows = []
    for name, where_key in (("rto", "probe"), ("rpo", "store")):
        block, measured = objectives.get(name), summary.get(name) or {}
        if not block:
            continue
        rows.append([
            name.upper(), text(_objective_seconds(block)),
            text(seconds_text(block.get("measured_seconds"), block.get("bound_seconds"))),
            text(measured.get(where_key)), verdict_badge(block.get("verdict")),
            text(block.get("reason") or ""),
        ])
    return table(["objective", "target", "measured", "set by", "verdict", "reason"], rows,
                 "objectives")


def probes_table(summary: dict[str, Any]) -> str:
    """Each probe's counts, outage and RTO with its bound."""
    rows = []
    for p in summary.get("probes", []):
        rows.append([text(p["name"]), text(p.get("kind")), text(p.get("critical")),
                     text(p.get("ops")), text(p.get("ok")), text(p.get("fail")),
                     text(p.get("info")), text(seconds_text(p.get("outage_start_seconds"))),
                     text(seconds_text(p.get("recovered_seconds"))),
                     text(seconds_text(p.get("rto_seconds"), p.get("rto_bound_seconds"))),
                     text(p.get("detected_by_timeout"))])
    return table(["probe", "kind", "critical", "ops", "ok", "fail", "info", "outage from",
                  "stable recovery", "RTO", "detected by timeout"], rows, "probes")


def stores_table(summary: dict[str, Any]) -> str:
    """Per store: lost writes and their ranges, info writes, duplicates, split-brain, RPO."""
    truth = summary.get("truth") or {}
    rows = []
    for s in summary.get("stores", []):
        rows.append([
            text(s["name"]), text(f"{s.get('kind')} ({s.get('replication')})"),
            text(s.get("acked")), f'<span class="lost">{text(s.get("lost_writes"))}</span>',
            text(ranges_text(s.get("lost_ranges"))),
            text(f"{s.get('info_total')} ({value_text(s.get('info_survived'))} survived, "
                 f"{value_text(s.get('info_vanished'))} vanished)"),
            text(s.get("duplicates")), text(s.get("unexpected")),
            text(s.get("split_brain_writes")),
            text(seconds_text(s.get("rpo_seconds"), s.get("rpo_bound_seconds"))),
            text(_predicted(s.get("predicted_rpo"))), text(s.get("final_read")),
            verdict_badge(s.get("verdict")), text(_truth(truth.get(s["name"]))),
        ])
    return table(["store", "kind", "acked", "lost", "lost seq ranges", "info writes",
                  "duplicates", "unexpected", "split-brain", "RPO", "predicted (baseline)",
                  "final read", "verdict", "simulator truth"], rows, "stores")


def lag_table(summary: dict[str, Any]) -> str:
    """The baseline lag figures of record (from the summary), per watched store."""
    rows = []
    for store, lag in (summary.get("replication_lag") or {}).items():
        behind, age = lag.get("seq_behind") or {}, lag.get("age_seconds") or {}
        rows.append([text(store), text(lag.get("samples"))]
                    + [text(behind.get(k)) for k in ("p50", "p95", "max")]
                    + [text(seconds_text(age.get(k))) for k in ("p50", "p95", "max")])
    return table(["store", "samples", "seq behind p50", "p95", "max", "age p50", "p95", "max"],
                 rows, "lag")


def latency_table(summary: dict[str, Any]) -> str:
    """Latency percentiles (ms) of each probe in each phase."""
    rows = []
    for p in summary.get("probes", []):
        for phase, q in (p.get("latency_ms") or {}).items():
            rows.append([text(p["name"]), text(phase), text(q.get("n"))]
                        + [text(q.get(k)) for k in ("p50", "p95", "p99")])
    return table(["probe", "phase", "ops", "p50 ms", "p95 ms", "p99 ms"], rows, "latency")


def notes_list(journal: Journal) -> str:
    """The journal's notes for the operator, or '' when there are none."""
    notes = [e for e in journal.events if e.get("k") == "note"]
    items = "".join(f'<li class="note-{text(n.get("level"))}">{text(n.get("level"))}: '
                    f'{text(n.get("msg"))}</li>' for n in notes)
    return f'<ul class="notes">{items}</ul>' if items else ""


def _objective_seconds(block: dict[str, Any]) -> str:
    value = block.get("objective_seconds")
    return "none set" if value is None else f"{value:g} s"


def _predicted(predicted: dict[str, Any] | None) -> str:
    if not predicted or not predicted.get("samples"):
        return "no replica samples"
    age = seconds_text(predicted.get("age_seconds_max"))
    return f"{value_text(predicted.get('seq_behind_max'))} behind, {age} old at most"


def _truth(truth: dict[str, Any] | None) -> str:
    if truth is None:
        return "n/a (real drill)"
    ranges = ranges_text(truth.get("lost_ranges"))
    return f"{truth.get('lost_writes')} lost" + (f" ({ranges})" if ranges else "")
