-- event_json() takes any row with the columns of audit_events (on a Citus
-- cluster, a shard's row: issue 16); the function file creates the new
-- signature, the old one goes here.
-- depends: 0060_guard_before_ddl
DROP FUNCTION IF EXISTS datastorage.event_json(public.audit_events);
