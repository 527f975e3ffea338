"""Secrets never leave drdrill: passwords in URLs and DSNs are masked wherever they are shown."""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?=@)")
# password=secret in libpq keyword DSNs and query strings
_KEYWORD_PASSWORD = re.compile(r"(?i)(?P<head>\bpassword\s*=\s*)[^\s&;]+")

MASK = "***"


def redact(text: str) -> str:
    """`text` with passwords of URLs and `password=` settings replaced by ***."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
