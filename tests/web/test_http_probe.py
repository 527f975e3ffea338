"""The HTTP probe against the simulator's regional web apps, which write through to a real
PostgreSQL primary and its standby, reached by name through the simulator's DNS server."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from web_helpers import make_workdir

from drdrill.drills.schema import HttpProbe as HttpSpec
from drdrill.probes.base import ErrorKind, OpResult, Outcome
from drdrill.probes.catalog import build_probe
from drdrill.probes.dns import make_resolver
from drdrill.probes.http import translate_request_error
from drdrill.probes.http_resolver import TtlResolver
from drdrill.sim.dns_server import ZoneCache, ZoneDnsServer
from drdrill.sim.pgcluster import PgPair
from drdrill.sim.procs import ManagedProcess
from drdrill.sim.web_servers import shared_free_port, start_webapp
from drdrill.sim.webapp import CREATE_TABLE_SQL, TABLE

pytestmark = pytest.mark.timeout(120)

PRIMARY_HOST, SECONDARY_HOST = "127.0.0.2", "127.0.0.3"
NAME = "app.web.test"


@dataclass
class Tier:
    """Both regions' apps on one port, their databases, and a DNS server for `app.web.test`."""

    pair: PgPair
    port: int
    dns: ZoneDnsServer
    records: dict[tuple[str, str], tuple[tuple[str, ...], int]]

    def point_at(self, host: str) -> None:
        """Change the record (TTL 1 s); the DNS server sees it once its cached copy expires."""
        self.records[(NAME + ".", "A")] = ((host,), 1)


@pytest_asyncio.fixture(scope="module")
async def tier() -> AsyncIterator[Tier]:
    workdir = make_workdir()
    pair = await PgPair.create(workdir / "pg")
    conn = await asyncpg.connect(pair.primary.dsn)
    await conn.execute(CREATE_TABLE_SQL)
    await conn.close()

    port = shared_free_port((PRIMARY_HOST, SECONDARY_HOST))
    apps = [await start_webapp("primary", PRIMARY_HOST, port, pair.primary.dsn, workdir),
            await start_webapp("secondary", SECONDARY_HOST, port, pair.standby.dsn, workdir)]
    records: dict[tuple[str, str], tuple[tuple[str, ...], int]] = {}
    dns = ZoneDnsServer(ZoneCache(lambda name, rtype: records.get((name, rtype))), "web.test.")
    dns.start()
    yield Tier(pair, port, dns, records)

    dns.stop()
    for app in apps:
        await app.stop()
    await pair.stop()
    shutil.rmtree(workdir)


def _probe(url: str, **fields: Any) -> Any:
    spec = HttpSpec.model_validate({"name": "http", "kind": "http.request", "url": url, **fields})
    return build_probe(spec, None, "run")


async def _ops(probe: Any, count: int) -> list[OpResult]:
    await probe.open()
    try:
        return [await probe.op(seq) for seq in range(count)]
    finally:
        await probe.close()


async def _orders(dsn: str, region: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {TABLE} WHERE region = $1",
                                       region))
    finally:
        await conn.close()


async def test_posts_reach_the_primary_app_by_name_and_are_committed(tier: Tier) -> None:
    tier.point_at(PRIMARY_HOST)
    before = await _orders(tier.pair.primary.dsn, "primary")
    probe = _probe(f"http://{NAME}:{tier.port}/orders", method="POST", expect_status=201,
                   expect_body='"ok": true', resolvers=[tier.dns.address])

    results = await _ops(probe, 3)

    assert results == [OpResult.ok(201)] * 3
    assert await _orders(tier.pair.primary.dsn, "primary") == before + 3
    assert probe.route.name == NAME


async def test_the_secondary_refuses_writes_while_its_database_is_a_standby(tier: Tier) -> None:
    probe = _probe(f"http://{SECONDARY_HOST}:{tier.port}/orders", method="POST",
                   expect_status=201)

    (result,) = await _ops(probe, 1)

    assert result == OpResult(Outcome.FAIL, ErrorKind.REJECTED, 503,
                              "status 503, expected 201")


async def test_a_body_without_the_expected_text_is_rejected(tier: Tier) -> None:
    probe = _probe(f"http://{PRIMARY_HOST}:{tier.port}/health",
                   expect_body='"region": "secondary"')

    (result,) = await _ops(probe, 1)

    assert result == OpResult(Outcome.FAIL, ErrorKind.REJECTED, 200,
                              "body lacks '\"region\": \"secondary\"'")


