-- Volta places on PostgreSQL, version 1: the table of the SQLite engine (volta.places.store),
-- each place as MessagePack in `body`, plus a generation that every change bumps in its own
-- transaction, so that every process notices another's change at its next look (SQLite's
-- `data_version` does that for the file). Forward-only: never edit an applied file, add
-- 0002_*.sql instead. Runs in the schema that `search_path` names (VOLTA_PLACES_SCHEMA,
-- `volta_places` by default).

CREATE TABLE places (
    id   text COLLATE "C" PRIMARY KEY,
    vin  text COLLATE "C",
    body bytea NOT NULL
);
CREATE TABLE generation (n bigint NOT NULL);
INSERT INTO generation (n) VALUES (0);
