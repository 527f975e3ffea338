"""The drill's Route53 hosted zone in the local AWS API (moto), created with a known id.

Started beside the server (`zone.py &`, then moto_server), it waits for the API, creates the
zone `drill.test.` with the record `api.drill.test` (a CNAME to the us-east-1 endpoint) and
leaves a marker file; `zone.py --check` is the container's healthcheck.

Why the zone id is known in advance: moto draws ids from its random generator, which its API
lets a client seed (POST /moto-api/seed). Seeding it just before the zone is created makes the
id the same on every start of the pinned image, so examples/compose.yaml can name the zone.
Nothing else may call the API between the seed and the creation (each call draws request ids
from the same generator): that is why the healthcheck reads the marker file and does not call
the API before the marker exists.

Only the standard library and boto3 (which moto's image ships) are used.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

PORT = int(os.environ.get("MOTO_PORT", "5000"))
ENDPOINT = f"http://127.0.0.1:{PORT}"
SEED = 20261203
ZONE_NAME = "drill.test."
# What moto draws for the zone right after SEED; tests/examples checks it against moto.
ZONE_ID = "ICLTRTF8XIF812J1TL9R92"
RECORD = "api.drill.test."
RECORD_TARGET = "api.us-east-1.drill.test"
READY_MARKER = Path(os.environ.get("ZONE_READY_MARKER", "/tmp/zone-ready"))
WAIT_SECONDS = 60.0


def route53() -> Any:
    """A Route53 client of the local API; moto takes any credentials."""
    return boto3.client(
        "route53", endpoint_url=ENDPOINT, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def wait_for_api() -> None:
    """Wait until the server accepts connections (a TCP connect draws no random ids)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"zone: the AWS API at {ENDPOINT} did not answer in {WAIT_SECONDS} s")
            time.sleep(0.2)


def create_zone() -> str:
    """Seed moto's generator, create the zone and its record; returns the zone's id."""
    request = urllib.request.Request(f"{ENDPOINT}/moto-api/seed?a={SEED}", method="POST")
    urllib.request.urlopen(request, timeout=10).close()

    client = route53()
    zone = client.create_hosted_zone(Name=ZONE_NAME, CallerReference="drdrill-compose")
    zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": RECORD, "Type": "CNAME", "TTL": 60,
                              "ResourceRecords": [{"Value": RECORD_TARGET}]},
    }]})
    return zone_id


def check() -> int:
    """The healthcheck: 0 when the zone was created and still has the expected id."""
    if not READY_MARKER.exists():
        return 1
    zones = route53().list_hosted_zones_by_name(DNSName=ZONE_NAME)["HostedZones"]
    ids = [str(z["Id"]).rsplit("/", 1)[-1] for z in zones if z["Name"] == ZONE_NAME]
    return 0 if ids == [ZONE_ID] else 1


def main() -> int:
    if sys.argv[1:] == ["--check"]:
        return check()

    # A restarted container keeps its files but moto forgets its zones: until the zone exists
    # again, the healthcheck must neither pass nor call the API.
    READY_MARKER.unlink(missing_ok=True)
    wait_for_api()
    zone_id = create_zone()
    if zone_id != ZONE_ID:
        print(f"zone: moto gave zone id {zone_id}, expected {ZONE_ID}: the image's moto draws"
              " ids differently; update ZONE_ID and examples/compose.yaml", file=sys.stderr)
        return 1
    READY_MARKER.touch()
    print(f"zone: {ZONE_NAME} created with id {zone_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
