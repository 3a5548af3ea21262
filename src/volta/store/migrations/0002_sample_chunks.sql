-- Version 2: samples are stored as arrays, one row per batch and UTC hour (a "chunk"),
-- instead of one row per sample. Measured on a private PostgreSQL (docs/deployment.md), the
-- row-per-sample layout cost ~4.9 µs of server CPU a sample at fleet rates (heap insert, the
-- (vin, signal_id, ts_ms) index, `latest`); a chunk row and one index entry are shared by
-- ~100 samples. Reads `unnest` the chunks of one vehicle in the asked range.
--
-- A chunk holds the samples of one batch that fall in one UTC hour, so a reader of
-- [start, end) needs only chunks with floor_hour(start) <= ts_min < end: an index range, and
-- one day partition per day of range (partitioned by ts_min, created on demand like v1's).

CREATE TABLE samples (
    vin        text COLLATE "C" NOT NULL,
    seq        bigint,                      -- the batch; NULL for rows migrated from v1
    ts_min     bigint           NOT NULL,   -- earliest sample time in the chunk
    ts_max     bigint           NOT NULL,   -- latest sample time in the chunk
    signal_ids integer[]        NOT NULL,   -- one entry per sample, in batch order
    ts         bigint[]         NOT NULL,
    num        double precision[],          -- NULL entries where the value is text
    txt        text[]                       -- NULL when the chunk has no text value
) PARTITION BY RANGE (ts_min);

CREATE INDEX samples_vin_ts_min ON samples (vin, ts_min);

-- Move v1's rows: one chunk per (vin, hour); v1 did not keep which batch a sample came from.
DO $$
DECLARE
    day bigint;
BEGIN
    FOR day IN SELECT DISTINCT ts_ms / 86400000 FROM telemetry LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF samples FOR VALUES FROM (%s) TO (%s)',
            'samples_' || to_char(to_timestamp(day * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD'),
            day * 86400000, (day + 1) * 86400000);
    END LOOP;
END
$$;

INSERT INTO samples (vin, seq, ts_min, ts_max, signal_ids, ts, num, txt)
SELECT vin, NULL, min(ts_ms), max(ts_ms),
       array_agg(signal_id ORDER BY ts_ms, signal_id),
       array_agg(ts_ms ORDER BY ts_ms, signal_id),
       array_agg(num ORDER BY ts_ms, signal_id),
       CASE WHEN count(txt) > 0 THEN array_agg(txt ORDER BY ts_ms, signal_id) END
FROM telemetry GROUP BY vin, ts_ms / 3600000;

DROP TABLE telemetry;

-- `latest` becomes one row per vehicle, its signals as arrays sorted by signal id. A commit
-- then rewrites one row per vehicle instead of upserting one per signal: with the samples in
-- chunks, that per-signal upsert had become ~80 % of the server's CPU per sample.
CREATE TABLE latest_by_vehicle (
    vin        text COLLATE "C" PRIMARY KEY,
    signal_ids integer[]          NOT NULL,
    ts         bigint[]           NOT NULL,
    seq        bigint[]           NOT NULL,
    num        double precision[],          -- NULL when no signal has a number
    txt        text[]                       -- NULL when no signal has text
);

INSERT INTO latest_by_vehicle
SELECT vin, array_agg(signal_id ORDER BY signal_id), array_agg(ts_ms ORDER BY signal_id),
       array_agg(seq ORDER BY signal_id), array_agg(num ORDER BY signal_id),
       CASE WHEN count(txt) > 0 THEN array_agg(txt ORDER BY signal_id) END
FROM latest GROUP BY vin;

DROP TABLE latest;
