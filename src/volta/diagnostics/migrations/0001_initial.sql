-- Volta after-sales diagnostics on PostgreSQL, version 1 (volta.diagnostics.store says what
-- each row holds): each vehicle's `state` and `history` (MessagePack; the history compressed
-- with zlib), with the revision of the save that wrote it (readers ask for the revisions
-- after theirs), and the fleet's append-only records (charging failures, sessions that
-- worked, code occurrences) by their place in their list. Forward-only: never edit an applied
-- file, add 0002_*.sql instead. Runs in the schema that `search_path` names
-- (VOLTA_DIAGNOSTICS_SCHEMA, `volta_diagnostics` by default).

CREATE TABLE parts (
    vin  text COLLATE "C" NOT NULL,
    part text COLLATE "C" NOT NULL,
    rev  bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (vin, part)
);
CREATE INDEX parts_rev ON parts (rev);
CREATE TABLE records (
    kind text COLLATE "C" NOT NULL,
    seq  bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (kind, seq)
);