@pytest.mark.parametrize("keepalive_ms", [0, 30_000])
async def test_the_probe_follows_dns_once_the_ttl_expires(tier: Tier, keepalive_ms: int) -> None:
    tier.point_at(PRIMARY_HOST)
    await asyncio.sleep(1.1)  # whatever an earlier test left in the server's cache expires
    probe = _probe(f"http://{NAME}:{tier.port}/health", expect_body='"region": "primary"',
                   resolvers=[tier.dns.address], keepalive_ms=keepalive_ms)
    await probe.open()
    try:
        before = [await probe.op(0), await probe.op(1)]
        tier.point_at(SECONDARY_HOST)
        cached = await probe.op(2)  # the answer is still held for its TTL, by both caches
        await asyncio.sleep(1.1)
        after = await probe.op(3)
    finally:
        await probe.close()

    assert before == [OpResult.ok(200)] * 2
    assert cached == OpResult.ok(200)
    # The secondary's app answered: a kept-alive connection did not pin the primary.
    assert after == OpResult(Outcome.FAIL, ErrorKind.REJECTED, 200,
                             "body lacks '\"region\": \"primary\"'")
    assert probe.resolver.changes == 1


async def test_a_dead_app_is_refused(tier: Tier) -> None:
    workdir = make_workdir()
    port = shared_free_port(("127.0.0.4",))
    app: ManagedProcess = await start_webapp("doomed", "127.0.0.4", port,
                                             tier.pair.primary.dsn, workdir)
    probe = _probe(f"http://127.0.0.4:{port}/health")
    await probe.open()
    try:
        alive = await probe.op(0)
        app.kill()
        dead = await probe.op(1)
    finally:
        await probe.close()
        shutil.rmtree(workdir)

    assert alive == OpResult.ok(200)
    assert (dead.outcome, dead.error, dead.value) == (Outcome.FAIL, ErrorKind.REFUSED, None)


async def test_a_name_that_does_not_resolve_is_a_dns_error(tier: Tier) -> None:
    probe = _probe(f"http://nothing.web.test:{tier.port}/health",
                   resolvers=[tier.dns.address])

    (result,) = await _ops(probe, 1)

    assert (result.outcome, result.error) == (Outcome.FAIL, ErrorKind.ERROR)
    assert result.detail is not None and result.detail.startswith("dns: ")


def test_a_connection_lost_mid_request_is_unknown_for_a_post_only() -> None:
    lost = aiohttp.ServerDisconnectedError()

    assert translate_request_error(lost, "POST") == OpResult.info(
        ErrorKind.CONN_LOST, "Server disconnected")
    assert translate_request_error(lost, "GET") == OpResult.fail(
        ErrorKind.CONN_LOST, "Server disconnected")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_resolver_keeps_an_answer_exactly_its_ttl(tier: Tier) -> None:
    records: dict[tuple[str, str], tuple[tuple[str, ...], int]] = {
        ("app.web.test.", "A"): (("10.0.0.1",), 30)}
    server_clock = Clock()
    dns = ZoneDnsServer(ZoneCache(lambda name, rtype: records.get((name, rtype)),
                                  lambda: int(server_clock.now * 1e9)), "web.test.")
    dns.start()
    clock = Clock()
    resolver = TtlResolver(make_resolver([dns.address], 2.0), clock)
    try:
        first = await resolver.resolve(NAME, 80)
        records[("app.web.test.", "A")] = (("10.0.0.2",), 30)
        server_clock.now = clock.now = 29.9
        held = await resolver.resolve(NAME, 80)
        server_clock.now = clock.now = 30.0
        moved = await resolver.resolve(NAME, 80)
    finally:
        dns.stop()
        await resolver.close()

    assert [r["host"] for r in first + held + moved] == ["10.0.0.1", "10.0.0.1", "10.0.0.2"]
    assert first[0] == {"hostname": NAME, "host": "10.0.0.1", "port": 80,
                        "family": socket.AF_INET, "proto": 0, "flags": socket.AI_NUMERICHOST}
    # The held answer never reached the server: it served the old answer once, at 0 s.
    assert [(s.answer, s.first_t, s.last_t) for s in dns.cache.spans[(NAME + ".", "A")]] == [
        ("10.0.0.1", 0, 0), ("10.0.0.2", 30_000_000_000, 30_000_000_000)]
    assert resolver.changes == 1


async def test_without_resolvers_the_system_answers_every_time() -> None:
    resolver = TtlResolver(None)
    try:
        results = await resolver.resolve("localhost", 80, socket.AF_INET)
    finally:
        await resolver.close()

    assert {r["host"] for r in results} == {"127.0.0.1"}
    assert resolver.changes == 0
