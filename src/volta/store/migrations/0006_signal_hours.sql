-- Version 6: `signal_hours`, the read-optimised tier: one row per (vehicle, signal, UTC hour)
-- holding all of that signal's samples in that hour, written by compaction
-- (`volta.store.compaction`) from the chunks of `samples` once their hour is over.
--
-- A vehicle-day in chunks is ~4,300 rows spread over as many pages among the fleet's other
-- chunks, each carrying every signal of its batch: the dashboard's query (one vehicle-day,
-- 5 signals) read and sent them all, ~8.6 MB, and got slower as the day partition outgrew
-- memory. In `signal_hours` the same query reads 5 x 24 rows, found by the primary key and
-- stored contiguously (TOAST), and sends only the wanted signals at 8-12 bytes a sample.
--
-- `ts` is each sample's offset from `hour` (little-endian uint32, an hour < 2^32 ms) or, when
-- shorter, runs of equal steps between them (a signal sent at a steady rate: a few bytes an
-- hour); `num` its number (little-endian float64, NaN where the value is text); both in
-- (ts, num) order, read by the client with numpy without a byte swap. `txt` is NULL when no
-- sample has text. lz4 (PostgreSQL >= 14): cheap to read, and it shrinks values that repeat
-- (a state of charge or a gear held for minutes).
--
-- Chunks written before this version stay where they are, a valid layout: readers read both
-- tables, and compaction moves them here on its first pass.

CREATE TABLE signal_hours (
    vin       text COLLATE "C" NOT NULL,
    signal_id integer          NOT NULL,
    hour      bigint           NOT NULL,   -- start of the UTC hour, ms since the epoch
    n         integer          NOT NULL,   -- samples in the row
    ts        bytea            NOT NULL,
    num       bytea            NOT NULL,
    txt       text[],
    PRIMARY KEY (vin, signal_id, hour)
) PARTITION BY RANGE (hour);

ALTER TABLE signal_hours
    ALTER COLUMN ts SET COMPRESSION lz4,
    ALTER COLUMN num SET COMPRESSION lz4,
    ALTER COLUMN ts SET STATISTICS 0,
    ALTER COLUMN num SET STATISTICS 0,
    ALTER COLUMN txt SET STATISTICS 0;

-- One partition per day that `samples` has one for, with the same bounds (retention drops
-- both: samples_YYYYMMDD and signal_hours_YYYYMMDD).
DO $$
DECLARE
    part record;
BEGIN
    FOR part IN
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'samples'::regclass
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF signal_hours %s',
                       'signal_hours_' || substr(part.relname, length('samples_') + 1),
                       part.bound);
    END LOOP;
END
$$;
