"""The simulator's scenarios: what fails, and what the truth is expected to show."""

from __future__ import annotations

from dataclasses import dataclass

# name -> one line for `--help` and errors
SCENARIOS: dict[str, str] = {
    "kill-primary": "SIGKILL the primary region's servers, promote the secondary",
    "replication-paused": (
        "pause the standby's WAL receiving for --pause-seconds while the primary keeps"
        " acknowledging writes, then kill the primary region and promote"
    ),
}


@dataclass(frozen=True)
class ScenarioOptions:
    """The scenario chosen on the command line and its knobs."""

    name: str = "kill-primary"
    pause_seconds: float = 3.0  # replication-paused, nats-link-cut: how long the link is cut
    lag_seconds: float = 2.0  # clickhouse-replica-behind: how far the replica runs behind
    ttl_seconds: float = 5.0  # dns-ttl: the TTL of the flipped record
    seconds: float = 4.0  # partition: how long clients are cut from the primary
    baseline_seconds: float = 3.0
    stable_window_seconds: float = 2.0
    interval_ms: int = 100


def known_scenarios() -> list[str]:
    """Scenario names, as `--scenario` accepts them."""
    return sorted(SCENARIOS)
