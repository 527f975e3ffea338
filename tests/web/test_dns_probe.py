"""The DNS probe against the simulator's DNS server: answers, the TTL counted down by the
server's cache, the flip once the cached answer expires, and every failure's outcome.

The server's clock is injected, so that expiry is shown exactly and without waiting; the
queries themselves go over real UDP (and TCP) sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import dns.asyncquery
import dns.message
import pytest
from web_helpers import records_of, upsert

from drdrill.drills.schema import DnsProbe as DnsSpec
from drdrill.probes.base import ErrorKind, OpResult, Outcome
from drdrill.probes.catalog import build_probe
from drdrill.probes.ticker import OpRecord
from drdrill.sim.dns_server import ServedSpan, ZoneCache, ZoneDnsServer, route53_fetch

pytestmark = pytest.mark.timeout(30)

S = 1_000_000_000


class Clock:
    """A monotonic clock in ns that moves only when told."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class Zone:
    """Records by (name, type) -> (values, ttl): the fetch the server's cache calls."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], tuple[tuple[str, ...], int]] = {}

    def fetch(self, name: str, rtype: str) -> tuple[tuple[str, ...], int] | None:
        return self.records.get((name, rtype))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def zone() -> Zone:
    return Zone()


@pytest.fixture
def server(zone: Zone, clock: Clock) -> Iterator[ZoneDnsServer]:
    running = ZoneDnsServer(ZoneCache(zone.fetch, clock), "web.test.")
    running.start()
    yield running
    running.stop()


def _probe(resolver: str, qname: str = "app.web.test", timeout_ms: int = 1000) -> Any:
    spec = DnsSpec(name="dns", kind="dns.query", qname=qname, resolvers=[resolver],
                   timeout_ms=timeout_ms)
    return build_probe(spec, None, "run")


def _answer(a: str, ttl: int) -> OpResult:
    return OpResult(Outcome.OK, extra={"a": a, "ttl": ttl})


async def test_answers_count_the_ttl_down_and_flip_when_it_expires(
    server: ZoneDnsServer, zone: Zone, clock: Clock
) -> None:
    zone.records[("app.web.test.", "A")] = (("10.0.0.1",), 5)
    probe = _probe(server.address)
    await probe.open()

    first = await probe.op(0)
    clock.now = 1_500_000_000
    later = await probe.op(1)
    zone.records[("app.web.test.", "A")] = (("10.0.0.2",), 5)  # the flip, at 1.5 s
    clock.now = 4_900_000_000
    stale = await probe.op(2)
    clock.now = 5 * S
    fresh = await probe.op(3)

    assert [first, later, stale, fresh] == [
        _answer("10.0.0.1", 5), _answer("10.0.0.1", 3), _answer("10.0.0.1", 0),
        _answer("10.0.0.2", 5)]
    assert server.cache.spans == {("app.web.test.", "A"): [
        ServedSpan("10.0.0.1", 0, 4_900_000_000), ServedSpan("10.0.0.2", 5 * S, 5 * S)]}
    assert server.cache.fetches == [(0, "app.web.test.", "A", ("10.0.0.1",)),
                                    (5 * S, "app.web.test.", "A", ("10.0.0.2",))]


async def test_a_refresh_holds_the_answer_a_full_ttl_anew(
    server: ZoneDnsServer, zone: Zone, clock: Clock
) -> None:
    zone.records[("app.web.test.", "A")] = (("10.0.0.1",), 5)
    probe = _probe(server.address)
    await probe.op(0)
    clock.now = 4 * S
    server.cache.refresh("app.web.test", "A")
    zone.records[("app.web.test.", "A")] = (("10.0.0.2",), 5)
    clock.now = 8_900_000_000

    held = await probe.op(1)
    clock.now = 9 * S
    fresh = await probe.op(2)

    assert [held, fresh] == [_answer("10.0.0.1", 0), _answer("10.0.0.2", 5)]
    assert [t for t, *_ in server.cache.fetches] == [0, 4 * S, 9 * S]


async def test_several_values_are_sorted_and_joined(server: ZoneDnsServer, zone: Zone) -> None:
    zone.records[("app.web.test.", "A")] = (("10.0.0.9", "10.0.0.10", "10.0.0.1"), 60)

    result = await _probe(server.address).op(0)

    assert result == _answer("10.0.0.1,10.0.0.10,10.0.0.9", 60)


async def test_the_answer_and_ttl_are_journaled_after_v(server: ZoneDnsServer, zone: Zone) -> None:
    zone.records[("app.web.test.", "A")] = (("10.0.0.1",), 30)
    result = await _probe(server.address).op(7)

    record = OpRecord("dns", 7, 10, 11, 12, result, "app.web.test").as_journal()

    assert record == {"k": "op", "p": "dns", "s": 7, "d": 10, "i": 11, "c": 12, "o": "ok",
                      "e": None, "r": "app.web.test", "v": None, "a": "10.0.0.1", "ttl": 30}
    assert list(record)[-3:] == ["v", "a", "ttl"]


async def test_a_missing_name_fails_rejected_without_answer(server: ZoneDnsServer) -> None:
    result = await _probe(server.address, qname="nothing.web.test").op(0)

    assert (result.outcome, result.error, result.extra) == (
        Outcome.FAIL, ErrorKind.REJECTED, {"a": None, "ttl": None})
    assert result.detail == "The DNS query name does not exist: nothing.web.test."


async def test_a_name_outside_the_zone_is_refused_by_the_server(server: ZoneDnsServer) -> None:
    result = await _probe(server.address, qname="app.elsewhere.test").op(0)

    assert (result.outcome, result.error, result.extra) == (
        Outcome.FAIL, ErrorKind.ERROR, {"a": None, "ttl": None})


async def test_nobody_listening_looks_like_a_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed now; the kernel's ICMP port unreachable does not reach the
    # resolver's unconnected UDP socket, so the query simply goes unanswered.
    result = await _probe(f"127.0.0.1:{port}", timeout_ms=300).op(0)

    assert (result.outcome, result.error) == (Outcome.FAIL, ErrorKind.TIMEOUT)


async def test_a_silent_server_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never read: queries go unanswered
        port = sock.getsockname()[1]
        result = await _probe(f"127.0.0.1:{port}", timeout_ms=300).op(0)

    assert (result.outcome, result.error, result.extra) == (
        Outcome.FAIL, ErrorKind.TIMEOUT, {"a": None, "ttl": None})


async def test_the_server_answers_over_tcp_on_the_same_port(
    server: ZoneDnsServer, zone: Zone
) -> None:
    zone.records[("app.web.test.", "A")] = (("10.0.0.1",), 30)
    host, port = server.address.split(":")

    reply = await dns.asyncquery.tcp(dns.message.make_query("app.web.test.", "A"), host,
                                     port=int(port), timeout=5)

    assert [rdata.to_text() for rdata in reply.answer[0]] == ["10.0.0.1"]
    assert reply.answer[0].ttl == 30


async def test_the_server_reads_route53_records_through_the_api(
    route53: Any, aws_api: str
) -> None:
    import uuid

    created = route53.create_hosted_zone(Name="api.test.", CallerReference=uuid.uuid4().hex)
    zone_id = str(created["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    name = "app.api.test."
    upsert(route53, zone_id,
           {"Name": name, "Type": "A", "SetIdentifier": "us", "Weight": 0, "TTL": 7,
            "ResourceRecords": [{"Value": "10.0.0.1"}]},
           {"Name": name, "Type": "A", "SetIdentifier": "eu", "Weight": 10, "TTL": 9,
            "ResourceRecords": [{"Value": "10.0.1.1"}]},
           {"Name": "alias.api.test.", "Type": "A", "AliasTarget": {
               "HostedZoneId": zone_id, "DNSName": name, "EvaluateTargetHealth": False}})
    assert len(records_of(route53, zone_id, name)) == 2
    running = ZoneDnsServer(ZoneCache(route53_fetch(route53, zone_id)), "api.test.")
    running.start()
    try:
        weighted = await _probe(running.address, qname="app.api.test").op(0)
        alias = await _probe(running.address, qname="alias.api.test").op(1)
    finally:
        running.stop()

    assert weighted == _answer("10.0.1.1", 9)  # a weight of 0 is never answered
    assert (alias.outcome, alias.error) == (Outcome.FAIL, ErrorKind.ERROR)  # SERVFAIL
