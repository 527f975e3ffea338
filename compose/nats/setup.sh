#!/bin/sh
# Creates the HEARTBEAT stream in us-east-1 and its mirror in eu-central-1, with the nats CLI
# of nats-box, then stays up doing nothing so that `docker compose up --wait` can wait on its
# healthcheck (a container that exits after its work has no health to wait on).
#
# Each stream is created by a request to the JetStream API with the JSON config beside this
# script, retried until `stream info` finds it: the servers may still be starting. Creating a
# stream that exists with the same config succeeds, so a restart of this container is harmless.
set -eu

ensure_stream() {
    server=$1
    config=$2
    until nats --server "$server" stream info HEARTBEAT --json >/dev/null 2>&1; do
        nats --server "$server" request '$JS.API.STREAM.CREATE.HEARTBEAT' "$(cat "$config")" \
            || true
        sleep 1
    done
    echo "setup: stream HEARTBEAT exists on $server"
}

ensure_stream nats://nats-us:14222 /compose/nats/heartbeat.json
ensure_stream nats://nats-eu:14223 /compose/nats/heartbeat-mirror.json
touch /tmp/streams-ready
exec tail -f /dev/null
