-- SQLite twin of 0005_recall_fix.sql (the registry's SQLite version 6), applied by
-- volta.registry.sqlite: the same columns. No semicolon inside comments here, the runner splits on it.

ALTER TABLE svc_recalls ADD COLUMN fix_ecu text;
ALTER TABLE svc_recalls ADD COLUMN fix_version text;
ALTER TABLE svc_recall_vehicles ADD COLUMN completed_via text;
