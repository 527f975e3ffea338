"""The secrets a drill file holds, found so that they can be masked wherever they would show.

A drill file should hold none (AWS credentials come from the usual chain), but DSNs often
carry a password, and an `exec` fault may need a token in its environment.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from drdrill.drills.schema import DrillFile
from drdrill.journal.writer import JournalWriter
from drdrill.redact import redact

# Fields whose whole value is a secret, whatever it looks like.
_SECRET_KEY = re.compile(r"(?i)(password|secret|token|credential)")
_KEYWORD_PASSWORD = re.compile(r"(?i)\bpassword\s*=\s*'?([^\s'&;]+)")


def drill_secrets(drill: DrillFile) -> list[str]:
    """Every secret value in the drill file: URL passwords, `password=` settings, values of
    fields named like a secret, and every value of an `exec` fault's `env`. Sorted, unique."""
    found: set[str] = set()
    _walk(drill.model_dump(), found, key="")
    for spec in drill.faults:
        found.update(getattr(spec, "env", {}).values())
    return sorted(v for v in found if v)


def _walk(value: Any, found: set[str], key: str) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _walk(item, found, str(name))
    elif isinstance(value, list):
        for item in value:
            _walk(item, found, key)
    elif isinstance(value, str):
        if _SECRET_KEY.search(key):
            found.add(value)
        found.update(_secrets_in_text(value))


def _secrets_in_text(text: str) -> list[str]:
    """Passwords inside one string: of a URL (raw and decoded), or `password=` settings."""
    found = _KEYWORD_PASSWORD.findall(text)
    if "://" in text:
        try:
            parts = urlsplit(text)
            password = parts.password
        except ValueError:  # a malformed port or netloc: nothing to take from it
            password = None
        if password:
            raw = parts.netloc.rpartition("@")[0].partition(":")[2]
            found += [raw, unquote(password)]
    return found


def redact_record(value: Any) -> Any:
    """A journal record (or any JSON-like value) with every string passed through `redact`."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_record(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_record(item) for item in value]
    return value


class RedactingJournalWriter(JournalWriter):
    """A journal whose records other than ops are masked before they are written.

    Op records carry no free text (outcome, error kind, target name), and a long drill
    writes millions of them, so they are written as they are.
    """

    def write(self, record: dict[str, Any]) -> None:
        if record.get("k") != "op":
            record = redact_record(record)
        super().write(record)
