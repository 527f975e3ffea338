"""DNS convergence, flips, INSYNC and first stable HTTP in summary.json's decomposition, on
small hand-written journals whose right values are known; and the reader keeping a DNS op's
`a` and `ttl` whichever way it parses the line.

Times are milliseconds from T0 (T0 = 1000 s on the monotonic clock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from drdrill.journal.reader import Journal, read_journal
from drdrill.measure.dns import DnsConvergence, answers_by_probe, dns_convergence
from drdrill.measure.summary import summarize

T0 = 1_000_000_000_000
MS = 1_000_000
OLD, NEW = "10.0.0.1", "10.0.1.1"


def at(ms: float) -> int:
    return T0 + round(ms * MS)


def dns_op(s: int, i_ms: float, a: str | None, ttl: int | None = 5,
           o: str = "ok") -> dict[str, Any]:
    """A DNS op taking 2 ms; `a` None is a query that got no answer."""
    return {"k": "op", "p": "dns", "s": s, "d": at(i_ms), "i": at(i_ms), "c": at(i_ms + 2),
            "o": o, "e": None if o == "ok" else "timeout", "r": "app.example.test", "v": None,
            "a": a, "ttl": ttl if a is not None else None}


def http_op(s: int, i_ms: float, o: str) -> dict[str, Any]:
    return {"k": "op", "p": "http", "s": s, "d": at(i_ms), "i": at(i_ms), "c": at(i_ms + 3),
            "o": o, "e": None if o == "ok" else "refused", "r": "app.example.test",
            "v": 201 if o == "ok" else None}


def dns_ops(answers: list[str | None], first_ms: float = -300) -> list[dict[str, Any]]:
    """One DNS op per 100 ms from `first_ms`, answering in turn what `answers` lists."""
    return [dns_op(n, first_ms + 100 * n, a, o="ok" if a else "fail")
            for n, a in enumerate(answers)]


def probe(name: str, kind: str, critical: bool) -> dict[str, Any]:
    return {"name": name, "kind": kind, "role": "read", "store": None, "target": name,
            "interval_ns": 100 * MS, "timeout_ns": 1000 * MS, "critical": critical,
            "watches": None}


def flip(name: str, start_ms: float, insync_ms: float) -> list[dict[str, Any]]:
    base = {"k": "step", "name": name, "kind": "route53.flip", "target": None}
    detail = {"zone": "Z1", "change_id": "/change/C1", "submitted_t": at(start_ms + 1),
              "insync_t": at(insync_ms), "previous": [], "records": []}
    return [{**base, "event": "start", "t": at(start_ms)},
            {**base, "event": "end", "t": at(insync_ms + 1), "ok": True, "error": None,
             "promotes": [], "detail": detail}]


def journal(ops: list[dict[str, Any]], steps: list[dict[str, Any]] | None = None,
            failback: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """A whole run: header, phases, the fault at T0, the steps, the ops, the end."""
    return [
        {"k": "run", "run_id": "r1", "drill": "dns", "drill_file": "d.yaml",
         "drill_sha256": "0" * 64,
         "clock": {"mono_ns": at(-1000), "utc": "2026-12-03T12:00:00+00:00"},
         "versions": {}, "objectives": {"rto_seconds": 30.0}, "stable_window_s": 0.3,
         "probes": [probe("dns", "dns.query", False), probe("http", "http.request", True)],
         "stores": [], "sim": None},
        {"k": "phase", "name": "baseline", "t": at(-500)},
        {"k": "phase", "name": "fault", "t": at(-1)},
        {"k": "fault", "event": "inject", "kind": "process.kill", "target": "x", "t": at(0),
         "ok": True, "error": None},
        {"k": "phase", "name": "failover", "t": at(1)},
        *(steps or []),
        {"k": "phase", "name": "recovery", "t": at(260)},
        *ops,
        {"k": "phase", "name": "failback", "t": at(2000)},
        *(failback or []),
        {"k": "end", "t": at(3000), "status": "completed", "reason": None},
    ]


def converge(answers: list[str | None]) -> DnsConvergence:
    built = Journal.from_records(journal(dns_ops(answers)))
    return dns_convergence(answers_by_probe(built.ops, built.extras, ["dns"])["dns"], T0)


def test_convergence_is_the_last_op_after_t0_that_saw_the_old_answer() -> None:
    # Ops at -300, -200, -100, 0, 100, 200, 300...: the old answer until 200 ms.
    result = converge([OLD, OLD, OLD, OLD, OLD, OLD, NEW, NEW, NEW])

    assert result == DnsConvergence("dns", at(202), 1, NEW)


def test_answers_back_and_forth_count_every_flip() -> None:
    result = converge([OLD, OLD, OLD, NEW, OLD, NEW, OLD, NEW, NEW])

    assert result == DnsConvergence("dns", at(302), 5, NEW)


def test_a_change_in_force_at_t0_counts_as_one_flip() -> None:
    # The new answer was first seen by the op at 0 ms; the last old one completed before T0.
    result = converge([OLD, OLD, OLD, NEW, NEW, NEW])

    assert result == DnsConvergence("dns", None, 1, NEW)


def test_an_answer_that_never_changed_never_converged() -> None:
    assert converge([OLD] * 6) == DnsConvergence("dns", None, 0, OLD)


def test_queries_without_an_answer_are_left_out() -> None:
    result = converge([OLD, OLD, OLD, OLD, None, OLD, None, NEW, NEW])

    assert result == DnsConvergence("dns", at(202), 1, NEW)


def test_an_op_cancelled_by_its_timeout_carries_no_answer_and_is_left_out() -> None:
    records = journal(dns_ops([OLD, OLD, OLD, OLD, OLD, NEW, NEW]))
    timed_out = {"k": "op", "p": "dns", "s": 7, "d": at(400), "i": at(400), "c": at(1400),
                 "o": "fail", "e": "timeout", "r": "app.example.test", "v": None}
    built = Journal.from_records(records + [timed_out])

    answers = answers_by_probe(built.ops, built.extras, ["dns"])["dns"]

    assert answers.c.tolist() == [at(-298), at(-198), at(-98), at(2), at(102), at(202), at(302)]
    assert dns_convergence(answers, T0) == DnsConvergence("dns", at(102), 1, NEW)


def test_the_decomposition_shows_insync_convergence_and_first_stable_http() -> None:
    ops = dns_ops([OLD] * 7 + [NEW] * 8)  # old until the op at 300 ms
    ops += [http_op(n, -300 + 100 * n, "ok" if n < 3 or n >= 8 else "fail") for n in range(15)]
    steps = flip("flip-app", 150, 250)
    failback = flip("flip-back", 2100, 2200)  # a failback flip is not part of the failover
    summary = summarize(Journal.from_records(journal(ops, steps, failback)))

    decomposition = summary["decomposition"]
    assert decomposition["insync_seconds"] == 0.25
    assert decomposition["dns_converged_seconds"] == 0.302
    # HTTP fails from 0 ms; ok from 500 ms on, stable for the 0.3 s window: recovered at the
    # completion of the op at 500 ms.
    assert decomposition["first_stable_http_seconds"] == 0.503
    assert decomposition["dns_probes"] == [{"probe": "dns", "converged_seconds": 0.302,
                                            "bound_seconds": 0.1, "flips": 1,
                                            "final_answer": NEW}]
    assert [s["name"] for s in decomposition["steps"]] == ["flip-app"]


def test_without_dns_probes_there_is_no_convergence() -> None:
    records = [r for r in journal([http_op(n, -300 + 100 * n, "ok") for n in range(10)])
               if r.get("k") != "run"]
    header = journal([])[0]
    header = {**header, "probes": [probe("http", "http.request", True)]}
    summary = summarize(Journal.from_records([header, *records]))

    assert summary["decomposition"]["dns_converged_seconds"] is None
    assert summary["decomposition"]["dns_probes"] == []
    assert summary["decomposition"]["insync_seconds"] is None


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))


def _answers(built: Journal) -> list[tuple[int, str, int]]:
    rows = built.ops.loc[built.extras.index]
    return list(zip(rows["s"].tolist(), built.extras["a"].tolist(),
                    built.extras["ttl"].tolist(), strict=True))


def test_the_reader_keeps_answers_of_ops_parsed_in_bulk(tmp_path: Path) -> None:
    ops = dns_ops([OLD, NEW, "10.0.0.1,10.0.0.2"])
    ops += [http_op(n, 100 * n, "ok") for n in range(3)]
    path = tmp_path / "journal.jsonl"
    _write(path, journal(ops))

    built = read_journal(path)

    assert _answers(built) == [(0, OLD, 5), (1, NEW, 5), (2, "10.0.0.1,10.0.0.2", 5)]
    assert built.ops["p"].value_counts().to_dict() == {"dns": 3, "http": 3}


def test_the_reader_keeps_answers_of_ops_parsed_one_by_one(tmp_path: Path) -> None:
    # A probe name with an escape makes the bulk parser hand its block to orjson.
    ops = dns_ops([OLD, NEW]) + [{**http_op(0, 0, "ok"), "r": 'quote"d'}]
    path = tmp_path / "journal.jsonl"
    _write(path, journal(ops))

    built = read_journal(path)

    assert _answers(built) == [(0, OLD, 5), (1, NEW, 5)]
    assert built.ops["r"].tolist()[-1] == 'quote"d'


def test_a_journal_without_extra_keys_has_an_empty_extras_frame(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    _write(path, journal([http_op(n, 100 * n, "ok") for n in range(3)]))

    assert read_journal(path).extras.equals(pd.DataFrame(index=pd.Index([], dtype="int64")))
