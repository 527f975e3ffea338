"""Static checks of docker-compose.dr.yml and of examples/compose.yaml against it.

No Docker engine runs where these tests run, so the compose file is read with PyYAML and
checked for what a rehearsal on a laptop relies on: pinned images, a healthcheck on every
service, ports published on loopback only, and every address, credential, stream, table and
zone that the example drill file names present in the compose file and the files it mounts.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).parents[2]
COMPOSE_FILE = ROOT / "docker-compose.dr.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DRILL = yaml.safe_load((ROOT / "examples" / "compose.yaml").read_text())
# A version tag: numbers joined by dots, then at most a variant (`-alpine`, `-bookworm`).
PINNED_TAG = re.compile(r"^\d+(\.\d+)+(-[a-z0-9]+)?$")
LOOPBACK_PORT = re.compile(r"^127\.0\.0\.1:(\d+):(\d+)$")


def _environment(service: str) -> dict[str, str]:
    return dict(SERVICES[service]["environment"])


def _published(service: str) -> list[int]:
    return [int(LOOPBACK_PORT.match(p).group(1)) for p in SERVICES[service].get("ports", [])]


def _service_on(region: str, port: int) -> str:
    """The one service of `region`'s network that publishes `port`."""
    found = [name for name, spec in SERVICES.items()
             if region in spec["networks"] and port in _published(name)]
    assert len(found) == 1, f"port {port} in {region}: published by {found}"
    return found[0]


def test_every_service_runs_a_pinned_image() -> None:
    images = {name: spec["image"] for name, spec in SERVICES.items()}

    assert images == {
        "pg-us": "postgres:17.6-bookworm",
        "pg-eu": "postgres:17.6-bookworm",
        "nats-us": "nats:2.12.6-alpine",
        "nats-eu": "nats:2.12.6-alpine",
        "nats-setup": "natsio/nats-box:0.18.0",
        "keeper-us": "clickhouse/clickhouse-keeper:25.8.8.26",
        "keeper-eu": "clickhouse/clickhouse-keeper:25.8.8.26",
        "keeper-witness": "clickhouse/clickhouse-keeper:25.8.8.26",
        "ch-us": "clickhouse/clickhouse-server:25.8.8.26",
        "ch-eu": "clickhouse/clickhouse-server:25.8.8.26",
        "aws": "motoserver/moto:5.2.5",
    }
    for name, image in images.items():
        tag = image.rpartition(":")[2]
        assert PINNED_TAG.match(tag), f"{name}: {image} has no pinned version tag"


def test_nats_can_promote_a_mirror() -> None:
    version = SERVICES["nats-us"]["image"].split(":")[1].split("-")[0]

    assert tuple(int(part) for part in version.split(".")) >= (2, 12, 0)
    assert SERVICES["nats-eu"]["image"] == SERVICES["nats-us"]["image"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck(name: str) -> None:
    check = SERVICES[name]["healthcheck"]

    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert len(check["test"]) >= 2
    assert "disable" not in check
    assert check["retries"] >= 30


def test_ports_are_published_on_loopback_only_with_the_same_number_inside() -> None:
    published = {}
    for name, spec in SERVICES.items():
        for entry in spec.get("ports", []):
            match = LOOPBACK_PORT.match(entry)
            assert match, f"{name}: {entry!r} is not 127.0.0.1:PORT:PORT"
            assert match.group(1) == match.group(2), f"{name}: {entry!r}"
        published[name] = _published(name)
        assert "network_mode" not in spec

    assert published == {
        "pg-us": [15432], "pg-eu": [15433], "nats-us": [14222], "nats-eu": [14223],
        "nats-setup": [], "keeper-us": [], "keeper-eu": [], "keeper-witness": [],
        "ch-us": [18123], "ch-eu": [18124], "aws": [15000],
    }


def test_each_region_has_its_own_network() -> None:
    members = {network: sorted(name for name, spec in SERVICES.items()
                               if network in spec["networks"])
               for network in COMPOSE["networks"]}

    assert members == {
        "us-east-1": ["ch-us", "keeper-us", "nats-us", "pg-us"],
        "eu-central-1": ["ch-eu", "keeper-eu", "nats-eu", "pg-eu"],
        "wan": sorted(SERVICES),
    }


def test_mounted_files_exist() -> None:
    sources = [volume.split(":")[0] for spec in SERVICES.values()
               for volume in spec.get("volumes", [])]

    assert sources
    for source in sources:
        assert source.startswith("./compose/"), source
        assert (ROOT / source).exists(), f"{source} is mounted but missing"


def test_the_servers_listen_where_their_ports_are_published() -> None:
    nats_ports = {name: int(re.search(r"^port: (\d+)$", _mounted_text(name, ".conf"),
                                      re.M).group(1))
                  for name in ("nats-us", "nats-eu")}
    clickhouse_ports = {name: int(re.search(r"<http_port>(\d+)</http_port>",
                                            _mounted_text(name, "ch-")).group(1))
                        for name in ("ch-us", "ch-eu")}

    assert (_environment("pg-us")["PGPORT"], _environment("pg-eu")["PGPORT"]) == \
        ("15432", "15433")
    assert _environment("aws")["MOTO_PORT"] == "15000"
    assert nats_ports == {"nats-us": 14222, "nats-eu": 14223}
    assert clickhouse_ports == {"ch-us": 18123, "ch-eu": 18124}


def _mounted_text(service: str, hint: str) -> str:
    """The text of the file `service` reads whose name contains `hint` (its config)."""
    spec = SERVICES[service]
    if service.startswith("nats"):
        path = spec["command"][-1].replace("/compose/", "./compose/")
    else:
        path = next(v.split(":")[0] for v in spec["volumes"] if hint in v.split(":")[0])
    return (ROOT / path).read_text()


# --- the example drill file against the compose file ---------------------------------------


def test_every_target_address_is_published_by_its_region() -> None:
    owners = {}
    for region, targets in DRILL["regions"].items():
        for family, target in targets.items():
            address = urlsplit(target.get("dsn") or target["url"])
            assert address.hostname == "127.0.0.1", f"{region}.{family}: {address.hostname}"
            owners[f"{region}.{family}"] = _service_on(region, address.port)

    assert owners == {
        "us-east-1.postgres": "pg-us", "us-east-1.nats": "nats-us",
        "us-east-1.clickhouse": "ch-us",
        "eu-central-1.postgres": "pg-eu", "eu-central-1.nats": "nats-eu",
        "eu-central-1.clickhouse": "ch-eu",
    }


def test_the_credentials_and_databases_are_the_compose_files() -> None:
    pg = _environment("pg-us")
    for region in ("us-east-1", "eu-central-1"):
        dsn = urlsplit(DRILL["regions"][region]["postgres"]["dsn"])
        clickhouse = DRILL["regions"][region]["clickhouse"]
        ch = _environment("ch-us" if region == "us-east-1" else "ch-eu")

        assert (dsn.username, dsn.password, dsn.path) == \
            (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], f"/{pg['POSTGRES_DB']}")
        assert (clickhouse["username"], clickhouse["password"], clickhouse["database"]) == \
            (ch["CLICKHOUSE_USER"], ch["CLICKHOUSE_PASSWORD"], ch["CLICKHOUSE_DB"])


