"""Secrets never leave drdrill: passwords, AWS keys and tokens are masked wherever shown.

Two nets, because neither alone is enough:
- patterns catch what looks like a secret wherever it comes from (a URL's password, a
  `password=` setting, an AWS access key id, a `secret_access_key: ...` pair);
- the secrets a drill file holds are remembered when it is loaded (`remember_secrets`), and
  every exact occurrence is masked, so that a password quoted alone by some error message,
  with nothing around it that looks like a secret, is masked too.

Everything that leaves drdrill as text (journal notes and errors, the plan, log lines, the
terminal) goes through `redact`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# scheme://user:password@host -> scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?=@)")
# password=secret in libpq keyword DSNs and query strings
_KEYWORD_PASSWORD = re.compile(r"(?i)(?P<head>\bpassword\s*=\s*)[^\s&;]+")
# An AWS access key id: AKIA (long-term) or ASIA (temporary) and 16 more characters.
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# secret_access_key=..., aws_session_token: ..., "SecretAccessKey": "..."
_SECRET_PAIR = re.compile(
    r"(?i)(?P<head>(?:secret_?access_?key|session_?token|security_?token|secret|token)"
    r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+"
)

MASK = "***"
# Shorter values would mask ordinary words ("a", "on") all over the output.
MIN_SECRET_LENGTH = 4
_REMEMBERED: set[str] = set()


def remember_secrets(values: Iterable[str]) -> None:
    """Mask every later occurrence of these values (those of 4 characters or more)."""
    _REMEMBERED.update(v for v in values if len(v) >= MIN_SECRET_LENGTH)


def redact(text: str) -> str:
    """`text` with every secret replaced by ***."""
    for secret in sorted(_REMEMBERED, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    text = _AWS_KEY_ID.sub(MASK, text)
    return _SECRET_PAIR.sub(lambda m: m.group("head") + MASK, text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose lines, tracebacks included, went through `redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def redact_log_handlers(logger: logging.Logger | None = None) -> None:
    """Make every handler of `logger` (default: the root logger) mask secrets."""
    for handler in (logger or logging.getLogger()).handlers:
        current = handler.formatter or logging.Formatter()
        formatter = RedactingFormatter(current._fmt, current.datefmt)
        handler.setFormatter(formatter)
