#!/bin/bash
# Runs once, when the official image initialises the primary's empty data directory (it runs
# every script in /docker-entrypoint-initdb.d against a server listening on its socket only).
#
# It creates what the standby in the other region needs to copy and follow this server:
# - a role allowed to replicate, with a password (the standby connects over the network);
# - a pg_hba.conf line for it: the image's own `host all all all` line does not cover
#   replication connections, which pg_hba.conf matches only by the word `replication`;
# - a physical replication slot, so that WAL the standby has not received yet is kept even if
#   the standby falls behind, rather than removed and the standby left unable to catch up.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v role="$REPLICATION_USER" -v password="$REPLICATION_PASSWORD" \
    -v slot="$REPLICATION_SLOT" <<'SQL'
CREATE ROLE :"role" WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot(:'slot');
SQL

echo "host replication ${REPLICATION_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
