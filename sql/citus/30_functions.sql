-- Citus: the functions that differ on a cluster (app/migrate.py, in the
-- transaction of the last function file). They run on the coordinator only
-- (upkeep, event triggers), so they are not sent to the workers. Between the
-- commit of 115_audit_ddl_guard.sql and this one, a migrate leaves the
-- single-node partition_is_held() in place (docs/scaling-out.md).
SET LOCAL citus.enable_ddl_propagation = off;

-- Partition upkeep reads the default partition's shards (over several
-- connections at once) and then creates a partition, whose shards Citus
-- must create over the connections that read: one connection per node.
ALTER FUNCTION datastorage.ensure_audit_partitions(integer, integer, timestamptz)
    SET citus.multi_shard_modify_mode = 'sequential';

-- The DDL guard asks, before a command that can drop or detach a partition,
-- which partitions hold held rows. While Citus processes ALTER TABLE on a
-- distributed table, a query of that table from the event trigger returns
-- no rows at all: the guard would see nothing held and let a held partition
-- go. The placements themselves still answer, so on a cluster each shard
-- placement of the partition is asked directly.
CREATE OR REPLACE FUNCTION datastorage_guard.partition_is_held(rel regclass) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    held boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = rel) THEN
        -- Not distributed yet (first migrate): an ordinary table.
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE legal_hold)', rel) INTO held;
        RETURN held;
    END IF;
    RETURN EXISTS (SELECT 1 FROM run_command_on_placements(
                       rel, 'SELECT EXISTS (SELECT 1 FROM %s WHERE legal_hold)') r
                   WHERE NOT r.success OR r.result = 't');
END
$$;

RESET citus.enable_ddl_propagation;
