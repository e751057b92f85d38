-- Citus: what differs on a cluster in the function files' definitions
-- (app/migrate.py, in the transaction of the last function file). Upkeep runs
-- on the coordinator only, so this is not sent to the workers. Until this
-- commits, a migrate that re-created the function leaves upkeep without the
-- setting: it may fail (never wrongly succeed) until a migrate completes.
SET LOCAL citus.enable_ddl_propagation = off;

-- Partition upkeep reads the default partition's shards (over several
-- connections at once) and then creates a partition, whose shards Citus
-- must create over the connections that read: one connection per node.
ALTER FUNCTION datastorage.ensure_audit_partitions(integer, integer, timestamptz)
    SET citus.multi_shard_modify_mode = 'sequential';

RESET citus.enable_ddl_propagation;
