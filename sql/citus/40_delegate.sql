-- Citus: delegation (app/migrate.py, last, in its own transaction).
--
-- The per-chain functions run where their chain lives. A call
-- `SELECT f(...)` on the coordinator, outside a transaction block, is sent whole to the node holding the shard of its correlation id
-- argument ("delegated"): one round trip, and every statement inside it
-- runs locally on that shard. A NULL correlation id (query by type and
-- time) is not delegated: it runs on the coordinator, fanning out.
-- Every function of datastorage with a text argument p_correlation_id
-- qualifies, so a per-chain function added later is delegated too.
DO $$
DECLARE
    f regprocedure;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_dist_partition
                   WHERE logicalrelid = 'public.audit_chain_heads'::regclass) THEN
        RETURN;  -- first run: 20_distribute.sql has not run yet
    END IF;
    FOR f IN
        SELECT p.oid::regprocedure
        FROM pg_proc p
        WHERE p.pronamespace = 'datastorage'::regnamespace
          AND p.proargtypes[array_position(p.proargnames, 'p_correlation_id') - 1] = 'text'::regtype
          AND NOT EXISTS (SELECT 1 FROM pg_dist_object o
                          WHERE o.classid = 'pg_proc'::regclass AND o.objid = p.oid
                            AND o.distribution_argument_index IS NOT NULL)
    LOOP
        PERFORM create_distributed_function(f, 'p_correlation_id', colocate_with => 'audit_chain_heads');
    END LOOP;
END
$$;
