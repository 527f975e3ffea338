"""`drdrill verify RUN_DIR`: the evidence bundle is what it was when it was made.

Four checks: every file of `evidence.sha256` still has its hash (the same check as
`sha256sum -c`), the bundle files present are all listed, each signature of the list is
valid, and a drill file kept in the run directory (`drill.yaml`, unmasked, so not in the
bundle) still has the hash the journal's first record gives. A signature is required when the
caller names a trust anchor (a key or allowed signers).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import orjson

from drdrill.errors import DrdrillError
from drdrill.journal.writer import JOURNAL_NAME
from drdrill.reports.evidence import BUNDLE_FILES, EVIDENCE_NAME, file_sha256
from drdrill.reports.signing import GPG_SUFFIX, SSH_SUFFIX, SignatureCheck, gpg_verify, ssh_verify

logger = logging.getLogger(__name__)

# sha256sum's line: hash, a space, ' ' (text) or '*' (binary), the name; a leading backslash
# means the name has \\ and \n escapes.
# The drill file the simulator keeps in the run directory as it ran it.
DRILL_FILE_NAME = "drill.yaml"
_LINE = re.compile(r"^(?P<escaped>\\?)(?P<hash>[0-9a-fA-F]{64}) [ *](?P<name>.+)$")


class EvidenceMissing(DrdrillError):
    """The run directory holds no evidence.sha256 (the bundle was never made)."""


@dataclass
class Verification:
    """What `verify_evidence` found; `ok` is the verdict."""

    matched: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    signatures: list[SignatureCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every listed file matches and every signature is valid."""
        return not (self.changed or self.missing or self.problems) and all(
            check.valid for check in self.signatures)


def verify_evidence(run_dir: Path, *, allowed_signers: Path | None = None,
                    public_key: Path | None = None,
                    gpg_homedir: Path | None = None) -> Verification:
    """Check the hashes and signatures of the bundle in `run_dir`; raises EvidenceMissing."""
    listing = run_dir / EVIDENCE_NAME
    if not listing.is_file():
        raise EvidenceMissing(f"{run_dir}: no {EVIDENCE_NAME}; rebuild it with drdrill report")

    result = Verification()
    listed = _check_hashes(run_dir, listing, result)
    result.unlisted = [n for n in BUNDLE_FILES if (run_dir / n).is_file() and n not in listed]
    _check_signatures(listing, result, allowed_signers, public_key, gpg_homedir)
    _check_drill_file(run_dir, result)
    logger.info("evidence verified run_dir=%s ok=%s changed=%s missing=%s", run_dir, result.ok,
                result.changed, result.missing)
    return result


def _check_drill_file(run_dir: Path, result: Verification) -> None:
    """A `drill.yaml` beside the journal must be the file whose hash the journal recorded."""
    drill_file = run_dir / DRILL_FILE_NAME
    journal = run_dir / JOURNAL_NAME
    if not drill_file.is_file() or not journal.is_file():
        return

    with journal.open("rb") as lines:
        first = lines.readline()
    try:
        recorded = orjson.loads(first).get("drill_sha256")
    except orjson.JSONDecodeError:
        return  # a changed journal is reported by its own hash
    if recorded and file_sha256(drill_file) != recorded:
        result.problems.append(f"{DRILL_FILE_NAME}: its sha256 differs from the drill file"
                               " hash the journal recorded")


def _check_hashes(run_dir: Path, listing: Path, result: Verification) -> set[str]:
    """Compare each listed file's hash; returns the listed names."""
    listed: set[str] = set()
    for number, line in enumerate(listing.read_text().splitlines(), start=1):
        found = _LINE.match(line)
        if found is None:
            result.problems.append(f"{EVIDENCE_NAME} line {number} is not a sha256sum line")
            continue

        name = _unescape(found["name"]) if found["escaped"] else found["name"]
        if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            result.problems.append(f"{EVIDENCE_NAME} line {number} names a file outside the "
                                   f"run directory: {name!r}")
            continue

        listed.add(name)
        path = run_dir / name
        if not path.is_file():
            result.missing.append(name)
        elif file_sha256(path) != found["hash"].lower():
            result.changed.append(name)
        else:
            result.matched.append(name)
    return listed


def _check_signatures(listing: Path, result: Verification, allowed_signers: Path | None,
                      public_key: Path | None, gpg_homedir: Path | None) -> None:
    ssh_signature = listing.with_name(listing.name + SSH_SUFFIX)
    gpg_signature = listing.with_name(listing.name + GPG_SUFFIX)
    if ssh_signature.is_file():
        result.signatures.append(ssh_verify(listing, ssh_signature, allowed_signers, public_key))
    if gpg_signature.is_file():
        result.signatures.append(gpg_verify(listing, gpg_signature, gpg_homedir))

    anchored = allowed_signers is not None or public_key is not None
    if anchored and not ssh_signature.is_file():
        result.problems.append(f"a signer was given but {ssh_signature.name} does not exist")


def _unescape(name: str) -> str:
    return name.replace("\\n", "\n").replace("\\\\", "\\")
