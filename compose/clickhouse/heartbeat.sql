-- Run once by the official image when a server's data directory is new (after it created the
-- CLICKHOUSE_DB database). The columns are those the drdrill ClickHouse probes write and read;
-- the table is replicated through Keeper under one path, with the server's {replica} macro.
CREATE TABLE IF NOT EXISTS drdrill.drdrill_heartbeat
(
    run_id String,
    probe String,
    seq Int64,
    sent_at_ns Int64,
    sent_at DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/drdrill/drdrill_heartbeat', '{replica}')
ORDER BY (run_id, probe, seq);
