"""drdrill: run disaster-recovery drills and measure RTO and RPO against what really happened."""

__version__ = "0.1.0"
