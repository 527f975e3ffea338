"""Confirmation before a drill touches anything that is not provably on this machine's loopback.

Every DSN, URL, host and endpoint in the drill file is parsed; what cannot be shown to be on
loopback needs confirmation: a host name other than `localhost`, a non-loopback address, an
AWS API without a loopback `endpoint_url`, and actions whose reach drdrill cannot see at all
(kubectl, docker compose, `exec`). A drill against such targets runs only with `--yes` or
when the operator types the drill's name; otherwise it exits 2 before anything happens.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from drdrill.drills.schema import DrillFile
from drdrill.redact import redact

logger = logging.getLogger(__name__)

_ADDRESS_KEYS = frozenset({"dsn", "url", "endpoint", "endpoint_url", "proxy", "resolvers"})
_KEYWORD_HOST = re.compile(r"(?i)\b(?:host|hostaddr)\s*=\s*'?([^\s']+)")
# Fault and step kinds that act through a tool whose reach drdrill cannot see.
_UNSEEN_REACH = {
    "k8s.": "the Kubernetes cluster kubectl reaches",
    "compose.": "the Docker engine the docker CLI reaches",
    "exec": "a command, whose reach drdrill cannot check",
}


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: a loopback address, `localhost`, or a unix socket."""
    host = host.strip("[]")
    if host == "" or host.startswith("/") or host.startswith("@"):
        return True  # no host means a local unix socket, as does a directory path
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it could resolve anywhere, so it is not provably local


def hosts_in(text: str) -> list[str]:
    """Every host an address names: a URL (libpq's several `h1:p1,h2:p2` too, and `?host=`),
    a keyword DSN (`host=... hostaddr=...`), or a bare `host[:port]`."""
    if "://" in text:
        return _url_hosts(text)
    if "=" in text:  # a keyword DSN; without host= it goes to a local unix socket
        return [h for value in _KEYWORD_HOST.findall(text) for h in value.split(",")]
    return [_strip_port(text.strip())]


def _url_hosts(text: str) -> list[str]:
    parts = urlsplit(text)
    netloc = parts.netloc.rpartition("@")[2]
    hosts = [_strip_port(item) for item in netloc.split(",")]
    for value in parse_qs(parts.query).get("host", []):
        hosts += value.split(",")
    return hosts


def _strip_port(item: str) -> str:
    if item.startswith("["):
        return item[1:].partition("]")[0]
    return item.rpartition(":")[0] if item.count(":") == 1 else item


def remote_targets(drill: DrillFile) -> list[str]:
    """One line per address or action of the drill not provably on loopback (secrets masked)."""
    found: list[str] = []
    _walk(drill.model_dump(), "", found)
    for section in ("fault", "failover", "rollback", "failback"):
        specs = drill.faults if section == "fault" else getattr(drill, section)
        for index, spec in enumerate(specs):
            single = section == "fault" and not isinstance(drill.fault, list)
            where = section if single else f"{section}[{index}]"
            for prefix, reach in _UNSEEN_REACH.items():
                if spec.kind.startswith(prefix):
                    found.append(f"{where} {spec.kind}: {reach}")
    return found


def _walk(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, dict):
        if "endpoint_url" in value and "region" in value and value["endpoint_url"] is None:
            found.append(f"{path}: the AWS API in {value['region'] or 'the default region'}")
        for key, item in value.items():
            _check_address(key, item, f"{path}.{key}" if path else str(key), found)
            _walk(item, f"{path}.{key}" if path else str(key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", found)


def _check_address(key: str, value: Any, path: str, found: list[str]) -> None:
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if not isinstance(text, str):
            continue
        if key not in _ADDRESS_KEYS and "://" not in text:
            continue
        remote = [h for h in hosts_in(text) if not is_loopback(h)]
        if remote:
            found.append(f"{path}: {redact(text)} (host {', '.join(remote)})")


def confirmed(drill: DrillFile, yes: bool, ask: Callable[[str], str | None]) -> bool:
    """Whether the drill may go on: nothing remote, `--yes`, or the operator typed its name.

    `ask` shows a prompt and returns the answer, or None when nothing can be typed.
    """
    remote = remote_targets(drill)
    if not remote or yes:
        if remote:
            logger.info("confirmation given by --yes remote_targets=%d", len(remote))
        return True

    answer = ask(
        "This drill reaches targets that are not on loopback:\n"
        + "\n".join(f"  - {line}" for line in remote)
        + f"\nType the drill's name ({drill.name}) to run it"
    )
    return answer is not None and answer.strip() == drill.name
