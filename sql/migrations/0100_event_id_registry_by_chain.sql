-- The event-id registry records each id's chain (issue 16).
-- depends: 0030_transparency_log 0050_event_id_registry 0060_guard_before_ddl
--
-- On one node nothing changes: the key stays event_id alone, so an id is
-- stored once whatever chain names it. On a Citus cluster the column makes
-- the registry keyed by chain: sql/citus/20_distribute.sql distributes it by
-- correlation_id beside the chain's events and its key becomes (event_id,
-- correlation_id), so an append claims ids on its chain's shard only instead
-- of writing a reference table on every node (docs/scaling-out.md,
-- "Idempotency on event_id").
DO $$
BEGIN
    -- A cluster migrated before this: the registry was a reference table.
    -- Back to a local table; the distribution step places it again by rule.
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE $q$SELECT undistribute_table('public.audit_event_ids')
                   FROM pg_dist_partition WHERE logicalrelid = 'public.audit_event_ids'::regclass$q$;
    END IF;
END
$$;

SET LOCAL ROLE datastorage_owner;

ALTER TABLE audit_event_ids ADD COLUMN correlation_id varchar(255);

-- Through a local copy: on a cluster audit_events is distributed and the
-- registry (for now) is not, and Citus cannot join the two in an UPDATE.
-- An id whose event retention removed finds its chain in its log leaf.
CREATE TEMP TABLE registry_chains ON COMMIT DROP AS
SELECT event_id, correlation_id FROM audit_events
UNION
SELECT event_id, correlation_id FROM tlog_leaves;

UPDATE audit_event_ids i SET correlation_id = c.correlation_id
  FROM registry_chains c WHERE c.event_id = i.event_id;
-- Ids of events removed before the log existed name no chain any more; the
-- events are gone, so no replay of them can be told from a new event.
DELETE FROM audit_event_ids WHERE correlation_id IS NULL;

ALTER TABLE audit_event_ids ALTER COLUMN correlation_id SET NOT NULL;

RESET ROLE;