def test_the_stream_and_its_mirror_are_the_ones_the_setup_creates() -> None:
    origin = json.loads((ROOT / "compose/nats/heartbeat.json").read_text())
    mirror = json.loads((ROOT / "compose/nats/heartbeat-mirror.json").read_text())
    streams = {region: targets["nats"]["stream"] for region, targets in DRILL["regions"].items()}

    assert streams == {"us-east-1": "HEARTBEAT", "eu-central-1": "HEARTBEAT"}
    assert (origin["name"], origin["subjects"]) == ("HEARTBEAT", ["HEARTBEAT.>"])
    assert (mirror["name"], mirror["mirror"]) == \
        ("HEARTBEAT", {"name": "HEARTBEAT", "external": {"api": "$JS.us-east-1.API"}})
    assert "domain: us-east-1" in (ROOT / "compose/nats/nats-us.conf").read_text()


def test_the_heartbeat_table_is_replicated_where_the_probes_write() -> None:
    sql = (ROOT / "compose/clickhouse/heartbeat.sql").read_text()

    assert "CREATE TABLE IF NOT EXISTS drdrill.drdrill_heartbeat" in sql
    assert "ENGINE = ReplicatedMergeTree(" in sql
    for targets in DRILL["regions"].values():
        assert (targets["clickhouse"]["database"], targets["clickhouse"].get("table")) == \
            ("drdrill", None)  # the schema's default table name is drdrill_heartbeat


def test_the_fault_kills_every_primary_region_server_and_nothing_else() -> None:
    faults = DRILL["fault"]

    assert {fault["kind"] for fault in faults} == {"compose.kill"}
    assert sorted(fault["service"] for fault in faults) == \
        sorted(name for name, spec in SERVICES.items() if "us-east-1" in spec["networks"])
    for fault in faults:
        assert (fault["project"], fault["files"]) == (COMPOSE["name"], [COMPOSE_FILE.name])


def test_the_failover_acts_on_eu_central_1_and_the_zone_the_aws_service_creates() -> None:
    steps = {step["kind"]: step for step in DRILL["failover"]}
    flip = steps["route53.flip"]
    endpoint = urlsplit(flip["aws"]["endpoint_url"])

    assert list(steps) == ["postgres.promote", "nats.promote_mirror", "clickhouse.switch",
                           "route53.flip"]
    assert {steps[k]["target"] for k in list(steps)[:3]} == \
        {"eu-central-1.postgres", "eu-central-1.nats", "eu-central-1.clickhouse"}
    assert (endpoint.hostname, _published("aws")) == ("127.0.0.1", [endpoint.port])
    assert flip["zone"] == _zone_script_constant("ZONE_ID")
    assert DRILL["rollback"][0]["zone"] == flip["zone"]
    assert [record["name"] + "." for record in flip["records"]] == \
        [_zone_script_constant("RECORD")]


def _zone_script_constant(name: str) -> str:
    """A string constant of compose/aws/zone.py, read without importing it."""
    tree = ast.parse((ROOT / "compose/aws/zone.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets
                                             if isinstance(t, ast.Name)] == [name]:
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise AssertionError(f"compose/aws/zone.py has no constant {name}")
