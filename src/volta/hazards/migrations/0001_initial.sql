-- Volta road sensing on PostgreSQL, version 1: fusion's candidate hazards (confirmed or still
-- gathering reports), each as MessagePack in `body` (volta.hazards.model.Candidate: it names
-- the reporting cars, so it never leaves the platform), and the next hazard id to give, so
-- that a restarted process goes on where it stopped. Forward-only: never edit an applied file,
-- add 0002_*.sql instead. Runs in the schema that `search_path` names (VOLTA_HAZARDS_SCHEMA,
-- `volta_hazards` by default).

CREATE TABLE candidates (
    id   text COLLATE "C" PRIMARY KEY,
    body bytea NOT NULL
);
CREATE TABLE next_id (n bigint NOT NULL);
INSERT INTO next_id (n) VALUES (0);
