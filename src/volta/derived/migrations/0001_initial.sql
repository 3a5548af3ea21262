-- Volta derived store on PostgreSQL, version 1: the table of the SQLite engine
-- (volta.derived.store), one row per drive, charge or capacity sample, the record itself as
-- MessagePack in `body`; the columns beside it are what the queries filter and sort on.
-- Forward-only: never edit an applied file, add 0002_*.sql instead. Runs in the schema that
-- `search_path` names (VOLTA_DERIVED_SCHEMA, `volta_derived` by default).

CREATE TABLE derived (
    kind     text COLLATE "C" NOT NULL,
    id       text COLLATE "C" NOT NULL,   -- "C": ids sort as SQLite sorts them (bytes)
    vin      text COLLATE "C" NOT NULL,
    start_ms bigint NOT NULL,
    end_ms   bigint NOT NULL,
    body     bytea  NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX derived_by_vin ON derived (kind, vin, start_ms);
