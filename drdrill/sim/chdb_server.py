"""A small ClickHouse-compatible HTTP endpoint backed by chdb: the simulator's ClickHouse server.

Run one per region, each in its own process so that a fault can kill it:

    python -m drdrill.sim.chdb_server --port 8123 --path /var/tmp/ch-primary

It speaks as much of ClickHouse's HTTP interface as clickhouse-connect (sync or async,
unmodified) uses, and nothing more:

- `GET /ping`, or `GET /` without a query: `Ok.`;
- the SQL in the `query` URL parameter (GET or POST) or as the POST body: run it, the result
  in the query's `FORMAT`, else `default_format`, else TabSeparated;
- `INSERT ... FORMAT <fmt>` in the URL and the data as the body, or that statement as the
  body's first line and the data after it (what clickhouse-connect's `insert()` sends, in
  Native): the data is read in that format;
- multipart/form-data with `query` and `param_*` fields: as if they were URL parameters;
- `Content-Encoding` lz4 (a sequence of frames), zstd, gzip, deflate: decompressed first;
- `param_<name>`: the value of a `{name:Type}` placeholder;
- any other URL parameter: a setting of this request only (an unknown one fails with code
  115, as in ClickHouse);
- a failure: HTTP 4xx/5xx, `X-ClickHouse-Exception-Code: <code>`, and the body
  `Code: N. DB::Exception: ... (NAME) (version V)`.

Not supported, because no probe of drdrill needs them: sessions (`session_id` is accepted and
ignored: each request stands alone), external data tables, ClickHouse's own block compression
(`compress=1`, `decompress=1`), the native TCP protocol, authentication (any user is accepted:
the endpoint listens on loopback only), and the newer Native block header that
`client_protocol_version` asks for (the client probes for it and falls back to plain Native).
It is a simulator part, never used against real targets.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import signal
import sys
import uuid
import zlib
from pathlib import Path

import lz4.frame
from aiohttp import web
from backports import zstd

from drdrill.sim.chdb_engine import (
    Answer,
    ChdbEngine,
    EngineError,
    Statement,
    split_insert,
)

logger = logging.getLogger(__name__)

DISPLAY_NAME = "drdrill-chdb"
BAD_ARGUMENTS = 36
_TRANSPORT_PARAMS = frozenset({
    "query", "database", "default_format", "user", "password", "quota_key", "query_id",
    "session_id", "session_timeout", "session_check", "buffer_size", "wait_end_of_query",
    "client_protocol_version", "role", "compress", "decompress",
})
# ClickHouse answers these codes with these statuses; every other failure is a 500.
_STATUS_OF_CODE = {60: 404, 81: 404, 62: 400, 164: 403, 516: 403}
_ENGINE_KEY = web.AppKey("engine", ChdbEngine)


class RequestError(Exception):
    """The request itself cannot be served (an encoding or feature we do not speak)."""


def decompress_body(body: bytes, encoding: str | None) -> bytes:
    """The request body without its Content-Encoding; raises RequestError for an unknown
    encoding or a body that does not decompress.

    clickhouse-connect compresses each insert block separately, so an lz4 or zstd body is a
    sequence of frames, not one.
    """
    if not encoding or encoding == "identity" or not body:
        return body
    try:
        return _decompress(body, encoding)
    except RequestError:
        raise
    except Exception as exc:  # each codec raises its own error type for corrupt data
        raise RequestError(f"Cannot decompress the {encoding} body: {exc}") from exc


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "lz4":
        return _lz4_frames(body)
    if encoding == "zstd":
        return bytes(zstd.decompress(body))
    raise RequestError(f"Unsupported Content-Encoding {encoding!r}")


def _lz4_frames(body: bytes) -> bytes:
    out = bytearray()
    rest = body
    while rest:
        decompressor = lz4.frame.LZ4FrameDecompressor()
        out += decompressor.decompress(rest)
        rest = decompressor.unused_data
    return bytes(out)


async def read_statement(request: web.Request) -> Statement:
    """The statement a request carries: its SQL, insert data, settings and parameters."""
    params = {key: value for key, value in request.query.items()}
    body = b""
    if request.content_type == "multipart/form-data":
        params.update(await _form_fields(request))
    else:
        body = decompress_body(await request.read(), request.headers.get("Content-Encoding"))

    for flag in ("compress", "decompress"):
        if params.get(flag, "0") not in ("0", ""):
            raise RequestError(f"{flag}=1 (ClickHouse block compression) is not supported")

    sql, data = _sql_and_data(params.get("query", ""), body)
    return Statement(
        sql=sql,
        data=data,
        settings={k: v for k, v in params.items()
                  if k not in _TRANSPORT_PARAMS and not k.startswith("param_")},
        params={k[len("param_"):]: v for k, v in params.items() if k.startswith("param_")},
        database=params.get("database"),
        readonly=request.method == "GET",
        default_format=params.get("default_format", "TabSeparated"),
    )


async def _form_fields(request: web.Request) -> dict[str, str]:
    fields: dict[str, str] = {}
    reader = await request.multipart()
    async for part in reader:
        if getattr(part, "filename", None):
            raise RequestError("external data (a file part of the form) is not supported")
        fields[part.name or ""] = (await part.read()).decode()  # type: ignore[union-attr]
    return fields


def _sql_and_data(head: str, body: bytes) -> tuple[str, bytes | None]:
    """Split a request into SQL and insert data, as ClickHouse joins the URL query and body.

    Cases: an INSERT with FORMAT in the URL takes the whole body as data; a body whose first
    line is such an INSERT carries its data after that line; otherwise the body continues
    the URL's query text.
    """
    if head and split_insert(head) is not None:
        return head, body
    if not head:
        newline = body.find(b"\n")
        first = body[:newline] if newline >= 0 else body
        if split_insert(first.decode(errors="replace")) is not None:
            return first.decode(), body[newline + 1:] if newline >= 0 else b""
    return head + body.decode(), None


async def handle(request: web.Request) -> web.StreamResponse:
    """Serve one HTTP request the way clickhouse-server's HTTP handler would."""
    engine = request.app[_ENGINE_KEY]
    if request.path == "/ping" or (request.path == "/" and request.method == "GET"
                                   and "query" not in request.query):
        return web.Response(text="Ok.\n")
    if request.path != "/":
        return web.Response(status=404, text=f"There is no handler {request.path}\n")

    query_id = request.query.get("query_id") or str(uuid.uuid4())
    try:
        stmt = await read_statement(request)
        answer = await asyncio.to_thread(engine.execute, stmt)
    except EngineError as exc:
        return _error(engine, query_id, exc.code, exc.message)
    except (RequestError, ValueError, OSError) as exc:
        message = f"Code: {BAD_ARGUMENTS}. DB::Exception: {exc}. (BAD_ARGUMENTS)"
        return _error(engine, query_id, BAD_ARGUMENTS, message)
    return _answer(engine, query_id, answer)


