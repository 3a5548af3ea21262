-- SQLite twin of 0003_service.sql (the registry's SQLite version 4), applied by
-- volta.registry.sqlite: the same tables and indexes. No semicolon inside comments here, the runner splits on it.

CREATE TABLE IF NOT EXISTS svc_workshops (
    id           text PRIMARY KEY,
    name         text    NOT NULL,
    organisation text    NOT NULL,
    bays         integer NOT NULL,
    slot_minutes integer NOT NULL,
    timezone     text    NOT NULL,
    hours        text    NOT NULL,
    bookings     bigint  NOT NULL DEFAULT 0,
    created_ms   bigint  NOT NULL
);
CREATE INDEX IF NOT EXISTS svc_workshops_by_org ON svc_workshops (organisation, id);

CREATE TABLE IF NOT EXISTS svc_cases (
    id            text PRIMARY KEY,
    vin           text     NOT NULL,
    organisation  text,
    problem_key   text     NOT NULL,
    title         text     NOT NULL,
    severity      text     NOT NULL,
    source        text     NOT NULL,
    state         text     NOT NULL,
    active        smallint NOT NULL,
    opened_ms     bigint   NOT NULL,
    opened_by     text     NOT NULL,
    triaged_ms    bigint,
    started_ms    bigint,
    closed_ms     bigint,
    triage_due_ms bigint   NOT NULL,
    repair_due_ms bigint   NOT NULL,
    due_ms        bigint,
    alert_count   integer  NOT NULL DEFAULT 0,
    last_alert_ms bigint,
    workshop_id   text,
    recall_id     text,
    remedy        text,
    updated_ms    bigint   NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS svc_cases_one_open ON svc_cases (vin, problem_key) WHERE active = 1;
CREATE INDEX IF NOT EXISTS svc_cases_org_queue ON svc_cases (organisation, active, due_ms, id);
CREATE INDEX IF NOT EXISTS svc_cases_workshop_queue ON svc_cases (workshop_id, active, due_ms, id);
CREATE INDEX IF NOT EXISTS svc_cases_by_vin ON svc_cases (vin, opened_ms);
CREATE INDEX IF NOT EXISTS svc_cases_by_recall ON svc_cases (recall_id);

CREATE TABLE IF NOT EXISTS svc_case_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id text   NOT NULL REFERENCES svc_cases (id),
    ts_ms   bigint NOT NULL,
    actor   text   NOT NULL,
    role    text   NOT NULL,
    kind    text   NOT NULL,
    text    text,
    detail  text   NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS svc_case_events_by_case ON svc_case_events (case_id, id);

CREATE TABLE IF NOT EXISTS svc_case_lines (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     text   NOT NULL REFERENCES svc_cases (id),
    ts_ms       bigint NOT NULL,
    actor       text   NOT NULL,
    kind        text   NOT NULL,
    description text   NOT NULL,
    part_number text,
    quantity    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS svc_case_lines_by_case ON svc_case_lines (case_id, id);

CREATE TABLE IF NOT EXISTS svc_appointments (
    id          text PRIMARY KEY,
    case_id     text    NOT NULL REFERENCES svc_cases (id),
    workshop_id text    NOT NULL REFERENCES svc_workshops (id),
    vin         text    NOT NULL,
    start_ms    bigint  NOT NULL,
    end_ms      bigint  NOT NULL,
    bay         integer NOT NULL,
    state       text    NOT NULL,
    booked_by   text    NOT NULL,
    created_ms  bigint  NOT NULL,
    updated_ms  bigint  NOT NULL
);
CREATE INDEX IF NOT EXISTS svc_appointments_by_case ON svc_appointments (case_id);
CREATE INDEX IF NOT EXISTS svc_appointments_by_workshop ON svc_appointments (workshop_id, start_ms);
CREATE INDEX IF NOT EXISTS svc_appointments_by_vin ON svc_appointments (vin, start_ms);



CREATE TABLE IF NOT EXISTS svc_slot_claims (
    workshop_id    text    NOT NULL,
    start_ms       bigint  NOT NULL,
    bay            integer NOT NULL,
    appointment_id text    NOT NULL,
    PRIMARY KEY (workshop_id, start_ms, bay)
);

CREATE TABLE IF NOT EXISTS svc_recalls (
    id               text PRIMARY KEY,
    title            text   NOT NULL,
    description      text   NOT NULL,
    remedy           text   NOT NULL,
    filter           text   NOT NULL,
    state            text   NOT NULL,
    created_ms       bigint NOT NULL,
    created_by       text   NOT NULL,
    last_reminder_ms bigint
);

CREATE TABLE IF NOT EXISTS svc_recall_vehicles (
    recall_id    text   NOT NULL REFERENCES svc_recalls (id),
    vin          text NOT NULL,
    added_ms     bigint NOT NULL,
    completed_ms bigint,
    case_id      text,
    reminders    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (recall_id, vin)
);

CREATE TABLE IF NOT EXISTS svc_webhooks (
    id           text PRIMARY KEY,
    url          text   NOT NULL,
    secret       text   NOT NULL,
    events       text   NOT NULL,
    organisation text,
    created_ms   bigint NOT NULL,
    disabled_ms  bigint
);

CREATE TABLE IF NOT EXISTS svc_deliveries (
    id          text PRIMARY KEY,
    channel     text    NOT NULL,
    target      text    NOT NULL,
    event       text    NOT NULL,
    body        text    NOT NULL,
    state       text    NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    next_ms     bigint  NOT NULL,
    last_error  text,
    created_ms  bigint  NOT NULL,
    done_ms     bigint
);
CREATE INDEX IF NOT EXISTS svc_deliveries_due ON svc_deliveries (state, next_ms);

CREATE TABLE IF NOT EXISTS svc_preferences (
    user_name  text PRIMARY KEY,
    email      text,
    email_on   smallint NOT NULL DEFAULT 1,
    events     text     NOT NULL,
    updated_ms bigint   NOT NULL
);
