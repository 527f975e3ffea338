"""Detached signatures of evidence.sha256: OpenSSH (`ssh-keygen -Y`) or GnuPG.

Signing the hash list signs the whole bundle: every file is pinned by its hash. An SSH
signature is checked against a trust anchor, either an allowed-signers file (OpenSSH's format,
the usual choice of teams that sign git commits with SSH keys) or one public key; without one,
the signature can only be checked for consistency with the key it names, which proves nothing
about who signed, and the check says so.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from drdrill.errors import DrdrillError

logger = logging.getLogger(__name__)

SSH_NAMESPACE = "drdrill-evidence"
SSH_SUFFIX, GPG_SUFFIX = ".sig", ".asc"
TOOL_TIMEOUT_S = 60.0
_ANCHOR_PRINCIPAL = "drdrill-signer"


class SigningError(DrdrillError):
    """A signature could not be made, or a verifier tool is missing."""


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one signature file."""

    file: str
    kind: str  # "ssh" or "gpg"
    valid: bool
    signer_checked: bool
    detail: str


def ssh_sign(path: Path, key: Path) -> Path:
    """Sign `path` with the SSH private key `key`; returns the signature, `path` + '.sig'."""
    signature = path.with_name(path.name + SSH_SUFFIX)
    signature.unlink(missing_ok=True)  # ssh-keygen would ask before overwriting it
    _run(["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", SSH_NAMESPACE, str(path)])
    logger.info("evidence signed kind=ssh key=%s signature=%s", key, signature)
    return signature


def gpg_sign(path: Path, key_id: str, homedir: Path | None = None) -> Path:
    """Sign `path` with GnuPG key `key_id` (ASCII armour); returns `path` + '.asc'."""
    signature = path.with_name(path.name + GPG_SUFFIX)
    _run(_gpg(homedir) + ["--yes", "--local-user", key_id, "--armor", "--detach-sign",
                          "--output", str(signature), str(path)])
    logger.info("evidence signed kind=gpg key=%s signature=%s", key_id, signature)
    return signature


def ssh_verify(path: Path, signature: Path, allowed_signers: Path | None = None,
               public_key: Path | None = None) -> SignatureCheck:
    """Check an SSH signature of `path` against the allowed signers or the public key given."""
    if public_key is not None:
        with tempfile.TemporaryDirectory(prefix="drdrill-verify-") as temp:
            anchor = Path(temp) / "allowed_signers"
            anchor.write_text(f"{_ANCHOR_PRINCIPAL} {public_key.read_text().strip()}\n")
            return _ssh_verify_against(path, signature, anchor, str(public_key))

    if allowed_signers is not None:
        return _ssh_verify_against(path, signature, allowed_signers, str(allowed_signers))

    done = _run(["ssh-keygen", "-Y", "check-novalidate", "-n", SSH_NAMESPACE, "-s",
                 str(signature)], stdin=path, check=False)
    return SignatureCheck(signature.name, "ssh", done.returncode == 0, False,
                          "signature consistent with the key it names; signer NOT checked "
                          "(pass --key or --allowed-signers)" if done.returncode == 0
                          else _last_line(done))


def gpg_verify(path: Path, signature: Path, homedir: Path | None = None) -> SignatureCheck:
    """Check a GnuPG signature of `path` against the keys of the keyring."""
    done = _run(_gpg(homedir) + ["--status-fd", "1", "--verify", str(signature), str(path)],
                check=False)
    good = [line for line in done.stdout.splitlines() if line.startswith("[GNUPG:] GOODSIG")]
    if done.returncode == 0 and good:
        signer = good[0].split(" ", 3)[-1]
        return SignatureCheck(signature.name, "gpg", True, True, f"good signature from {signer}")
    return SignatureCheck(signature.name, "gpg", False, False, _last_line(done))


def _ssh_verify_against(path: Path, signature: Path, anchor: Path, named: str) -> SignatureCheck:
    found = _run(["ssh-keygen", "-Y", "find-principals", "-s", str(signature), "-f", str(anchor)],
                 check=False)
    principals = found.stdout.split()
    if found.returncode != 0 or not principals:
        return SignatureCheck(signature.name, "ssh", False, True,
                              f"the signing key is not among the signers of {named}")

    done = _run(["ssh-keygen", "-Y", "verify", "-f", str(anchor), "-I", principals[0], "-n",
                 SSH_NAMESPACE, "-s", str(signature)], stdin=path, check=False)
    if done.returncode != 0:
        return SignatureCheck(signature.name, "ssh", False, True, _last_line(done))
    return SignatureCheck(signature.name, "ssh", True, True,
                          (done.stdout or done.stderr).strip())


def _gpg(homedir: Path | None) -> list[str]:
    command = ["gpg", "--batch"]
    return command + ["--homedir", str(homedir)] if homedir is not None else command


def _run(command: list[str], stdin: Path | None = None,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a signing tool; raises SigningError when it is missing, or fails and `check`."""
    if shutil.which(command[0]) is None:
        raise SigningError(f"{command[0]} is not installed; it is needed to sign or verify")

    with open(stdin, "rb") if stdin is not None else open("/dev/null", "rb") as source:
        done = subprocess.run(command, stdin=source, capture_output=True, check=False,
                              timeout=TOOL_TIMEOUT_S)
    result = subprocess.CompletedProcess(command, done.returncode,
                                         done.stdout.decode(errors="replace"),
                                         done.stderr.decode(errors="replace"))
    if check and result.returncode != 0:
        raise SigningError(f"{' '.join(command[:3])} failed: {_last_line(result)}")
    return result


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"
