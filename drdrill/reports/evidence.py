"""The evidence bundle of a run, in its run directory, for an auditor.

The bundle is: the journal (the record everything is computed from), the drill file with its
secrets masked, the environment (versions of drdrill and of the servers, hosts), the reports,
and `evidence.sha256`, a hash list in the format `sha256sum -c` reads, so an auditor can check
the bundle with the coreutils alone. Signing that list (see `signing`) pins every file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

import drdrill
from drdrill.journal.reader import Journal
from drdrill.redact import MASK, redact
from drdrill.reports.signing import gpg_sign, ssh_sign

logger = logging.getLogger(__name__)

EVIDENCE_NAME = "evidence.sha256"
ENVIRONMENT_NAME = "environment.json"
MASKED_DRILL_NAME = "drill.masked.yaml"
# Files of the run directory the bundle holds when present, in the order they are listed.
BUNDLE_FILES = ("journal.jsonl", MASKED_DRILL_NAME, ENVIRONMENT_NAME, "summary.json",
                "report.md", "report.html", "junit.xml")

# Keys whose values are secrets wherever they appear in a drill file; redact() covers
# passwords inside URLs and libpq strings, this covers YAML fields such as `password: x`.
_SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|access[_-]?key)")
_CHUNK = 1 << 20


def write_evidence(run_dir: Path, journal: Journal, *, ssh_key: Path | None = None,
                   gpg_key: str | None = None,
                   known_hashes: dict[str, Callable[[], str]] | None = None) -> list[str]:
    """Write the masked drill file, environment.json and evidence.sha256, and sign the latter
    when a key is given; returns the names listed in evidence.sha256.

    `known_hashes` gives, by name, how to get the sha256 of a file being hashed elsewhere (the
    journal, hashed while the charts were drawn).
    """
    logger.info("evidence started run_dir=%s", run_dir)
    header = journal.header or {}
    drill_file = find_drill_file(run_dir, header)
    if drill_file is not None:
        (run_dir / MASKED_DRILL_NAME).write_text(mask_drill_file(drill_file.read_text()))
    environment = environment_facts(header, drill_file)
    (run_dir / ENVIRONMENT_NAME).write_text(json.dumps(environment, indent=2) + "\n")

    names = [name for name in BUNDLE_FILES if (run_dir / name).is_file()]
    known = known_hashes or {}
    lines = [f"{known[name]() if name in known else file_sha256(run_dir / name)}  {name}\n"
             for name in names]
    (run_dir / EVIDENCE_NAME).write_text("".join(lines))

    if ssh_key is not None:
        ssh_sign(run_dir / EVIDENCE_NAME, ssh_key)
    if gpg_key is not None:
        gpg_sign(run_dir / EVIDENCE_NAME, gpg_key)
    logger.info("evidence complete run_dir=%s files=%d", run_dir, len(names))
    return names


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, hex, read in chunks (a journal may be gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def find_drill_file(run_dir: Path, header: dict[str, Any]) -> Path | None:
    """The drill file the run read: its journaled path (relative to where drdrill ran, or to
    the run directory), preferring a copy whose hash matches the journal's; None if absent."""
    named = header.get("drill_file")
    if not named:
        return None

    path = Path(named)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, run_dir / path,
                                                    run_dir / path.name]
    existing = [c for c in candidates if c.is_file()]
    matching = [c for c in existing if file_sha256(c) == header.get("drill_sha256")]
    chosen = matching or existing
    return chosen[0] if chosen else None


def mask_drill_file(text: str) -> str:
    """The drill file as YAML with every secret masked: values of secret-named keys and
    passwords in URLs and DSNs. Comments are not kept (the journal holds the original's hash)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        # Edited since the run into something that no longer parses: mask what can be found.
        logger.warning("drill file is no longer valid YAML; masking URL and DSN passwords only")
        return redact(text)
    masked: str = yaml.safe_dump(_masked(data), sort_keys=False, allow_unicode=True)
    return masked


def environment_facts(header: dict[str, Any], drill_file: Path | None) -> dict[str, Any]:
    """What the run ran on and what bundled it, as environment.json holds it."""
    return {
        "bundle_format": 1,
        "run": {
            "run_id": header.get("run_id"),
            "drill": header.get("drill"),
            "started_utc": (header.get("clock") or {}).get("utc"),
            "host": header.get("host"),
            "versions": header.get("versions") or {},
            "servers": server_versions(header),
        },
        "drill_file": {
            "journaled_path": header.get("drill_file"),
            "journaled_sha256": header.get("drill_sha256"),
            "found_at": str(drill_file) if drill_file else None,
            "sha256_matches": (file_sha256(drill_file) == header.get("drill_sha256"))
            if drill_file else None,
            "masked_copy": MASKED_DRILL_NAME if drill_file else None,
        },
        "bundled_by": {
            "drdrill": drdrill.__version__,
            "python": platform.python_version(),
            "host": platform.node(),
            "platform": platform.platform(),
            "utc": datetime.now(UTC).isoformat(),
        },
    }


def server_versions(header: dict[str, Any]) -> dict[str, Any]:
    """Versions of the servers the run talked to: the header's `servers` when it has them,
    else what the simulator's components said of themselves; {} when the journal has none."""
    # Known shortcoming: the runner's `run` record has no `servers` key yet and the probes do
    # not ask servers their versions, so for a real drill this is {} and environment.json says
    # nothing of the servers; the simulator's components give versions only where their
    # facts() carry a key with "version" in it.
    if isinstance(header.get("servers"), dict):
        return dict(header["servers"])

    components = ((header.get("sim") or {}).get("components")) or {}
    return {name: {key: value for key, value in facts.items() if "version" in key}
            for name, facts in components.items()
            if isinstance(facts, dict) and any("version" in key for key in facts)}


def _masked(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item, key) for item in value]
    if _SECRET_KEY.search(key) and value not in (None, ""):
        return MASK
    return redact(value) if isinstance(value, str) else value
