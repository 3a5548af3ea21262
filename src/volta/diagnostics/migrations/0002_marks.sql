-- Volta after-sales diagnostics on PostgreSQL, version 2: per vehicle, the last predictive
-- alert change a scale-out API process passed on to its service desk
-- (volta.diagnostics.feed), so that a restart goes on after it and never opens a case again
-- from a change it had passed on.

CREATE TABLE marks (
    vin       text COLLATE "C" PRIMARY KEY,
    ts_ms     bigint NOT NULL,
    kind      text NOT NULL,
    subject   text NOT NULL,
    turned_on boolean NOT NULL
);
