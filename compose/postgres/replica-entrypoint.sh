#!/bin/bash
# The standby's entrypoint: on its first start, copy the primary with pg_basebackup; on every
# start, run PostgreSQL as a hot standby streaming from the primary.
#
# pg_basebackup -R writes standby.signal and primary_conninfo (with the replication slot given
# by -S), so the copied data directory starts as a standby by itself. -X stream copies the WAL
# written during the backup through a second connection, so the copy is consistent however
# busy the primary is.
set -euo pipefail

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "standby: copying the primary ${PRIMARY_HOST}:${PRIMARY_PORT} into $PGDATA"
    primary="host=${PRIMARY_HOST} port=${PRIMARY_PORT} user=${REPLICATION_USER}"
    primary="${primary} password=${REPLICATION_PASSWORD} application_name=${REPLICA_NAME}"
    pg_basebackup --dbname="$primary" \
        --pgdata="$PGDATA" --write-recovery-conf --wal-method=stream \
        --slot="$REPLICATION_SLOT" --checkpoint=fast --no-password
    # PostgreSQL refuses a data directory that others may read; the image's is mode 1777.
    chmod 0700 "$PGDATA"
fi

exec postgres "$@"
