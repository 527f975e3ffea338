"""The simulator's ground truth: what an old primary holds that the new one lacks.

Worked out from the servers' own contents, never from the probes' outcomes, so that the
measurement can be checked against it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from drdrill.probes.base import seqs_to_ranges

logger = logging.getLogger(__name__)


def lost_writes_truth(
    store: str, held: np.ndarray, kept: np.ndarray, method: str, **extra: Any
) -> dict[str, Any]:
    """The `truth` record of one store: seqs in `held` (the old primary) missing from `kept`."""
    lost = np.setdiff1d(held, kept)
    ranges, _ = seqs_to_ranges(lost)
    logger.info("sim truth store=%s lost=%d ranges=%s", store, lost.size, ranges)
    return {
        "k": "truth",
        "store": store,
        "lost_writes": int(lost.size),
        "lost_ranges": ranges,
        "old_primary_rows": int(np.unique(held).size),
        "new_primary_rows": int(np.unique(kept).size),
        "method": method,
        **extra,
    }
