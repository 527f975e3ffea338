"""What each `route53.flip` replaced, so that a later flip with `to: previous` can put it back.

Steps receive only the drill and its probes, never the journal, so the state a flip replaced
is kept here, in memory, per drill (the `DrillFile` object of one run). The journal holds the
same state in the step's `detail.previous`, for an operator restoring by hand after a crash.

Known shortcoming: an entry lives as long as the process unless a `previous` flip consumes it;
a process running many drills that flip without ever flipping back keeps a few dicts per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def fqdn(name: str) -> str:
    """A record name as Route53 spells it in answers: lower case, with the trailing dot."""
    return name.lower().rstrip(".") + "."


@dataclass(frozen=True)
class RecordKey:
    """A record set's identity in Route53: zone, name (with trailing dot), type, set id."""

    zone: str
    name: str
    type: str
    set_identifier: str | None

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a ResourceRecordSet of a listing is this one."""
        return (fqdn(str(record["Name"])) == self.name and record["Type"] == self.type
                and record.get("SetIdentifier") == self.set_identifier)

    def describe(self) -> str:
        """`name type` or `name type [set id]`, for messages."""
        suffix = f" [{self.set_identifier}]" if self.set_identifier is not None else ""
        return f"{self.name} {self.type}{suffix}"


# (id of the drill, record key) -> (the drill, kept alive so that its id is not reused; the
# record set the first flip replaced, None when the record did not exist)
_PREVIOUS: dict[tuple[int, RecordKey], tuple[Any, dict[str, Any] | None]] = {}


def remember_previous(drill: Any, key: RecordKey, record: dict[str, Any] | None) -> None:
    """Keep what a flip replaces; a record flipped twice keeps its state before the first."""
    _PREVIOUS.setdefault((id(drill), key), (drill, record))


def recall_previous(drill: Any, key: RecordKey) -> tuple[bool, dict[str, Any] | None]:
    """(found, record set before this drill's first flip of it; None when it was absent)."""
    entry = _PREVIOUS.get((id(drill), key))
    if entry is None:
        return False, None
    return True, entry[1]


def forget_previous(drill: Any, key: RecordKey) -> None:
    """Drop the memory once the record is back as it was."""
    _PREVIOUS.pop((id(drill), key), None)
