-- SQLite twin of 0004_ota_campaigns.sql (the registry's SQLite version 5), applied by
-- volta.registry.sqlite: the same tables and indexes. No semicolon inside comments here, the runner splits on it.

CREATE TABLE IF NOT EXISTS ota_campaigns (
    id          text PRIMARY KEY,
    ecu_type    text   NOT NULL,
    version     text   NOT NULL,
    mode        text   NOT NULL,
    spec        text   NOT NULL,
    images      text   NOT NULL,
    phase       text   NOT NULL,
    wave        integer NOT NULL,
    halt_reason text   NOT NULL DEFAULT '',
    rollback_of text,
    created_ms  bigint NOT NULL,
    created_by  text   NOT NULL,
    updated_ms  bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS ota_campaigns_by_created ON ota_campaigns (created_ms, id);

CREATE TABLE IF NOT EXISTS ota_campaign_cars (
    campaign_id text    NOT NULL REFERENCES ota_campaigns (id),
    vin         text    NOT NULL,
    position    integer NOT NULL,
    wave        integer NOT NULL,
    state       text    NOT NULL,
    attempts    integer NOT NULL,
    since_ms    bigint  NOT NULL,
    retry_at_ms bigint,
    reason      text    NOT NULL DEFAULT '',
    ecu_serial  text    NOT NULL,
    variant     text    NOT NULL,
    listed      smallint NOT NULL DEFAULT 0,
    consent_ms  bigint,
    PRIMARY KEY (campaign_id, vin)
);
CREATE INDEX IF NOT EXISTS ota_campaign_cars_by_vin ON ota_campaign_cars (vin);

CREATE TABLE IF NOT EXISTS ota_campaign_ignored (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       bigint NOT NULL,
    campaign_id text   NOT NULL,
    vin         text   NOT NULL,
    state       text   NOT NULL,
    reason      text   NOT NULL
);
CREATE INDEX IF NOT EXISTS ota_campaign_ignored_by_campaign ON ota_campaign_ignored (campaign_id, id);
