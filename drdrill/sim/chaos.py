"""The simulator's network scenarios, built on the fault proxy: `partition` and `split-brain`.

- `partition`: the clients' link to the primary is cut both ways for `--seconds`, then
  healed by the fault's own lift; nothing fails over. Every probe that goes through the link
  is down for the partition, so its RTO is the partition's length, within its bound.
- `split-brain`: the primary is cut from its standby (the replication link), not killed; the
  standby is promoted and the regular writer switched to it, while a pinned writer keeps
  writing to the old primary, which still answers. Those writes, acknowledged after the
  promotion by a primary nobody replicates from any more, are the split-brain writes.

The faults are ordinary `proxy.partition` faults and the rollback an ordinary `proxy.heal`
step, aimed at the proxy's control port, so the drill file the simulator writes is one a
user could write against their own proxy.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import orjson

from drdrill.clock import ClockMapping
from drdrill.sim.component import SimEnv

logger = logging.getLogger(__name__)

CHAOS_SCENARIOS = frozenset({"partition", "split-brain"})


def cut_faults(env: SimEnv, links: list[str], duration_s: float | None) -> list[dict[str, Any]]:
    """`proxy.partition` faults (both ways) on `links`, lifted after `duration_s` if given."""
    timing = {"duration_seconds": duration_s} if duration_s is not None else {}
    return [
        {"kind": "proxy.partition", "proxy": env.proxy_control, "link": link,
         "direction": "both", **timing}
        for link in links
    ]


def heal_step(env: SimEnv, name: str, links: list[str]) -> dict[str, Any]:
    """A `proxy.heal` rollback step that puts `links` back to pass."""
    return {"kind": "proxy.heal", "name": name, "proxy": env.proxy_control, "links": links,
            "timeout_seconds": 10}


def promotion_instant(journal_path: Path, step_kind: str) -> int | None:
    """The end instant (monotonic ns) of the first completed `step_kind` step that promoted a
    store, read from the run's journal; None when no such step completed."""
    with journal_path.open("rb") as journal:
        for line in journal:
            if b'"k":"step"' not in line or b'"event":"end"' not in line:
                continue
            record = orjson.loads(line)
            if record["kind"] == step_kind and record["ok"] and record["promotes"]:
                return int(record["t"])
    return None


async def seqs_written_after(
    dsn: str, table: str, run_id: str, probe: str, after_ns: int, clock: ClockMapping,
) -> np.ndarray:
    """Sorted seqs of `probe`'s heartbeats on one server whose transaction began after the
    harness instant `after_ns`, by the server's own `now()` stored in `sent_at`.

    The server and the harness share this machine's clock, so the instant is compared in UTC
    through the run's clock mapping. The truth this gives can differ from the measurement by
    the one write in flight at that instant: one whose transaction began before it and whose
    acknowledgement reached the harness after it (a window of about a millisecond).
    """
    after = clock.to_utc(after_ns)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch(
            f"SELECT seq FROM {table} WHERE run_id = $1 AND probe = $2 AND sent_at > $3"
            " ORDER BY seq",
            run_id, probe, after,
        )
    finally:
        await conn.close()
    return np.array([row[0] for row in rows], dtype=np.int64)
