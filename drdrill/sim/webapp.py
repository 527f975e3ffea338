"""The simulator's web app: one per region, writing each order through to that region's PostgreSQL.

It is what the HTTP probe reaches through DNS, so the probe sees what a user sees: the primary
region's app answers until the region dies; the secondary's refuses writes (503, its database is
a read-only standby) until the standby is promoted, then takes them.

Run as its own process (`python -m drdrill.sim.webapp`), so that the region failure can kill
it like any server:

    python -m drdrill.sim.webapp --region primary --host 127.0.0.2 --port 8080 --dsn postgresql://...

| request | answer |
|---|---|
| POST /orders | 201 `{"ok": true, "region", "id"}` once the row is committed; 503 otherwise |
| GET /health | 200 `{"ok": true, "region", "writable"}` when the database answers; 503 otherwise |
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import asyncpg
from aiohttp import web

logger = logging.getLogger(__name__)

TABLE = "drdrill_webapp_orders"
CREATE_TABLE_SQL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " id bigserial PRIMARY KEY, region text NOT NULL, created_at timestamptz NOT NULL)"
)
# A request must not hang on a dead database longer than a user would wait for an error page.
_DB_TIMEOUT_S = 2.0
_POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
_REGION = web.AppKey("region", str)
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def database_error(region: str, exc: BaseException) -> web.Response:
    """A 503 naming why the write or read did not happen."""
    reason = "read_only" if isinstance(exc, asyncpg.ReadOnlySQLTransactionError) else (
        f"database unavailable: {type(exc).__name__}")
    return web.json_response({"ok": False, "region": region, "error": reason}, status=503)


async def create_order(request: web.Request) -> web.Response:
    """Insert one order; 201 once committed."""
    region = request.app[_REGION]
    try:
        async with request.app[_POOL].acquire(timeout=_DB_TIMEOUT_S) as conn:
            order_id = await conn.fetchval(
                f"INSERT INTO {TABLE} (region, created_at) VALUES ($1, now()) RETURNING id",
                region, timeout=_DB_TIMEOUT_S)
    except _DB_ERRORS as exc:
        return database_error(region, exc)
    return web.json_response({"ok": True, "region": region, "id": order_id}, status=201)


async def health(request: web.Request) -> web.Response:
    """200 when the region's database answers, saying whether it takes writes."""
    region = request.app[_REGION]
    try:
        async with request.app[_POOL].acquire(timeout=_DB_TIMEOUT_S) as conn:
            standby = await conn.fetchval("SELECT pg_is_in_recovery()", timeout=_DB_TIMEOUT_S)
    except _DB_ERRORS as exc:
        return database_error(region, exc)
    return web.json_response({"ok": True, "region": region, "writable": not standby})


def build_app(region: str, dsn: str) -> web.Application:
    """The app of one region; its pool connects lazily, so a database down at start is no error."""
    app = web.Application()
    app[_REGION] = region

    async def pool_context(app: web.Application) -> Any:
        pool = await asyncpg.create_pool(dsn, min_size=0, max_size=4,
                                         timeout=_DB_TIMEOUT_S, command_timeout=_DB_TIMEOUT_S)
        app[_POOL] = pool
        yield
        pool.terminate()

    app.cleanup_ctx.append(pool_context)
    app.router.add_post("/orders", create_order)
    app.router.add_get("/health", health)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve one region's app until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m drdrill.sim.webapp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", required=True)
    parser.add_argument("--host", required=True, help="a loopback address, e.g. 127.0.0.2")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="the region's PostgreSQL")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logger.info("webapp starting region=%s listen=%s:%d", args.region, args.host, args.port)
    web.run_app(build_app(args.region, args.dsn), host=args.host, port=args.port,
                access_log=None, print=None)


if __name__ == "__main__":
    main()
