"""The simulator's DNS and web tier: a Route53 zone served locally, a DNS server answering from
it with real TTLs, and one web app per region that users reach by name.

Users find the service as `app.drill.test`, an A record pointing at the primary region's app.
The region failure kills that app with the rest of the region; the failover flips the record to
the secondary's app once its PostgreSQL is promoted. DNS answers carry addresses, not ports, so
each region's app listens on its own loopback address (127.0.0.2, 127.0.0.3), on one shared port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg

from drdrill import aws
from drdrill.sim.component import PRIMARY, SECONDARY, DrillSlice, SimComponent, SimEnv
from drdrill.sim.dns_server import ZoneCache, ZoneDnsServer, route53_fetch
from drdrill.sim.procs import ManagedProcess
from drdrill.sim.web_servers import (
    dummy_aws_credentials,
    shared_free_port,
    start_moto,
    start_webapp,
)
from drdrill.sim.webapp import CREATE_TABLE_SQL

if TYPE_CHECKING:
    from drdrill.drills.runner import DrillRun
    from drdrill.sim.scenarios import ScenarioOptions

logger = logging.getLogger(__name__)

ZONE = "drill.test."
SERVICE = "app.drill.test"
APP_HOSTS = {PRIMARY: "127.0.0.2", SECONDARY: "127.0.0.3"}
AWS_REGION = "us-east-1"
DNS_PROBE = "dns-app"
HTTP_PROBE = "http-app"
# Outside the dns-ttl scenario the TTL is short, so that DNS adds little to the other drills.
DEFAULT_TTL_SECONDS = 1


def record_ttl(scenario: ScenarioOptions) -> int:
    """The TTL of the service's record: the scenario's in dns-ttl (whole seconds, as Route53
    takes it), DEFAULT_TTL_SECONDS otherwise."""
    if scenario.name == "dns-ttl":
        return max(0, round(scenario.ttl_seconds))
    return DEFAULT_TTL_SECONDS


def create_zone(client: Any, ttl: int) -> str:
    """The hosted zone with the service's record on the primary's app; returns the zone id."""
    zone = client.create_hosted_zone(Name=ZONE, CallerReference=uuid.uuid4().hex)
    zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": SERVICE, "Type": "A", "TTL": ttl,
                              "ResourceRecords": [{"Value": APP_HOSTS[PRIMARY]}]},
    }]})
    return zone_id


class Route53Component(SimComponent):
    """moto's Route53 with one zone, the caching DNS server, and a web app per region."""

    name = "route53"

    def __init__(self) -> None:
        self.ttl = DEFAULT_TTL_SECONDS
        self.moto: ManagedProcess | None = None
        self.endpoint_url = ""
        self.zone_id = ""
        self.app_port = 0
        self.apps: dict[str, ManagedProcess] = {}
        self.dns: ZoneDnsServer | None = None
        self._credentials = contextlib.ExitStack()

    async def start(self, env: SimEnv) -> None:
        dsns = _postgres_dsns(env)
        self.ttl = record_ttl(env.scenario)
        self._credentials.enter_context(dummy_aws_credentials())

        # 1. The AWS API and the zone, the record pointing at the primary region's app.
        self.moto, self.endpoint_url = await start_moto(env.workdir)
        client = await asyncio.to_thread(aws.client, "route53", region=AWS_REGION,
                                         endpoint_url=self.endpoint_url, timeout_s=10)
        self.zone_id = await asyncio.to_thread(create_zone, client, self.ttl)

        # 2. The apps: the table is made on the primary and reaches the standby by replication.
        await _create_orders_table(dsns[PRIMARY])
        self.app_port = shared_free_port(tuple(APP_HOSTS.values()))
        for region, host in APP_HOSTS.items():
            self.apps[region] = await start_webapp(region, host, self.app_port, dsns[region],
                                                   env.workdir)

        # 3. The DNS server users' resolvers stand for, reading the zone through the API.
        self.dns = ZoneDnsServer(ZoneCache(route53_fetch(client, self.zone_id)), ZONE)
        self.dns.start()
        logger.info("route53 sim ready zone=%s ttl=%d dns=%s", self.zone_id, self.ttl,
                    self.dns.address)

    @property
    def started(self) -> ZoneDnsServer:
        if self.dns is None:
            raise RuntimeError("the route53 component has not been started")
        return self.dns

    def drill_slice(self, env: SimEnv) -> DrillSlice:
        resolver = self.started.address
        interval = env.scenario.interval_ms
        return DrillSlice(
            probes=[
                {"name": DNS_PROBE, "kind": "dns.query", "qname": SERVICE, "resolvers": [resolver],
                 "interval_ms": interval, "timeout_ms": 1000},
                {"name": HTTP_PROBE, "kind": "http.request", "method": "POST",
                 "url": f"http://{SERVICE}:{self.app_port}/orders", "expect_status": 201,
                 "expect_body": '"ok": true', "resolvers": [resolver],
                 "interval_ms": interval, "timeout_ms": 1000, "critical": True},
            ],
            faults=[{"kind": "process.kill", "label": f"{PRIMARY}.webapp",
                     "pid": self.apps[PRIMARY].pid}],
            failover=[{
                "kind": "route53.flip", "name": "flip-app", "zone": self.zone_id,
                "records": [{"name": SERVICE, "type": "A",
                             "to": {"values": [APP_HOSTS[SECONDARY]]}}],
                "poll_seconds": 0.2, "timeout_seconds": 30,
                "aws": {"region": AWS_REGION, "endpoint_url": self.endpoint_url},
            }],
        )

    def facts(self) -> dict[str, Any]:
        return {
            "backend": "moto server mode (Route53), dnslib caching server, aiohttp apps",
            "ttl_seconds": self.ttl,
            "dns": self.dns.address if self.dns else None,
            "apps": {region: f"{host}:{self.app_port}" for region, host in APP_HOSTS.items()},
        }

    async def after_fault(self, run: DrillRun, env: SimEnv) -> None:
        if env.scenario.name != "dns-ttl":
            return

        # The scenario's condition: resolvers refreshed their copy of the old answer at T0,
        # so clients may hold it a full TTL from the failure on, the case the TTL is for.
        await asyncio.to_thread(self.started.cache.refresh, SERVICE, "A")
        run.note("info", f"sim: the DNS server's copy of {SERVICE} refreshed at T0"
                         f" (TTL {self.ttl} s)")

    async def truth(self, run: DrillRun, env: SimEnv) -> list[dict[str, Any]]:
        """When the DNS server last served the old answer, and when its copy of it expired."""
        record = dns_truth(self.started.cache, SERVICE, self.ttl)
        logger.info("sim truth dns=%s last_old_served_t=%s", SERVICE,
                    record["last_old_served_t"])
        return [record]

    async def stop(self) -> None:
        if self.dns is not None:
            self.dns.stop()
        for process in [*self.apps.values(), *([self.moto] if self.moto else [])]:
            await process.stop()
        self._credentials.close()


