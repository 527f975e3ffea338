"""The evidence bundle: `sha256sum -c` passes in the run directory, one changed byte makes
`drdrill verify` exit 1 naming the file, secrets are masked, and SSH and GnuPG signatures are
made and checked with the real tools."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from report_journals import DrillShape, built_run
from typer.testing import CliRunner

from drdrill.cli import app
from drdrill.reports.build import build_reports
from drdrill.reports.verify import verify_evidence

BUNDLE = ["journal.jsonl", "drill.masked.yaml", "environment.json", "summary.json", "report.md",
          "report.html", "junit.xml"]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    built_run(tmp_path / "run", DrillShape(lost=[(26, 28)]))
    return tmp_path / "run"


@pytest.fixture
def ssh_key(tmp_path: Path) -> Path:
    key = tmp_path / "keys" / "signer"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "auditor@example",
                    "-f", str(key)], check=True)
    return key


@pytest.fixture
def gnupg_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    subprocess.run(["gpg", "--batch", "--homedir", str(home), "--passphrase", "",
                    "--quick-gen-key", "drdrill test <test@drdrill.invalid>", "ed25519", "sign",
                    "never"], check=True, capture_output=True)
    yield home
    # gpg started an agent for this home; stop that one agent.
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=True)


def _flip_one_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_sha256sum_checks_the_bundle(run_dir: Path) -> None:
    done = subprocess.run(["sha256sum", "-c", "evidence.sha256"], cwd=run_dir,
                          capture_output=True, text=True)

    assert done.returncode == 0
    assert done.stdout.splitlines() == [f"{name}: OK" for name in BUNDLE]


def test_a_changed_byte_fails_verify_naming_the_file(run_dir: Path) -> None:
    assert CliRunner().invoke(app, ["verify", str(run_dir)]).exit_code == 0

    _flip_one_byte(run_dir / "journal.jsonl", 100)
    result = CliRunner().invoke(app, ["verify", str(run_dir)])

    assert result.exit_code == 1
    assert "CHANGED   journal.jsonl: its sha256 differs from evidence.sha256" in result.output
    assert "evidence NOT intact: journal.jsonl" in result.output
    assert subprocess.run(["sha256sum", "--quiet", "-c", "evidence.sha256"], cwd=run_dir,
                          capture_output=True, text=True).stdout == (
        "journal.jsonl: FAILED\n")


def test_verify_without_a_bundle_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", str(tmp_path)])

    assert result.exit_code == 2
    assert f"{tmp_path}: no evidence.sha256" in result.output


def test_the_drill_file_is_masked_and_the_environment_recorded(run_dir: Path) -> None:
    masked = (run_dir / "drill.masked.yaml").read_text()
    environment = json.loads((run_dir / "environment.json").read_text())

    assert "s3cret-pw" not in masked and "hunter2" not in masked
    assert "dsn: postgresql://drill:***@127.0.0.1:5432/drill" in masked
    assert "dsn: host=127.0.0.1 port=5433 user=drill password=*** dbname=drill" in masked
    assert environment["run"] == {
        "run_id": "20261203T120000Z-ab12cd", "drill": "local-sim",
        "started_utc": "2026-12-03T12:00:00+00:00", "host": "drill-host",
        "versions": {"drdrill": "0.1.0", "python": "3.11.7", "asyncpg": "0.30.0"},
        "servers": {"postgres": {"version": "16.4"}}}
    assert environment["drill_file"]["sha256_matches"] is True
    assert environment["drill_file"]["masked_copy"] == "drill.masked.yaml"


def test_an_ssh_signature_is_checked_against_the_signer(run_dir: Path, ssh_key: Path,
                                                        tmp_path: Path) -> None:
    signed = CliRunner().invoke(app, ["sign", str(run_dir), "--key", str(ssh_key)])
    public = ssh_key.with_suffix(".pub")
    other = tmp_path / "keys" / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)

    good = CliRunner().invoke(app, ["verify", str(run_dir), "--key", str(public)])
    stranger = CliRunner().invoke(app, ["verify", str(run_dir), "--key", f"{other}.pub"])

    assert signed.exit_code == 0
    assert signed.output == f"signed: {run_dir / 'evidence.sha256.sig'}\n"
    assert good.exit_code == 0
    assert "signature evidence.sha256.sig (ssh): valid: Good \"drdrill-evidence\" signature " \
           "for drdrill-signer" in good.output
    assert stranger.exit_code == 1
    assert ("signature evidence.sha256.sig (ssh): INVALID: the signing key is not among the "
            f"signers of {other}.pub") in stranger.output


def test_an_ssh_signature_with_allowed_signers_fails_once_the_list_changes(
        run_dir: Path, ssh_key: Path, tmp_path: Path) -> None:
    CliRunner().invoke(app, ["sign", str(run_dir), "--key", str(ssh_key)])
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"auditor@example {ssh_key.with_suffix('.pub').read_text()}")

    good = CliRunner().invoke(app, ["verify", str(run_dir), "--allowed-signers", str(allowed)])
    listing = run_dir / "evidence.sha256"
    listing.write_text(listing.read_text() + "\n")
    tampered = CliRunner().invoke(app, ["verify", str(run_dir), "--allowed-signers",
                                        str(allowed)])

    assert good.exit_code == 0
    assert "for auditor@example with ED25519 key" in good.output
    assert tampered.exit_code == 1
    assert "signature evidence.sha256.sig (ssh): INVALID: " in tampered.output


def test_a_signer_given_without_a_signature_fails(run_dir: Path, ssh_key: Path) -> None:
    result = CliRunner().invoke(app, ["verify", str(run_dir), "--key",
                                      str(ssh_key.with_suffix(".pub"))])

    assert result.exit_code == 1
    assert ("problem   a signer was given but evidence.sha256.sig does not exist"
            in result.output)


def test_a_gpg_signature_is_made_and_checked(run_dir: Path, gnupg_home: Path) -> None:
    signed = CliRunner().invoke(app, ["sign", str(run_dir), "--gpg-key", "test@drdrill.invalid",
                                      "--gpg-homedir", str(gnupg_home)])
    good = CliRunner().invoke(app, ["verify", str(run_dir), "--gpg-homedir", str(gnupg_home)])
    _flip_one_byte(run_dir / "evidence.sha256", 3)
    bad = CliRunner().invoke(app, ["verify", str(run_dir), "--gpg-homedir", str(gnupg_home)])

    assert signed.exit_code == 0
    assert os.path.getsize(run_dir / "evidence.sha256.asc") > 0
    assert good.exit_code == 0
    assert ("signature evidence.sha256.asc (gpg): valid: good signature from drdrill test "
            "<test@drdrill.invalid>") in good.output
    assert bad.exit_code == 1
    assert "signature evidence.sha256.asc (gpg): INVALID" in bad.output


def test_sign_refuses_a_changed_bundle(run_dir: Path, ssh_key: Path) -> None:
    _flip_one_byte(run_dir / "report.html", 10)

    result = CliRunner().invoke(app, ["sign", str(run_dir), "--key", str(ssh_key)])

    assert result.exit_code == 1
    assert "sign: refusing to sign a changed bundle: report.html" in result.output
    assert not (run_dir / "evidence.sha256.sig").exists()


def test_verify_fails_when_the_kept_drill_file_is_not_the_one_the_journal_hashed(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    built_run(run_dir, DrillShape())
    drill = run_dir / "drill.yaml"
    journal = run_dir / "journal.jsonl"
    header = orjson.loads(journal.read_bytes().splitlines()[0])
    drill.write_text("name: the-drill-that-ran\n")
    # The drill file the journal names is this one: rewrite its hash into the first record.
    header["drill_sha256"] = hashlib.sha256(drill.read_bytes()).hexdigest()
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(orjson.dumps(header) + b"\n" + b"".join(lines[1:]))
    build_reports(run_dir)
    assert verify_evidence(run_dir).ok

    drill.write_text("name: the-drill-that-ran\nobjectives: {rto_seconds: 3000}\n")

    result = verify_evidence(run_dir)
    assert not result.ok
    assert result.problems == [
        "drill.yaml: its sha256 differs from the drill file hash the journal recorded"
    ]
