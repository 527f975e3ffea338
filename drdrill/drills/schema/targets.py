"""Targets: the endpoints a region holds (`regions.<region>.<family>`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, PositiveInt

from drdrill.drills.schema.common import Strict


class PostgresTarget(Strict):
    dsn: str = Field(description="libpq URL, e.g. postgresql://drill@pg.internal:5432/app")
    table: str = Field("drdrill_heartbeat", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                       description="heartbeat table, created if missing")
    connect_timeout_ms: PositiveInt = 1000


class NatsTarget(Strict):
    url: str = Field(description="nats://host:4222")
    stream: str
    subject: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="prefix of the heartbeats' subjects (`<subject>.<run_id>.<probe>`); on a"
        " mirror, the origin stream's prefix, which its messages keep; default: the stream's name",
    )
    domain: str | None = Field(
        None,
        description="JetStream domain to address through this URL, when the stream lives in"
        " another domain than the server the URL reaches (e.g. across a leafnode)",
    )
    connect_timeout_ms: PositiveInt = 1000


class ClickHouseTarget(Strict):
    url: str = Field(description="http://host:8123")
    database: str = "default"
    table: str = Field("drdrill_heartbeat", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    username: str = "default"
    password: str = ""
    cluster: str | None = None
    insert_settings: dict[str, Any] = Field(default_factory=dict)
    connect_timeout_ms: PositiveInt = 1000
    replication_note: str | None = Field(
        None, description="how this store replicates, as reports show it (the simulator: "
        "'simulated'); default: from `cluster`"
    )


class HttpTarget(Strict):
    url: str


class Region(Strict):
    postgres: PostgresTarget | None = None
    nats: NatsTarget | None = None
    clickhouse: ClickHouseTarget | None = None
    http: HttpTarget | None = None


TARGET_FAMILIES = ("postgres", "nats", "clickhouse", "http")
