"""What `redact` masks, and which secrets a drill file is found to hold."""

from __future__ import annotations

import logging

import pytest

from drdrill.drills.loader import parse_drill
from drdrill.drills.secrets import drill_secrets, redact_record
from drdrill.redact import RedactingFormatter, redact, remember_secrets


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://drill:pw0rd@db:5432/app", "postgresql://drill:***@db:5432/app"),
        ("host=db password=pw0rd dbname=app", "host=db password=*** dbname=app"),
        ("key AKIAIOSFODNN7EXAMPLE used", "key *** used"),
        ("aws_secret_access_key = abc/def+ghi", "aws_secret_access_key = ***"),
        ('{"SecretAccessKey": "abc/def", "x": 1}', '{"SecretAccessKey": "***", "x": 1}'),
        ("session_token=FQoG;rest", "session_token=***;rest"),
        ("postgresql://drill@db/app", "postgresql://drill@db/app"),
        ("tokens: 3", "tokens: 3"),
    ],
)
def test_patterns(text: str, masked: str) -> None:
    assert redact(text) == masked


def test_remembered_values_are_masked_wherever_they_appear() -> None:
    remember_secrets(["qz-7f-remembered", "ab"])  # two characters: too short to mask
    assert redact("error: qz-7f-remembered rejected, ab") == "error: *** rejected, ab"


def test_drill_secrets_finds_dsn_passwords_secret_fields_and_exec_env() -> None:
    drill = parse_drill("t.yaml", {
        "name": "t", "objectives": {},
        "regions": {"r": {"postgres": {"dsn": "postgresql://drill:p%40ss-w0rd@db/app"}},
                    "s": {"postgres": {"dsn": "host=db password=kw-s3cret"}}},
        "probes": [{"name": "p", "kind": "postgres.write", "target": "r.postgres"}],
        "fault": {"kind": "exec", "label": "x", "argv": ["true"], "env": {"TOKEN": "env-tok"}},
    })
    assert drill_secrets(drill) == ["env-tok", "kw-s3cret", "p%40ss-w0rd", "p@ss-w0rd"]


def test_records_and_log_lines_are_masked() -> None:
    record = {"k": "note", "msg": "cannot reach postgresql://u:hunter2@db/app",
              "detail": {"list": ["password=hunter2"]}, "t": 5}
    assert redact_record(record) == {"k": "note", "msg": "cannot reach postgresql://u:***@db/app",
                                     "detail": {"list": ["password=***"]}, "t": 5}

    formatter = RedactingFormatter("%(message)s")
    line = logging.LogRecord("x", logging.INFO, __file__, 1, "dsn=%s", ("postgresql://u:pw9@h/d",),
                             None)
    assert formatter.format(line) == "dsn=postgresql://u:***@h/d"
