"""How long `drdrill report` takes, and how much memory, on journals of 1M and 10M ops.

Generates synthetic journals (four probes at 1 ms, a fault, two promotion steps with their
route changes, lost writes, `late` gaps, final reads) into a temp directory, then times
`summarize(read_journal(path))` in a fresh subprocess per journal and reads the subprocess's
peak RSS (ru_maxrss), so that generating the journal is not counted. `total s` includes the
imports. Then times the whole `drdrill report RUN_DIR` on the same journal (summary, report.md,
report.html, junit.xml, evidence bundle), with its own peak RSS. Prints a table, asserts
nothing.

    .venv/bin/python bench/bench_analysis.py [--sizes 1000000 10000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

BASE_NS = 1_234_567_000_000_000  # a monotonic clock some two weeks after boot
INTERVAL_NS = 1_000_000
TIMEOUT_NS = 5_000_000
# probe name, kind, role, outage length after T0 (s)
PROBES = [("pg-write", "postgres.write", "write", 3.0),
          ("nats-write", "nats.write", "write", 2.0),
          ("pg-lag", "postgres.replica", "read", 3.5),
          ("api", "http", "read", 4.0)]
LOST_BEFORE_T0_S = 0.2
CHUNK_ROWS = 1_000_000


def header(t0: int) -> dict[str, Any]:
    """The `run` record of the synthetic drill."""
    probes = [{"name": name, "kind": kind, "role": role,
               "store": name if role == "write" else None, "target": "primary",
               "interval_ns": INTERVAL_NS, "timeout_ns": TIMEOUT_NS, "critical": True,
               "watches": "pg-write" if name == "pg-lag" else None}
              for name, kind, role, _ in PROBES]
    stores = [{"name": name, "kind": kind.split(".")[0], "probe": name,
               "replication": "streaming"} for name, kind, role, _ in PROBES if role == "write"]
    return {"k": "run", "run_id": "bench", "drill": "bench", "drill_file": "bench.yaml",
            "drill_sha256": "0" * 64,
            "clock": {"mono_ns": BASE_NS, "utc": "2026-12-03T12:00:00+00:00"},
            "versions": {}, "objectives": {"rto_seconds": 30.0, "rpo_seconds": 5.0},
            "stable_window_s": 2.0, "probes": probes, "stores": stores, "sim": None}


def probe_ops(index: int, n: int, t0: int, outage_s: float, rng: np.random.Generator
              ) -> dict[str, np.ndarray]:
    """Columns of one probe's ops: ok outside its outage, fail (or info timeouts) inside."""
    name, _, role, _ = PROBES[index]
    s = np.arange(n, dtype=np.int64)
    # Two `late` gaps of five ticks each: those seqs are never attempted.
    keep = ~(((s >= n // 5) & (s < n // 5 + 5)) | ((s >= n // 2) & (s < n // 2 + 5)))
    s = s[keep]
    d = BASE_NS + s * INTERVAL_NS
    i = d + rng.integers(2_000, 50_000, s.size)
    latency = rng.lognormal(np.log(400_000), 0.5, s.size).astype(np.int64)
    outcome = np.zeros(s.size, dtype=np.int8)
    outage = (i >= t0) & (i < t0 + int(outage_s * 1e9))
    outcome[outage] = 1
    timeouts = outage & (i < t0 + 50_000_000)
    if role == "write":
        outcome[timeouts] = 2
    latency[timeouts] = TIMEOUT_NS
    c = i + latency
    promoted = t0 + 1_500_000_000
    target = (i > promoted).astype(np.int8) if role == "write" else np.zeros(s.size, np.int8)
    v = np.full(s.size, -1, dtype=np.int64)
    if name == "pg-lag":
        v = np.maximum((i - BASE_NS) // INTERVAL_NS - 3, -1)
    return {"p": np.full(s.size, index, np.int8), "s": s, "d": d, "i": i, "c": c,
            "o": outcome, "e": np.where(outcome == 0, 2, np.where(timeouts, 0, 1)),
            "r": target, "v": v}


def op_lines(cols: dict[str, np.ndarray]) -> pa.Array:
    """The op lines of `cols` as orjson writes them, built by Arrow's string kernels."""
    names = pa.array([name for name, *_ in PROBES])
    outcomes = pa.array(["ok", "fail", "info"])
    errors = pa.array(['"timeout"', '"refused"', "null"])
    targets = pa.array(["primary", "secondary"])
    v = pa.array(cols["v"])
    pieces = ['{"k":"op","p":"', names.take(pa.array(cols["p"])), '","s":',
              pc.cast(pa.array(cols["s"]), pa.string()), ',"d":',
              pc.cast(pa.array(cols["d"]), pa.string()), ',"i":',
              pc.cast(pa.array(cols["i"]), pa.string()), ',"c":',
              pc.cast(pa.array(cols["c"]), pa.string()), ',"o":"',
              outcomes.take(pa.array(cols["o"])), '","e":', errors.take(pa.array(cols["e"])),
              ',"r":"', targets.take(pa.array(cols["r"])), '","v":',
              pc.if_else(pc.less(v, 0), "null", pc.cast(v, pa.string())), "}\n"]
    return pc.binary_join_element_wise(*pieces, "")


def events(t0: int, end: int, cols: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Phase marks, fault, steps, final reads and end, with the lost writes of pg-write."""
    records: list[dict[str, Any]] = [
        {"k": "phase", "name": "preflight", "t": BASE_NS - 1_000_000},
        {"k": "phase", "name": "baseline", "t": BASE_NS},
        {"k": "phase", "name": "fault", "t": t0 - 1_000},
        {"k": "fault", "event": "inject", "kind": "process.kill", "target": "primary",
         "t": t0, "ok": True, "error": None},
        {"k": "phase", "name": "failover", "t": t0 + 1_000}]
    for n, (name, _, role, _) in enumerate(PROBES):
        if role != "write":
            continue
        start = t0 + 500_000_000 + n * 10_000_000
        records.append({"k": "step", "event": "start", "name": f"promote-{name}",
                        "kind": "promote", "target": "secondary", "t": start})
        records.append({"k": "step", "event": "end", "name": f"promote-{name}",
                        "kind": "promote", "target": "secondary", "t": t0 + 1_500_000_000,
                        "ok": True, "error": None,
                        "promotes": [{"store": name, "from": "primary", "to": "secondary"}],
                        "detail": {}})
    records.append({"k": "phase", "name": "recovery", "t": t0 + 1_600_000_000})
    records.append({"k": "phase", "name": "verification", "t": end})
    for n, (name, _, role, _) in enumerate(PROBES):
        if role == "write":
            records.append(final_read(name, n, t0, end, cols))
    records.append({"k": "phase", "name": "teardown", "t": end + 2})
    records.append({"k": "end", "t": end + 3, "status": "completed", "reason": None})
    return records


def final_read(name: str, index: int, t0: int, end: int,
               cols: dict[str, np.ndarray]) -> dict[str, Any]:
    """The heartbeats found on the new primary: acked ones (pg-write loses its last 0.2 s
    before T0) and half the info ones."""
    mine = cols["p"] == index
    s, c, o = cols["s"][mine], cols["c"][mine], cols["o"][mine]
    present = (o == 0) | ((o == 2) & (s % 2 == 0))
    if name == "pg-write":
        present &= ~((c >= t0 - int(LOST_BEFORE_T0_S * 1e9)) & (c < t0) & (o == 0))
    seqs = np.sort(s[present])
    breaks = np.flatnonzero(np.diff(seqs) != 1)
    firsts = np.append(seqs[0], seqs[breaks + 1])
    lasts = np.append(seqs[breaks], seqs[-1])
    return {"k": "final_read", "store": name, "target": "secondary", "t": end + 1,
            "ok": True, "error": None, "ranges": np.stack([firsts, lasts], 1).tolist(),
            "dups": [[int(seqs[10]), 2]], "rows": int(seqs.size) + 1}


def generate(path: Path, total_ops: int) -> None:
    """Write a synthetic journal of about `total_ops` ops to `path`."""
    rng = np.random.default_rng(7)
    per_probe = total_ops // len(PROBES)
    t0 = BASE_NS + int(per_probe * 0.4) * INTERVAL_NS
    parts = [probe_ops(n, per_probe, t0, outage, rng) for n, (*_, outage) in enumerate(PROBES)]
    cols = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    order = np.argsort(cols["c"], kind="stable")
    cols = {key: value[order] for key, value in cols.items()}
    end = int(cols["c"][-1]) + 1
    records = events(t0, end, cols)
    positions = np.searchsorted(cols["c"], [record["t"] for record in records], side="right")

    with path.open("wb") as out:
        out.write(orjson.dumps(header(t0)) + b"\n")
        written = 0
        for record, position in zip(records, positions, strict=True):
            while written < position:
                stop = min(position, written + CHUNK_ROWS)
                chunk = {key: value[written:stop] for key, value in cols.items()}
                lines = op_lines(chunk)
                offsets = np.frombuffer(lines.buffers()[1], np.int32)
                first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
                out.write(lines.buffers()[2][first:last].to_pybytes())
                written = stop
            out.write(orjson.dumps(record) + b"\n")


def analyse(path: Path) -> None:
    """Child process: time the analysis of `path`, print wall times and peak RSS as JSON."""
    started = time.perf_counter()
    from drdrill.journal.reader import read_journal
    from drdrill.measure.summary import summarize

    imported = time.perf_counter()
    journal = read_journal(path)
    read = time.perf_counter()
    summary = summarize(journal)
    done = time.perf_counter()
    print(json.dumps({
        "ops": len(journal.ops), "import_s": imported - started, "read_s": read - imported,
        "summarize_s": done - read, "wall_s": done - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rto_s": summary["rto"]["seconds"], "rpo_s": summary["rpo"]["seconds"],
        "lost": [store["lost_writes"] for store in summary["stores"]]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    parser.add_argument("--generate", nargs=2, metavar=("PATH", "OPS"), help=argparse.SUPPRESS)
    parser.add_argument("--analyse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(Path(args.generate[0]), int(args.generate[1]))
        return
    if args.analyse:
        analyse(args.analyse)
        return

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        # Other processes on a 2-core machine change the wall times: the table says how busy
        # the machine was.
        print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
        print(f"{'ops':>10} {'MB':>7} {'gen s':>6} {'read s':>7} {'summ s':>7} {'total s':>8}"
              f" {'peak RSS MB':>12} {'report s':>9} {'report MB':>10}  RTO s / RPO s / lost")
        for size in args.sizes:
            run_dir = folder / f"run-{size}"
            run_dir.mkdir(exist_ok=True)
            path = run_dir / "journal.jsonl"
            began = time.perf_counter()
            # Both steps run in children of this small process: ru_maxrss survives exec, so
            # a child forked from a process holding a generated journal would report its size.
            subprocess.run([sys.executable, __file__, "--generate", str(path), str(size)],
                           check=True)
            generated = time.perf_counter() - began
            child = subprocess.run([sys.executable, __file__, "--analyse", str(path)],
                                   check=True, capture_output=True, text=True)
            result = json.loads(child.stdout.strip().splitlines()[-1])
            report_s, report_mb = time_report(run_dir)
            print(f"{result['ops']:>10} {path.stat().st_size / 1e6:>7.0f} {generated:>6.1f}"
                  f" {result['read_s']:>7.2f} {result['summarize_s']:>7.2f}"
                  f" {result['wall_s']:>8.2f} {result['peak_rss_mb']:>12.0f}"
                  f" {report_s:>9.2f} {report_mb:>10.0f}"
                  f"  {result['rto_s']} / {result['rpo_s']} / {result['lost']}")


def time_report(run_dir: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of `drdrill report RUN_DIR` in its own process."""
    drdrill = Path(sys.executable).with_name("drdrill")
    began = time.perf_counter()
    child = subprocess.Popen([str(drdrill), "report", str(run_dir)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024


if __name__ == "__main__":
    main()
