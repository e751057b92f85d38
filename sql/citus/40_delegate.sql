-- Citus: what runs on the shards (app/migrate.py, last, in its own
-- transaction): the delegated functions, and the transparency log's capture.
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

-- The transparency log's capture (issue 13) is a statement trigger reading
-- its transition table; Citus fills no transition table for an INSERT it
-- routes from the coordinator ("could not find named tuplestore"). On a
-- cluster the capture is a row trigger instead: it fires on the shard,
-- beside the event, and writes the colocated outbox shard of the same
-- chain. Cost: one outbox insert per event instead of one per statement.
CREATE OR REPLACE FUNCTION datastorage.tlog_capture_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO public.tlog_outbox (event_id, correlation_id, event_hash)
    VALUES (NEW.event_id, NEW.correlation_id, NEW.event_hash);
    RETURN NULL;
END
$$;

DO $$
BEGIN
    IF to_regclass('public.tlog_outbox') IS NULL THEN
        RETURN;
    END IF;
    ALTER FUNCTION datastorage.tlog_capture_row() OWNER TO datastorage_owner;
    REVOKE EXECUTE ON FUNCTION datastorage.tlog_capture_row() FROM PUBLIC;
    DROP TRIGGER IF EXISTS audit_events_tlog_capture ON public.audit_events;
    CREATE OR REPLACE TRIGGER audit_events_tlog_capture_row AFTER INSERT ON public.audit_events
        FOR EACH ROW EXECUTE FUNCTION datastorage.tlog_capture_row();
END
$$;
