"""The HTTP probe (aiohttp): one request per tick against the service URL, as a user makes it.

Why connections cannot pin a dead primary: by default every op opens a new connection
(`force_close`), so each op resolves the name again (through `TtlResolver`, which keeps an
answer only for its TTL) and reaches whatever DNS points at now, exactly as a new user would.
With `keepalive_ms` set, an idle connection is reused, but the whole pool is dropped after any
op that did not succeed and whenever the resolver sees the name's addresses change: a kept-alive
connection to the old region would otherwise keep answering (or failing) long after DNS moved.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from yarl import URL

from drdrill.probes.base import ErrorKind, OpResult, Outcome, Probe
from drdrill.probes.dns import make_resolver
from drdrill.probes.http_resolver import TtlResolver

if TYPE_CHECKING:
    from drdrill.drills.schema import HttpProbe as HttpProbeSpec

logger = logging.getLogger(__name__)

# Requests that change state on the server: a connection lost mid-request leaves their effect
# unknown, so such an op is `info`, not `fail`.
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def translate_request_error(exc: BaseException, method: str) -> OpResult:
    """Map an aiohttp failure to an outcome.

    | exception | outcome | why |
    |---|---|---|
    | ClientConnectorDNSError | fail, error | the name did not resolve: nothing was sent |
    | ClientConnectorError, refused | fail, refused | nothing listens at the address |
    | other ClientConnectorError | fail, error | could not connect (TLS, unreachable...) |
    | ServerDisconnectedError, ClientOSError, ClientPayloadError | fail or info, conn_lost | lost
      mid-request: `info` for a POST (it may have taken effect), `fail` for a GET |
    | ServerTimeoutError | fail, timeout | |
    | other ClientError | fail, error | |
    """
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return OpResult.fail(ErrorKind.ERROR, f"dns: {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return OpResult.fail(ErrorKind.REFUSED, str(exc))
        return OpResult.fail(ErrorKind.ERROR, str(exc))
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return OpResult.fail(ErrorKind.TIMEOUT, str(exc))
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError
                  | aiohttp.ClientPayloadError | OSError):
        if method in _UNSAFE_METHODS:
            return OpResult.info(ErrorKind.CONN_LOST, str(exc))
        return OpResult.fail(ErrorKind.CONN_LOST, str(exc))
    return OpResult.fail(ErrorKind.ERROR, str(exc) or repr(exc))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_response(status: int, body: str | None, spec: Any) -> OpResult:
    """`ok` (v = status) when the status, and the body if asked, are as expected."""
    if status != spec.expect_status:
        return OpResult(Outcome.FAIL, ErrorKind.REJECTED, status,
                        f"status {status}, expected {spec.expect_status}")
    if spec.expect_body is not None and (body is None or spec.expect_body not in body):
        return OpResult(Outcome.FAIL, ErrorKind.REJECTED, status,
                        f"body lacks {spec.expect_body!r}")
    return OpResult.ok(status)


class HttpProbe(Probe):
    """GET, HEAD or POST each tick; `ok` on the expected status (and body), `v` = the status."""

    kind = "http.request"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = cast("HttpProbeSpec", self.spec)
        self.resolver: TtlResolver | None = None
        self._session: aiohttp.ClientSession | None = None
        self._seen_changes = 0
        self._url = URL(self.options.url)

    async def open(self) -> None:
        """Build the resolver; the first op connects."""
        spec = self.options
        dns_resolver = make_resolver(spec.resolvers, spec.timeout_ms / 1000) \
            if spec.resolvers else None
        self.resolver = TtlResolver(dns_resolver)
        logger.info("http probe ready probe=%s method=%s resolvers=%s keepalive_ms=%d",
                    self.name, spec.method, spec.resolvers or "system", spec.keepalive_ms)

    async def op(self, seq: int) -> OpResult:
        spec = self.options
        session = await self._current_session()
        try:
            async with session.request(spec.method, spec.url, data=spec.body,
                                       allow_redirects=False) as response:
                body = await response.text(errors="replace") if spec.expect_body else None
                result = check_response(response.status, body, spec)
        except (aiohttp.ClientError, OSError) as exc:
            result = translate_request_error(exc, spec.method)

        if result.outcome is not Outcome.OK:
            await self._drop()
        return result

    async def on_timeout(self) -> None:
        await self._drop()

    async def close(self) -> None:
        await self._drop()
        if self.resolver is not None:
            await self.resolver.close()

    async def _current_session(self) -> aiohttp.ClientSession:
        """The session to use now: a new one after a failure or a change of DNS answer."""
        if self.resolver is None:
            await self.open()
        assert self.resolver is not None

        if self._session is not None and self.options.keepalive_ms:
            await self._look_up_again(self.resolver)
            if self.resolver.changes != self._seen_changes:
                logger.info("http probe dropping connections after a dns change probe=%s",
                            self.name)
                await self._drop()

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=self._connector(self.resolver),
                timeout=aiohttp.ClientTimeout(total=None),  # the ticker owns the op timeout
            )
            self._seen_changes = self.resolver.changes
        return self._session

    async def _look_up_again(self, resolver: TtlResolver) -> None:
        """Resolve the URL's host as a new connection would (cached for its TTL): aiohttp does
        not resolve while it holds an idle connection, so a change would go unseen."""
        host = self._url.host
        if host is None or _is_address(host):
            return
        with contextlib.suppress(OSError):  # the request itself will say DNS fails
            await resolver.resolve(host, self._url.port or 0, socket.AF_UNSPEC)

    def _connector(self, resolver: TtlResolver) -> aiohttp.TCPConnector:
        keepalive = self.options.keepalive_ms
        if keepalive == 0:
            return aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, force_close=True)
        return aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False,
                                    keepalive_timeout=keepalive / 1000)

    async def _drop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
