"""How the HTTP probe finds its server: through DNS, keeping each answer exactly its TTL.

aiohttp's own DNS cache keeps every name for a fixed time (10 s by default) whatever the
record's TTL, so after a Route53 flip it would hide the change for a time that belongs to
aiohttp, not to the zone. The probe turns that cache off and resolves through this resolver
instead: with resolvers listed, dnspython asks them and the answer is kept for its TTL, as a
stub resolver does; without, the system's getaddrinfo answers every time, caching whatever the
system caches.

`changes` counts the times a host's addresses differed from the previous answer, so that a
probe reusing connections can tell when DNS moved and drop connections to the old address.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import dns.asyncresolver
import dns.exception
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from drdrill.probes.dns import query

logger = logging.getLogger(__name__)


class TtlResolver(AbstractResolver):
    """An aiohttp resolver that keeps answers for their TTL (dnspython) or not at all (system).

    `clock` returns seconds (monotonic); it can be injected to test expiry without waiting.
    """

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dns = resolver
        self._system = ThreadedResolver() if resolver is None else None
        self._clock = clock
        self._cache: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._last: dict[tuple[str, int], list[str]] = {}
        self.changes = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Addresses of `host`; raises OSError when it cannot be resolved (aiohttp's contract)."""
        if self._system is not None:
            results = await self._system.resolve(host, port, family)
            self._note((host, family), sorted(r["host"] for r in results))
            return results

        addresses = await self._cached_or_asked(host, family)
        inet = socket.AF_INET6 if family == socket.AF_INET6 else socket.AF_INET
        return [
            ResolveResult(hostname=host, host=address, port=port, family=inet, proto=0,
                          flags=socket.AI_NUMERICHOST)
            for address in addresses
        ]

    async def close(self) -> None:
        """Nothing to release: dnspython keeps no socket open between queries."""
        if self._system is not None:
            await self._system.close()

    async def _cached_or_asked(self, host: str, family: int) -> list[str]:
        key = (host, family)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]

        # A and nothing else unless the connector asks for IPv6: the drill's records are what
        # the probe follows, and a happy-eyeballs race would blur which address served an op.
        rdtype = "AAAA" if family == socket.AF_INET6 else "A"
        assert self._dns is not None
        try:
            answer = await query(self._dns, host, rdtype)
        except dns.exception.DNSException as exc:
            raise OSError(f"cannot resolve {host} ({rdtype}): {exc}") from exc

        addresses = list(answer.values)
        self._cache[key] = (self._clock() + answer.ttl, addresses)
        self._note(key, addresses)
        return addresses

    def _note(self, key: tuple[str, int], addresses: list[str]) -> None:
        previous = self._last.get(key)
        if previous is not None and previous != addresses:
            self.changes += 1
            logger.info("dns answer changed host=%s from=%s to=%s", key[0], previous, addresses)
        self._last[key] = addresses