def dns_truth(cache: ZoneCache, name: str, ttl: int) -> dict[str, Any]:
    """The `dns_truth` record (docs/journal.md) of the service's A record, from the server's
    own log of what it fetched and served."""
    old, new = APP_HOSTS[PRIMARY], APP_HOSTS[SECONDARY]
    spans = cache.spans.get((name + ".", "A"), [])
    old_fetches = [t for t, fetched_name, _, values in cache.fetches
                   if fetched_name == name + "." and values == (old,)]
    return {
        "k": "dns_truth",
        "name": name,
        "type": "A",
        "ttl_seconds": ttl,
        "old": old,
        "new": new,
        "last_old_served_t": max((s.last_t for s in spans if s.answer == old), default=None),
        "first_new_served_t": min((s.first_t for s in spans if s.answer == new), default=None),
        "old_expired_t": max(old_fetches) + ttl * 1_000_000_000 if old_fetches else None,
        "method": "the simulator's caching DNS server: what it served, and when its cached"
                  " copy of the old answer expired",
    }


def _postgres_dsns(env: SimEnv) -> dict[str, str]:
    """Each region's PostgreSQL DSN, from the postgres component (started before this one)."""
    component = env.components.get("postgres")
    pair = getattr(component, "pair", None)
    if pair is None:
        raise RuntimeError("the route53 component needs the postgres component, started first")
    return {PRIMARY: pair.primary.dsn, SECONDARY: pair.standby.dsn}


async def _create_orders_table(dsn: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(CREATE_TABLE_SQL)
    finally:
        await conn.close()
