"""DNS convergence and flips, from the DNS probes' answers (a DNS op's `a`, docs/journal.md).

Definitions (DESIGN.md, "DNS convergence"):
- the final answer of a probe is the answer of its last answered op;
- its convergence is the completion time of the last op after T0 whose answer differs from the
  final one: when it last saw the old answer. None when no op after T0 saw another answer (the
  answer never changed, or changed before T0). The instant lies between that op and the next,
  so it is reported with a bound of one probe interval;
- its flips count the changes of answer from one answered op to the next, from the answer in
  force at T0 on: 1 for a clean flip, more when resolvers answered old and new in turn.

Ops without an answer (failed queries, timeouts) are left out: they saw neither answer.
Known shortcoming: a convergence that precedes INSYNC is reported as measured. It happens when
the resolver's cached copy of the old answer expired in the last probe interval before the
change was submitted: no probe saw the old answer after INSYNC, and the instant lies within
the bound of INSYNC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

DNS_KIND = "dns.query"


@dataclass(frozen=True)
class DnsAnswers:
    """One DNS probe's answered ops in invoke order: completion times and answer codes
    (indexes into `answers`)."""

    name: str
    c: np.ndarray
    code: np.ndarray
    answers: tuple[str, ...]


@dataclass(frozen=True)
class DnsConvergence:
    """What one DNS probe saw around the failover; `converged` in ns, None when it saw no
    other answer after T0."""

    name: str
    converged: int | None
    flips: int
    final_answer: str | None


def answers_by_probe(ops: pd.DataFrame, extras: pd.DataFrame,
                     probes: list[str]) -> dict[str, DnsAnswers]:
    """The answered ops of each probe named in `probes`; returns {probe: DnsAnswers}.

    `extras` holds the keys ops carried after `v`, indexed by the op's row in `ops`.
    """
    empty = {name: DnsAnswers(name, np.empty(0, np.int64), np.empty(0, np.int64), ())
             for name in probes}
    if extras.empty or "a" not in extras.columns:
        return empty

    answered = extras["a"].dropna()
    rows = answered.index.to_numpy()
    frame = pd.DataFrame({"p": ops["p"].to_numpy()[rows], "i": ops["i"].to_numpy()[rows],
                          "c": ops["c"].to_numpy()[rows], "o": ops["o"].to_numpy()[rows],
                          "a": answered.to_numpy()})
    frame = frame[(frame["o"] == "ok") & frame["p"].isin(probes)]
    for name, mine in frame.groupby("p", sort=False, observed=True):
        mine = mine.sort_values("i", kind="stable")
        codes, uniques = pd.factorize(mine["a"])
        empty[str(name)] = DnsAnswers(str(name), mine["c"].to_numpy(np.int64),
                                      codes.astype(np.int64), tuple(str(u) for u in uniques))
    return empty


def dns_convergence(answers: DnsAnswers, t0: int | None) -> DnsConvergence:
    """Convergence and flips of one probe after `t0` (see the module's definitions)."""
    if t0 is None or not answers.code.size:
        return DnsConvergence(answers.name, None, 0, None)

    final = answers.code[-1]
    final_answer = answers.answers[final]
    after = np.flatnonzero(answers.c >= t0)
    if not after.size:
        return DnsConvergence(answers.name, None, 0, final_answer)

    first_after = int(after[0])

    # The answer in force at T0 is that of the last op before it: a change from it is a flip.
    since_t0 = answers.code[max(first_after - 1, 0):]
    flips = int(np.count_nonzero(since_t0[1:] != since_t0[:-1]))
    old = np.flatnonzero(answers.code[first_after:] != final)
    converged = int(answers.c[first_after + old[-1]]) if old.size else None
    logger.debug("dns convergence probe=%s converged=%s flips=%d", answers.name, converged,
                 flips)
    return DnsConvergence(answers.name, converged, flips, final_answer)
