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

-- A retention step lets its DELETEs past the row trigger with SET LOCAL
-- datastorage.retention_cutoff (450_retention.sql); the trigger fires on the
-- workers, so the setting must travel with the step's remote transactions.
ALTER FUNCTION datastorage.retention_step(bigint, integer)
    SET citus.propagate_set_commands = 'local';
-- A run's first transaction writes its record (a reference table, with a
-- copy on the coordinator, which Citus writes locally), reads the shards
-- and then analyzes its queue: Citus refuses that ANALYZE once the
-- transaction executed locally ("a local execution has accessed a
-- placement"), so these run without local execution.
ALTER FUNCTION datastorage.retention_begin(timestamptz, text) SET citus.enable_local_execution = off;
ALTER FUNCTION datastorage.enforce_retention(timestamptz, boolean) SET citus.enable_local_execution = off;
-- Its queue references the record by foreign key: a transaction that
-- touches both does so over one connection per node.
ALTER FUNCTION datastorage.retention_step(bigint, integer) SET citus.multi_shard_modify_mode = 'sequential';
ALTER FUNCTION datastorage.retention_finish(bigint, text) SET citus.multi_shard_modify_mode = 'sequential';

RESET citus.enable_ddl_propagation;

-- The append's forced generic plans and their index-only reads
-- (120_audit_hash_chain.sql) are for one node: Citus plans a distributed
-- statement only with its parameters' values (it prices a generic plan out
-- of the plan cache's choice, and cannot run a forced one). With
-- propagation on, so the workers, where delegated appends run, drop them too.
ALTER FUNCTION datastorage.append_audit_events(jsonb) RESET plan_cache_mode;
ALTER FUNCTION datastorage.append_audit_events(jsonb) RESET enable_seqscan;
