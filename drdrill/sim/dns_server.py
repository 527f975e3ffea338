"""The simulator's DNS server (dnslib): a Route53 zone's records, answered as a caching resolver
answers them.

The server reads each record from the AWS API (the simulator's local Route53) and keeps the
answer for its TTL, counting the TTL down in every reply, as the recursive resolvers between
users and Route53 do. That cache is what makes the simulation realistic: the local API reports
every change INSYNC at once, and clients then keep the old answer until the cached one expires,
no later than INSYNC + TTL.

Because the server knows every answer it gave and when, it can say afterwards when the old
answer was last served and when it expired: the simulator's truth, independent of the probes.

Known shortcomings: records are answered by name and type only. A weighted record set is
answered by a weighted random choice, as Route53 does; failover records (which depend on
health checks the local API does not run), alias records, CNAME chasing and negative caching
are not simulated: an alias or failover record is answered SERVFAIL, a missing name NXDOMAIN.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dnslib import QTYPE, RCODE, RDMAP, RR, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from drdrill.drills.route53_ledger import fqdn

logger = logging.getLogger(__name__)

SUPPORTED_TYPES = ("A", "AAAA", "CNAME", "TXT")
_BIND_ATTEMPTS = 5

# (values, ttl) of a record set, or None when the zone has no such record.
Fetch = Callable[[str, str], tuple[tuple[str, ...], int] | None]


class UnsupportedRecord(Exception):
    """A record the simulator's server does not answer (alias, failover)."""


@dataclass
class ServedSpan:
    """One answer as served without interruption: from `first_t` to `last_t` (monotonic ns)."""

    answer: str
    first_t: int
    last_t: int


@dataclass
class _Entry:
    values: tuple[str, ...]
    ttl: int
    expires_t: int


@dataclass
class ZoneCache:
    """Answers of one zone, each held for its TTL from the instant it was fetched; thread-safe.

    `clock` returns monotonic nanoseconds; it can be injected to test expiry without waiting.
    """

    fetch: Fetch
    clock: Callable[[], int] = time.monotonic_ns
    spans: dict[tuple[str, str], list[ServedSpan]] = field(default_factory=dict)
    fetches: list[tuple[int, str, str, tuple[str, ...] | None]] = field(default_factory=list)
    _entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, name: str, rtype: str) -> tuple[tuple[str, ...], int] | None:
        """(values, remaining TTL in whole seconds) or None when the zone has no such record."""
        key = (fqdn(name), rtype)
        with self._lock:
            now = self.clock()
            entry = self._entries.get(key)
            if entry is None or now >= entry.expires_t:
                entry = self._fetch(key, now)
                if entry is None:
                    return None

            self._note_served(key, ",".join(entry.values), now)
            return entry.values, (entry.expires_t - now) // 1_000_000_000

    def refresh(self, name: str, rtype: str) -> None:
        """Fetch the record again now, whatever the age of the cached copy (a full TTL anew)."""
        key = (fqdn(name), rtype)
        with self._lock:
            self._fetch(key, self.clock())

    def _fetch(self, key: tuple[str, str], now: int) -> _Entry | None:
        # The expiry counts from before the fetch, so a change that lands while the fetch is
        # in flight is never held longer than one TTL after it.
        fetched = self.fetch(*key)
        self.fetches.append((now, key[0], key[1], fetched[0] if fetched else None))
        if fetched is None:
            self._entries.pop(key, None)
            return None

        entry = _Entry(fetched[0], fetched[1], now + fetched[1] * 1_000_000_000)
        self._entries[key] = entry
        return entry

    def _note_served(self, key: tuple[str, str], answer: str, now: int) -> None:
        spans = self.spans.setdefault(key, [])
        if spans and spans[-1].answer == answer:
            spans[-1].last_t = now
        else:
            spans.append(ServedSpan(answer, now, now))