def _answer(engine: ChdbEngine, query_id: str, answer: Answer) -> web.Response:
    headers = _common_headers(engine, query_id, answer.summary)
    content_type = "application/octet-stream"
    if answer.format is not None:
        headers["X-ClickHouse-Format"] = answer.format
        if answer.format in ("TabSeparated", "TSV"):
            content_type = "text/tab-separated-values"
    return web.Response(body=answer.body, headers=headers, content_type=content_type)


def _error(engine: ChdbEngine, query_id: str, code: int, message: str) -> web.Response:
    logger.info("query failed code=%d query_id=%s", code, query_id)
    headers = _common_headers(engine, query_id, {})
    headers["X-ClickHouse-Exception-Code"] = str(code)
    body = f"{message} (version {engine.version})\n"
    return web.Response(status=_STATUS_OF_CODE.get(code, 500), text=body, headers=headers)


def _common_headers(engine: ChdbEngine, query_id: str, summary: dict[str, str]) -> dict[str, str]:
    return {
        "X-ClickHouse-Server-Display-Name": DISPLAY_NAME,
        "X-ClickHouse-Query-Id": query_id,
        "X-ClickHouse-Timezone": engine.timezone,
        "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
    }


def build_app(engine: ChdbEngine) -> web.Application:
    """The aiohttp application serving `engine`; the engine is closed at shutdown."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[_ENGINE_KEY] = engine
    app.router.add_route("*", "/{tail:.*}", handle)

    async def close_engine(_: web.Application) -> None:
        engine.close()

    app.on_cleanup.append(close_engine)
    return app


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m drdrill.sim.chdb_server",
        description="Serve a chdb data directory over ClickHouse's HTTP interface (simulator).",
    )
    parser.add_argument("--port", type=int, required=True, help="TCP port on --host")
    parser.add_argument("--path", type=Path, required=True, help="the chdb data directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(engine: ChdbEngine, host: str, port: int) -> None:
    """Serve `engine` on host:port until SIGTERM or SIGINT."""
    # aiohttp would decompress gzip, deflate and zstd bodies itself but not lz4: turned off so
    # that every encoding takes the same path.
    runner = web.AppRunner(build_app(engine), access_log=None, auto_decompress=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logger.info("chdb server listening host=%s port=%d", host, port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then close the engine (committed parts stay on disk)."""
    args = _parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    engine = ChdbEngine(args.path)
    asyncio.run(serve(engine, args.host, args.port))
    logger.info("chdb server stopped port=%d", args.port)


if __name__ == "__main__":
    main()
