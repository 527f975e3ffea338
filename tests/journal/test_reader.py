"""Reading journal files: the bulk path, the orjson path, cut and empty files, block edges."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from drdrill.journal import blocks
from drdrill.journal.reader import Journal, JournalFormatError, read_journal
from drdrill.journal.writer import JournalWriter
from drdrill.measure.summary import summarize
from drdrill.probes.base import ErrorKind, OpResult, Outcome
from drdrill.probes.ticker import OpRecord
from drdrill.reports.summary_file import summary_bytes

T0 = 1_000_000_000_000
MS = 1_000_000


def op(p: str, s: int, i_ms: int, o: str = "ok", e: str | None = None, r: str = "primary",
       v: int | None = None) -> dict[str, Any]:
    return {"k": "op", "p": p, "s": s, "d": T0 + i_ms * MS, "i": T0 + i_ms * MS,
            "c": T0 + i_ms * MS + 3 * MS, "o": o, "e": e, "r": r, "v": v}


def drill_records() -> list[dict[str, Any]]:
    """A small drill: pg-write loses seqs 8-9 and recovers at 703 ms; pg-lag watches it."""
    probes = [{"name": "pg-write", "kind": "postgres.write", "role": "write",
               "store": "pg-write", "target": "primary", "interval_ns": 100 * MS,
               "timeout_ns": 1000 * MS, "critical": True, "watches": None},
              {"name": "pg-lag", "kind": "postgres.replica", "role": "read", "store": None,
               "target": "secondary", "interval_ns": 100 * MS, "timeout_ns": 1000 * MS,
               "critical": False, "watches": "pg-write"}]
    records: list[dict[str, Any]] = [
        {"k": "run", "run_id": "r1", "drill": "d", "clock": {"mono_ns": T0 - 2000 * MS,
                                                              "utc": "2026-12-03T12:00:00+00:00"},
         "objectives": {"rto_seconds": 30.0, "rpo_seconds": 5.0}, "stable_window_s": 0.3,
         "probes": probes, "stores": [{"name": "pg-write", "kind": "postgres",
                                       "probe": "pg-write", "replication": "streaming"}]},
        {"k": "phase", "name": "baseline", "t": T0 - 1000 * MS}]
    records += [op("pg-write", n, -1000 + 100 * n) for n in range(10)]
    records += [op("pg-lag", n, -950 + 100 * n, v=n - 1 if n else None, r="secondary")
                for n in range(10)]
    records += [{"k": "fault", "event": "inject", "kind": "process.kill", "target": "primary",
                 "t": T0, "ok": True, "error": None},
                op("pg-write", 10, 0, o="fail", e="refused"),
                op("pg-write", 11, 100, o="info", e="timeout"),
                {"k": "late", "p": "pg-write", "from": 12, "to": 13, "t": T0 + 400 * MS}]
    records += [op("pg-write", 14 + n, 700 + 100 * n, r="secondary") for n in range(10)]
    records += [{"k": "final_read", "store": "pg-write", "target": "secondary",
                 "t": T0 + 3000 * MS, "ok": True, "error": None, "ranges": [[0, 7], [14, 23]],
                 "dups": [], "rows": 18},
                {"k": "end", "t": T0 + 3100 * MS, "status": "completed", "reason": None}]
    return records


def write_lines(path: Path, records: list[dict[str, Any]], tail: bytes = b"") -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records) + tail)
    return path


def assert_same_journal(read: Journal, built: Journal) -> None:
    """Same header, events, ops (row order aside) and dtypes."""
    assert read.header == built.header
    assert read.events == built.events
    assert read.ops.dtypes.to_dict() == built.ops.dtypes.to_dict()
    order = ["p", "s"]
    left = read.ops.astype({"p": str, "o": str, "e": object, "r": object})
    right = built.ops.astype({"p": str, "o": str, "e": object, "r": object})
    pd.testing.assert_frame_equal(left.sort_values(order).reset_index(drop=True),
                                  right.sort_values(order).reset_index(drop=True))


def test_file_and_records_give_the_same_summary(tmp_path: Path) -> None:
    records = drill_records()
    read = read_journal(write_lines(tmp_path / "journal.jsonl", records))
    built = Journal.from_records(records)

    assert_same_journal(read, built)
    assert not read.truncated
    assert summary_bytes(summarize(read)) == summary_bytes(summarize(built))
    assert summarize(read)["rto"] == {"seconds": 0.703, "bound_seconds": 1.1,
                                      "probe": "pg-write", "verdict": "met"}


def test_ops_frame_columns_and_dtypes(tmp_path: Path) -> None:
    ops = read_journal(write_lines(tmp_path / "journal.jsonl", drill_records())).ops

    assert list(ops.columns) == ["p", "s", "d", "i", "c", "o", "e", "r", "v"]
    assert {key: str(ops[key].dtype) for key in ("s", "d", "i", "c", "v")} == {
        "s": "int64", "d": "int64", "i": "int64", "c": "int64", "v": "float64"}
    assert list(ops["o"].cat.categories) == ["ok", "fail", "info"]
    assert sorted(ops["p"].cat.categories) == ["pg-lag", "pg-write"]
    # 32 ops; 2 carry an error; only pg-lag's ops 1..9 carry a `v`.
    assert (len(ops), int(ops["e"].isna().sum()), int(ops["v"].isna().sum())) == (32, 30, 23)
    lag = ops[ops["p"] == "pg-lag"].sort_values("s")
    assert np.isnan(lag["v"].iloc[0])
    assert lag["v"].tolist()[1:4] == [0.0, 1.0, 2.0]


def test_cut_last_line_is_dropped_and_the_rest_measured(tmp_path: Path) -> None:
    records = drill_records()
    cut = orjson.dumps(records[-1])[:25]
    read = read_journal(write_lines(tmp_path / "journal.jsonl", records[:-1], tail=cut))

    assert read.truncated
    assert_same_journal(read, Journal.from_records(records[:-1]))
    summary = summarize(read)
    assert (summary["status"], summary["verdict"], summary["abort_reason"]) == (
        "aborted", "aborted",
        "the journal has no end record: the run crashed (its last line was cut short)")
    assert summary["rto"]["seconds"] == 0.703


def test_empty_file_gives_an_empty_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"")
    read = read_journal(path)

    assert (read.header, read.events, len(read.ops), read.truncated) == (None, [], 0, False)
    assert read.ops.dtypes.to_dict() == Journal.empty().ops.dtypes.to_dict()


def test_lines_the_bulk_parser_refuses_are_parsed_with_orjson(tmp_path: Path) -> None:
    # A target with a colon, a probe name with an escaped quote, a line written with spaces,
    # keys in another order, and DNS extra keys after `v`: each in its own small file, so that
    # each makes its block fall back (or, for spaces, its line).
    odd = [
        op("pg-write", 0, 0, r="db:5432"),
        op('pg-"w"', 0, 0),
        dict(reversed(list(op("pg-write", 0, 0).items()))),
        {**op("dns", 0, 0), "a": "10.0.0.1,10.0.0.2", "ttl": 60},
    ]
    for n, record in enumerate(odd):
        records = [op("pg-write", 1, 100), record, op("pg-write", 2, 200)]
        path = write_lines(tmp_path / f"j{n}.jsonl", records)
        assert_same_journal(read_journal(path), Journal.from_records(records))

    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text("\n".join(json.dumps(record) for record in drill_records()) + "\n")
    assert_same_journal(read_journal(spaced), Journal.from_records(drill_records()))


def test_blocks_smaller_than_a_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 64-byte blocks: every op line spans two reads, the header many (the buffer grows).
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 64)
    records = drill_records()
    read = read_journal(write_lines(tmp_path / "journal.jsonl", records))

    assert_same_journal(read, Journal.from_records(records))


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    records = drill_records()
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(record) + b"\n" for record in records))

    assert_same_journal(read_journal(path), Journal.from_records(records))


def test_a_broken_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(orjson.dumps(op("pg-write", 0, 0)) + b"\n{\"k\": \"phase\", \n"
                     + orjson.dumps(op("pg-write", 1, 100)) + b"\n")

    with pytest.raises(JournalFormatError, match="journal line 2 is not JSON"):
        read_journal(path)


def test_op_without_a_probe_is_an_error() -> None:
    with pytest.raises(JournalFormatError, match="op record without p"):
        Journal.from_records([{**op("x", 0, 0), "p": None}])


def test_unknown_outcome_is_an_error() -> None:
    with pytest.raises(JournalFormatError, match="op outcome 'maybe' is not one of ok, fail"):
        Journal.from_records([op("x", 0, 0, o="maybe")])


def test_the_writer_output_takes_the_bulk_path(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    # Ops as the ticker journals them, through the real journal writer.
    path = tmp_path / "journal.jsonl"
    writer = JournalWriter(path)
    results = [OpResult(Outcome.OK, value=3), OpResult(Outcome.FAIL, ErrorKind.REFUSED),
               OpResult(Outcome.INFO, ErrorKind.TIMEOUT)]
    for seq in range(300):
        record = OpRecord(probe="pg-write", seq=seq, due_ns=T0 + seq, invoke_ns=T0 + seq + 1,
                          complete_ns=T0 + seq + 9, result=results[seq % 3], target="primary")
        writer.write(record.as_journal())
    writer.close()

    with caplog.at_level(logging.DEBUG, logger="drdrill.journal"):
        read = read_journal(path)

    assert not [r for r in caplog.records if "orjson" in r.getMessage()]
    assert len(read.ops) == 300
    assert read.ops["o"].value_counts().to_dict() == {"ok": 100, "fail": 100, "info": 100}
    assert read.ops["v"].sum() == 300.0


def test_non_integer_times_are_an_error() -> None:
    with pytest.raises(JournalFormatError, match="op record with a non-integer c, v"):
        Journal.from_records([{**op("x", 0, 0), "c": 1.5, "v": "seven"}])
