-- Volta telemetry schema on PostgreSQL, version 1. Forward-only: never edit an applied file,
-- add 0002_*.sql instead. Runs in the schema that `search_path` names.
-- Text columns use the "C" collation: byte order, as DuckDB sorts, and cheaper comparisons.

-- One row per stored batch. The primary key is what makes delivery idempotent across workers:
-- whichever worker inserts (vin, seq) first stores its samples; every other copy is a duplicate.
CREATE TABLE batches (
    vin         text COLLATE "C" NOT NULL,
    seq         bigint  NOT NULL,
    ts_ms       bigint  NOT NULL,
    received_ms bigint  NOT NULL,
    accepted    integer NOT NULL,
    rejected    integer NOT NULL,
    PRIMARY KEY (vin, seq)
);

-- Samples, range-partitioned by sample time (one partition per UTC day, created on demand by
-- the store), so that old days can be detached or dropped whole and history scans one day.
CREATE TABLE telemetry (
    vin       text COLLATE "C" NOT NULL,
    signal_id integer          NOT NULL,
    ts_ms     bigint           NOT NULL,
    num       double precision,
    txt       text COLLATE "C"
) PARTITION BY RANGE (ts_ms);

CREATE INDEX telemetry_vin_signal_ts ON telemetry (vin, signal_id, ts_ms);

-- The latest value of every (vin, signal): by sample time, ties to the higher seq.
CREATE TABLE latest (
    vin       text COLLATE "C" NOT NULL,
    signal_id integer          NOT NULL,
    ts_ms     bigint           NOT NULL,
    seq       bigint           NOT NULL,
    num       double precision,
    txt       text,
    PRIMARY KEY (vin, signal_id)
);

CREATE TABLE quarantine (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_ms  bigint  NOT NULL,
    vin          text COLLATE "C",
    seq          bigint,
    sample_index integer,
    signal       text,
    code         text    NOT NULL,
    reason       text    NOT NULL,
    raw          bytea   NOT NULL
);

CREATE INDEX quarantine_vin_id ON quarantine (vin, id);
