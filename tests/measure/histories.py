"""Small hand-written journals for the measurement tests.

Times are given in milliseconds from T0 and journaled in nanoseconds (T0 = 1000 s on the
monotonic clock), so that a test reads like the timeline it describes.
"""

from __future__ import annotations

from typing import Any

from drdrill.journal.reader import Journal

T0_NS = 1_000_000_000_000
MS = 1_000_000


def at(ms: float) -> int:
    """The journal time of `ms` milliseconds after T0."""
    return T0_NS + round(ms * MS)


def probe(name: str, kind: str = "postgres.write", role: str = "write",
          interval_ms: int = 100, timeout_ms: int = 1000, critical: bool = True,
          watches: str | None = None) -> dict[str, Any]:
    """One probe of the `run` header."""
    return {"name": name, "kind": kind, "role": role,
            "store": name if role == "write" else None, "target": "primary",
            "interval_ns": interval_ms * MS, "timeout_ns": timeout_ms * MS,
            "critical": critical, "watches": watches}


def store(name: str, kind: str = "postgres", replication: str = "streaming") -> dict[str, Any]:
    """One store of the `run` header (a write probe's heartbeats)."""
    return {"name": name, "kind": kind, "probe": name, "replication": replication}


def header(probes: list[dict[str, Any]], stores: list[dict[str, Any]] | None = None,
           rto_s: float | None = 30.0, rpo_s: float | None = 5.0,
           stable_window_s: float = 0.3) -> dict[str, Any]:
    """The `run` record; the clock maps 10 s before T0 to 12:00:00 UTC."""
    return {"k": "run", "run_id": "20261203T120000Z-ab12cd", "drill": "hand-written",
            "drill_file": "drill.yaml", "drill_sha256": "0" * 64,
            "clock": {"mono_ns": at(-10_000), "utc": "2026-12-03T12:00:00+00:00"},
            "versions": {}, "objectives": {"rto_seconds": rto_s, "rpo_seconds": rpo_s},
            "stable_window_s": stable_window_s, "probes": probes,
            "stores": stores if stores is not None else [], "sim": None}


def op(p: str, s: int, i_ms: float, c_ms: float, o: str = "ok", e: str | None = None,
       r: str = "primary", v: int | None = None) -> dict[str, Any]:
    """One op record; `d` is taken equal to `i`."""
    return {"k": "op", "p": p, "s": s, "d": at(i_ms), "i": at(i_ms), "c": at(c_ms), "o": o,
            "e": e, "r": r, "v": v}


def ticks(p: str, first_ms: float, count: int, interval_ms: float = 100, took_ms: float = 2,
          o: str = "ok", e: str | None = None, first_seq: int = 0, r: str = "primary",
          ) -> list[dict[str, Any]]:
    """`count` ops of probe `p`, one per interval from `first_ms`, each taking `took_ms`."""
    return [op(p, first_seq + n, first_ms + n * interval_ms,
               first_ms + n * interval_ms + took_ms, o=o, e=e, r=r) for n in range(count)]


def phase(name: str, t_ms: float) -> dict[str, Any]:
    return {"k": "phase", "name": name, "t": at(t_ms)}


def inject(t_ms: float = 0) -> dict[str, Any]:
    return {"k": "fault", "event": "inject", "kind": "process.kill", "target": "primary",
            "t": at(t_ms), "ok": True, "error": None}


def step(name: str, start_ms: float, end_ms: float, promotes: list[dict[str, Any]] | None = None,
         detail: dict[str, Any] | None = None, ok: bool = True) -> list[dict[str, Any]]:
    """The start and end records of one step."""
    base = {"k": "step", "name": name, "kind": "postgres.promote", "target": "secondary"}
    return [{**base, "event": "start", "t": at(start_ms)},
            {**base, "event": "end", "t": at(end_ms), "ok": ok, "error": None if ok else "boom",
             "promotes": promotes or [], "detail": detail or {}}]


def final_read(store_name: str, ranges: list[list[int]], dups: list[list[int]] | None = None,
               ok: bool = True, t_ms: float = 60_000) -> dict[str, Any]:
    rows = sum(last - first + 1 for first, last in ranges) + sum(n - 1 for _, n in dups or [])
    return {"k": "final_read", "store": store_name, "target": "secondary", "t": at(t_ms),
            "ok": ok, "error": None if ok else "connection refused", "ranges": ranges,
            "dups": dups or [], "rows": rows}


def end(status: str = "completed", reason: str | None = None,
        t_ms: float = 61_000) -> dict[str, Any]:
    return {"k": "end", "t": at(t_ms), "status": status, "reason": reason}


def journal(*parts: dict[str, Any] | list[dict[str, Any]]) -> Journal:
    """A Journal of the records given (single records or lists of them), in that order."""
    records: list[dict[str, Any]] = []
    for part in parts:
        records.extend(part if isinstance(part, list) else [part])
    return Journal.from_records(records)
