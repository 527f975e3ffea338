"""The simulator's scenarios: what fails, and what the truth is expected to show."""

from __future__ import annotations

from dataclasses import dataclass

# name -> one line for `--help` and errors
SCENARIOS: dict[str, str] = {
    "clickhouse-replica-behind": (
        "the ClickHouse replica runs --lag-seconds behind (replication simulated) when the"
        " primary region is killed; the writers switch to the secondary"
    ),
    "kill-primary": "SIGKILL the primary region's servers, promote the secondary",
    "partition": (
        "cut the clients from the primary (PostgreSQL) for --seconds through the fault proxy,"
        " then heal; no failover: the RTO is the partition, within its bound"
    ),
    "split-brain": (
        "cut the PostgreSQL primary from its standby (not killed), promote the standby and"
        " switch the writer; a pinned writer keeps writing to the old primary"
    ),
    "replication-paused": (
        "pause the standby's WAL receiving for --pause-seconds while the primary keeps"
        " acknowledging writes, then kill the primary region and promote"
    ),
    "nats-link-cut": (
        "cut the NATS leafnode that carries the mirror for --pause-seconds while the stream"
        " keeps acknowledging publishes, then kill the primary region and promote the mirror"
    ),
    "dns-ttl": (
        "kill the primary region, promote, and flip the service's Route53 record whose TTL is"
        " --ttl seconds, the resolver's copy of it refreshed at T0: clients converge no later"
        " than INSYNC + TTL (+ one probe interval)"
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