def route53_fetch(client: Any, zone_id: str) -> Fetch:
    """A fetch reading record sets from Route53 (boto3 client; blocking)."""

    def fetch(name: str, rtype: str) -> tuple[tuple[str, ...], int] | None:
        page = client.list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=name, StartRecordType=rtype, MaxItems="100")
        sets = [r for r in page["ResourceRecordSets"]
                if fqdn(r["Name"]) == name and r["Type"] == rtype]
        if not sets:
            return None
        return _choose(sets)

    return fetch


def _choose(sets: list[dict[str, Any]]) -> tuple[tuple[str, ...], int]:
    """The values and TTL Route53 would answer from these record sets of one name and type."""
    if any("AliasTarget" in r or "Failover" in r for r in sets):
        raise UnsupportedRecord(f"{sets[0]['Name']}: alias and failover records")

    weighted = [r for r in sets if "Weight" in r and int(r["Weight"]) > 0]
    chosen = random.choices(weighted, [int(r["Weight"]) for r in weighted])[0] if weighted \
        else sets[0]
    values = tuple(sorted(str(v["Value"]) for v in chosen.get("ResourceRecords", [])))
    return values, int(chosen.get("TTL", 0))


class _ZoneResolver(BaseResolver):  # type: ignore[misc]
    """dnslib's resolver interface over a ZoneCache, for names under `origin`."""

    def __init__(self, cache: ZoneCache, origin: str) -> None:
        self.cache = cache
        self.origin = fqdn(origin)

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname)
        rtype = QTYPE.get(request.q.qtype)
        if not (fqdn(name) == self.origin or fqdn(name).endswith("." + self.origin)):
            reply.header.rcode = RCODE.REFUSED  # not ours, and we recurse for nobody
            return reply
        if rtype not in SUPPORTED_TYPES:
            reply.header.rcode = RCODE.NOTIMP
            return reply

        try:
            found = self.cache.answer(name, rtype)
        except UnsupportedRecord as exc:
            logger.warning("dns answer not simulated name=%s type=%s reason=%s", name, rtype, exc)
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        except Exception:  # the API failed: answer SERVFAIL, as a resolver would
            logger.exception("dns answer failed name=%s type=%s", name, rtype)
            reply.header.rcode = RCODE.SERVFAIL
            return reply

        if found is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        values, ttl = found
        for value in values:
            rdata = RDMAP[rtype](value.strip('"') if rtype == "TXT" else value)
            reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=rdata, ttl=ttl))
        return reply


class ZoneDnsServer:
    """UDP and TCP listeners on one free loopback port answering from a ZoneCache."""

    def __init__(self, cache: ZoneCache, origin: str, host: str = "127.0.0.1") -> None:
        self.cache = cache
        self.host = host
        self.port = 0
        self._servers: list[DNSServer] = []
        self._resolver = _ZoneResolver(cache, origin)

    @property
    def address(self) -> str:
        """'host:port', as the DNS and HTTP probes' `resolvers` take it."""
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        """Bind UDP on a free port and TCP on the same one, then serve both in threads."""
        for _ in range(_BIND_ATTEMPTS):
            udp = self._server(0, tcp=False)
            port = udp.server.server_address[1]
            try:
                tcp = self._server(port, tcp=True)
            except OSError:  # the TCP port was taken: start again with another port
                udp.server.server_close()
                continue

            self.port = port
            self._servers = [udp, tcp]
            for server in self._servers:
                # dnslib's own start_thread polls for shutdown every 0.5 s; stopping a server
                # would then take that long.
                server.thread = threading.Thread(
                    target=server.server.serve_forever, kwargs={"poll_interval": 0.05},
                    name=f"dns-{self.port}", daemon=True)
                server.thread.start()
            logger.info("dns server listening address=%s", self.address)
            return
        raise OSError(f"no port free for both UDP and TCP on {self.host}")

    def stop(self) -> None:
        """Stop serving and close both sockets; safe to call twice."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.stop()
            server.server.server_close()
            server.thread.join(timeout=5)
        if servers:
            logger.info("dns server stopped address=%s", self.address)

    def _server(self, port: int, *, tcp: bool) -> DNSServer:
        quiet = DNSLogger(log="error", prefix=False, logf=logger.warning)
        return DNSServer(self._resolver, address=self.host, port=port, tcp=tcp, logger=quiet)
