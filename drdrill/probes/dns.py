"""The DNS probe (dnspython): one query per tick, journaling the answer and its TTL.

Why no cache here: the probe reports what the listed resolvers answer at each tick, which is
what every client of those resolvers gets once its own cache expires. The TTL it journals is
the one the resolver answered with: a caching resolver counts it down, so the op shows how
long clients may keep the answer. DNS convergence and flips are measured from these ops
(`drdrill.measure`), never here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.resolver

from drdrill.probes.base import ErrorKind, OpResult, Outcome, Probe

if TYPE_CHECKING:
    from drdrill.drills.schema import DnsProbe as DnsProbeSpec

logger = logging.getLogger(__name__)

DNS_PORT = 53


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One answer: its values as text, sorted, and the TTL it came with (seconds)."""

    values: tuple[str, ...]
    ttl: int

    @property
    def text(self) -> str:
        """The values joined by commas, as journaled in a DNS op's `a`."""
        return ",".join(self.values)


def parse_resolver(address: str) -> tuple[str, int]:
    """'10.0.0.2' -> ('10.0.0.2', 53); '127.0.0.1:5353' -> (.., 5353); '[::1]:53' -> ('::1', 53)."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else DNS_PORT

    host, _, port = address.partition(":")
    return host, int(port) if port else DNS_PORT


def make_resolver(resolvers: list[str], lifetime_s: float) -> dns.asyncresolver.Resolver:
    """An async stub resolver asking `resolvers` (the system's when empty), without a cache.

    Raises dns.resolver.NoResolverConfiguration when the system has no resolver configured.
    """
    resolver = dns.asyncresolver.Resolver(configure=not resolvers)
    if resolvers:
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(*parse_resolver(address)) for address in resolvers
        ]
    resolver.cache = None
    resolver.lifetime = lifetime_s
    # A SERVFAIL is an answer we report, not a reason to ask the same servers again.
    resolver.retry_servfail = False
    return resolver


async def query(resolver: dns.asyncresolver.Resolver, qname: str, rdtype: str) -> DnsAnswer:
    """Ask once; returns the answer, or raises dnspython's exception for what went wrong.

    The name is made absolute, so that no search domain of the system's configuration is
    appended to it.
    """
    answer = await resolver.resolve(dns.name.from_text(qname), rdtype, search=False)
    rrset = answer.rrset
    assert rrset is not None  # resolve() raises NoAnswer rather than return an empty answer
    return DnsAnswer(tuple(sorted(rdata.to_text() for rdata in rrset)), int(rrset.ttl))


def translate_query_error(exc: BaseException) -> OpResult:
    """Map a failed query to an outcome: always `fail`, since a query changes nothing.

    | exception | error kind | why |
    |---|---|---|
    | LifetimeTimeout | timeout | no resolver answered in time; a closed UDP port looks the
      same, since no ICMP error reaches the resolver's unconnected socket |
    | NXDOMAIN, NoAnswer, YXDOMAIN | rejected | answered: no such name or no record of the type |
    | NoNameservers | error | SERVFAIL or REFUSED from every resolver |
    | other DNSException, OSError | error | |
    """
    if isinstance(exc, dns.resolver.LifetimeTimeout):
        return OpResult.fail(ErrorKind.TIMEOUT, str(exc))
    if isinstance(exc, dns.resolver.NXDOMAIN | dns.resolver.NoAnswer | dns.resolver.YXDOMAIN):
        return OpResult.fail(ErrorKind.REJECTED, str(exc))
    return OpResult.fail(ErrorKind.ERROR, str(exc) or repr(exc))


def answer_fields(answer: DnsAnswer | None) -> dict[str, Any]:
    """The extra keys of a DNS op (docs/journal.md): `a` and `ttl`, null without an answer."""
    if answer is None:
        return {"a": None, "ttl": None}
    return {"a": answer.text, "ttl": answer.ttl}


class DnsProbe(Probe):
    """Queries `qname` each tick; `ok` when a resolver answers with records, `fail` otherwise."""

    kind = "dns.query"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = cast("DnsProbeSpec", self.spec)
        self._resolver: dns.asyncresolver.Resolver | None = None

    async def open(self) -> None:
        """Build the resolver; raises when the system has no resolver and none is listed."""
        self._resolver = make_resolver(self.options.resolvers, self.options.timeout_ms / 1000)
        logger.info("dns probe ready probe=%s qname=%s resolvers=%s", self.name,
                    self.options.qname, self.options.resolvers or "system")

    async def op(self, seq: int) -> OpResult:
        if self._resolver is None:
            await self.open()
        assert self._resolver is not None

        try:
            answer = await query(self._resolver, self.options.qname, self.options.rdtype)
        except (dns.exception.DNSException, OSError) as exc:
            return replace(translate_query_error(exc), extra=answer_fields(None))
        return OpResult(Outcome.OK, extra=answer_fields(answer))
