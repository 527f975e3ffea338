"""The JSON Schema of summary.json, shipped in the package, and the check against it.

The schema is versioned by the summary's `schema_version`: version 1 may gain keys (its objects
accept properties they do not name), while a key removed, renamed or retyped makes version 2,
so that tools reading old summaries (`drdrill compare`, audit scripts) can trust the shape.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

from jsonschema import Draft202012Validator

from drdrill.errors import DrdrillError

SCHEMA_VERSION = 1


class SummarySchemaError(DrdrillError):
    """A summary that does not match its schema; `problems` holds one line per mismatch."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"summary does not match schema version {SCHEMA_VERSION}:\n{lines}")


@functools.cache
def summary_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of summary.json, version SCHEMA_VERSION, as a dict."""
    resource = importlib.resources.files("drdrill") / "schemas" / f"summary.v{SCHEMA_VERSION}.json"
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema


def summary_problems(summary: dict[str, Any]) -> list[str]:
    """Every mismatch between `summary` and the schema, as `path: message`; [] when it fits."""
    validator = Draft202012Validator(summary_schema())
    errors = sorted(validator.iter_errors(summary),
                    key=lambda err: [str(part) for part in err.absolute_path])
    return [f"{_json_path(err.absolute_path)}: {err.message}" for err in errors]


def validate_summary(summary: dict[str, Any]) -> None:
    """Raise `SummarySchemaError` naming every mismatch when `summary` does not fit the schema."""
    problems = summary_problems(summary)
    if problems:
        raise SummarySchemaError(problems)


def _json_path(parts: Any) -> str:
    """deque(['stores', 0, 'acked']) -> 'stores[0].acked' ('(top level)' when empty)."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
    return text or "(top level)"
