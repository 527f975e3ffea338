"""Small local stand-ins for AWS APIs that moto does not serve the way a test needs.

- Route53 GetChange answering PENDING before INSYNC (moto reports every change INSYNC at once);
- a Route 53 ARC cluster endpoint (`route53-recovery-cluster`, which moto does not implement):
  GetRoutingControlState and UpdateRoutingControlState over the awsJson1_0 protocol.

Both speak the wire protocol botocore speaks, so the code under test goes through boto3 and a
real HTTP round trip; each serves on a free loopback port and stops with its context.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

_CHANGE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<GetChangeResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    "<ChangeInfo><Id>{id}</Id><Status>{status}</Status>"
    "<SubmittedAt>2026-12-03T12:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>"
)
_ERROR_XML = (
    '<?xml version="1.0"?><ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    "<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
    "<RequestId>standin</RequestId></ErrorResponse>"
)
# Script steps answered with an AWS error: step -> (HTTP status, code, message).
_ERRORS = {
    "THROTTLE": (400, "Throttling", "Rate exceeded"),
    "NOSUCH": (404, "NoSuchChange", "A change with the specified change ID does not exist."),
}


@dataclass
class ChangeStandIn:
    """Answers GetChange with `script` in order ("PENDING", "INSYNC", or an error: "THROTTLE",
    "NOSUCH"), then INSYNC for ever; `calls` counts the requests."""

    script: list[str]
    calls: int = 0

    async def get_change(self, request: web.Request) -> web.Response:
        step = self.script[self.calls] if self.calls < len(self.script) else "INSYNC"
        self.calls += 1
        if step in _ERRORS:
            status, code, message = _ERRORS[step]
            return web.Response(status=status, text=_ERROR_XML.format(code=code, message=message),
                                content_type="text/xml")
        body = _CHANGE_XML.format(id=f"/change/{request.match_info['id']}", status=step)
        return web.Response(text=body, content_type="text/xml")


@dataclass
class ArcStandIn:
    """One cluster endpoint holding routing control states by ARN; `updates` records each
    UpdateRoutingControlState it took, `unavailable` makes it answer 503 like an endpoint
    that is down for maintenance."""

    states: dict[str, str]
    unavailable: bool = False
    updates: list[dict[str, object]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        if self.unavailable:
            return _json_error(503, "EndpointTemporarilyUnavailableException",
                               "the endpoint is unavailable")

        target = request.headers.get("X-Amz-Target", "")
        body = json.loads(await request.read())
        arn = body.get("RoutingControlArn", "")
        if arn not in self.states:
            return _json_error(400, "ResourceNotFoundException", f"no routing control {arn}")

        if target == "ToggleCustomerAPI.GetRoutingControlState":
            return _json({"RoutingControlArn": arn, "RoutingControlState": self.states[arn]})
        if target == "ToggleCustomerAPI.UpdateRoutingControlState":
            self.states[arn] = body["RoutingControlState"]
            self.updates.append(body)
            return _json({})
        return _json_error(400, "ValidationException", f"unknown target {target}")


def _json(payload: dict[str, object]) -> web.Response:
    return web.Response(text=json.dumps(payload), content_type="application/x-amz-json-1.0")


def _json_error(status: int, code: str, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"__type": code, "message": message}),
                        content_type="application/x-amz-json-1.0")


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def change_app(standin: ChangeStandIn) -> web.Application:
    app = web.Application()
    app.router.add_get("/2013-04-01/change/{id}", standin.get_change)
    return app


def arc_app(standin: ArcStandIn) -> web.Application:
    app = web.Application()
    app.router.add_post("/", standin.handle)
    return app
