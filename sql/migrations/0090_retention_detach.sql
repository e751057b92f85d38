-- Retention detaches a month in one short transaction and drops the detached
-- table in the next (450_retention.sql): a run records both, so a run that
-- died in between leaves a table the next run recognises and drops.
-- depends: 0040_retention
SET LOCAL ROLE datastorage_owner;
ALTER TABLE audit_retention_runs ADD COLUMN partitions_detached text[] NOT NULL DEFAULT '{}';
RESET ROLE;
