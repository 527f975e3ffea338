"""A recording stand-in for the docker and kubectl CLIs.

There is no Docker engine nor Kubernetes cluster on the machines that run these tests, so the
compose and k8s faults are pointed (their `binary` field) at a small script that writes its
argument list to a file and answers what a rule tells it to. The tests then check the exact
argument lists drdrill ran, which is what these faults own; what docker or kubectl do with
them is theirs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

_SCRIPT = """#!{python}
import json, pathlib, sys
here = pathlib.Path(__file__).parent
with open(here / "calls.jsonl", "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
rules = here / "rules.json"
for word, out, code in (json.loads(rules.read_text()) if rules.exists() else []):
    if word in sys.argv[1:]:
        sys.stdout.write(out)
        sys.stderr.write("refused by rule " + word if code else "")
        sys.exit(code)
"""


class Recorder:
    """The script's path, the calls it saw, and the rules it answers by."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "cli"
        self.path.write_text(_SCRIPT.format(python=sys.executable))
        self.path.chmod(0o755)

    def answer(self, *rules: tuple[str, str, int]) -> None:
        """For a call whose arguments include `word`: print `out`, exit with `code`."""
        (self.directory / "rules.json").write_text(json.dumps(rules))

    def calls(self) -> list[list[str]]:
        log = self.directory / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]
