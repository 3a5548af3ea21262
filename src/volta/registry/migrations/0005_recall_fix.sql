-- Recalls completed by installed software (volta.service.recallbook): a recall may name the
-- ECU and the software version that fixes it, and a vehicle records how it was completed
-- ('case': a case resolved with the remedy, 'software': the fixed version seen in the twin).

ALTER TABLE svc_recalls ADD COLUMN fix_ecu text;
ALTER TABLE svc_recalls ADD COLUMN fix_version text;
ALTER TABLE svc_recall_vehicles ADD COLUMN completed_via text;
