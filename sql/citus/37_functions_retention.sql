-- Citus: retention's partition plan and head locks (app/migrate.py, after
-- 35_functions_plpgsql.sql; sent to the workers too).
--
-- On one node the plan groups rows by tableoid; on a cluster a row's
-- tableoid is its shard's, so this asks each month partition (a distributed
-- table itself) in turn. It marks no month droppable: a cluster prunes row
-- by row. A whole-month DETACH was tried and is not safe under write load on
-- Citus 13: the NOWAIT locks that keep writers from queueing fail on a
-- worker as an internal error (not lock_not_available, so no retry), a
-- waiting lock risks a deadlock with appends (they lock a chain head, then
-- the events; the DDL guard locks the heads after the events), and an explicit
-- heads lock before the DETACH deadlocks with the guard's own
-- (docs/scaling-out.md, "Retention on a cluster").
CREATE OR REPLACE FUNCTION datastorage.retention_partition_plan(p_cutoff date, p_cids text[],
                                                                p_upto bigint[])
RETURNS TABLE (partition text, events bigint, expired_events bigint, held_events bigint,
               prunable_events bigint, droppable boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    part record;
BEGIN
    FOR part IN
        SELECT c.oid::regclass AS rel, c.relname::text AS name
        FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'public.audit_events'::regclass
        ORDER BY c.relname
    LOOP
        RETURN QUERY EXECUTE format($q$
            SELECT $1, count(*),
                   count(*) FILTER (WHERE coalesce(e.retention_days < $2 - e.event_date, false)),
                   count(*) FILTER (WHERE e.legal_hold),
                   count(*) FILTER (WHERE e.chain_seq <= p.upto),
                   false
            FROM %s e
            LEFT JOIN (SELECT * FROM unnest($3, $4) AS u(cid, upto) WHERE u.upto IS NOT NULL) p
              ON p.cid = e.correlation_id
            HAVING count(*) > 0 $q$, part.rel)
            USING part.name, p_cutoff, p_cids, p_upto;
    END LOOP;
END
$$;

-- Citus runs no FOR UPDATE across shards: a step locks its chains' heads
-- one routed query each, in the same sorted order as on one node.
CREATE OR REPLACE FUNCTION datastorage.retention_lock_heads(p_cids text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cid text;
BEGIN
    FOR cid IN SELECT DISTINCT c FROM unnest(p_cids) c WHERE c IS NOT NULL ORDER BY 1 LOOP
        PERFORM 1 FROM public.audit_chain_heads h WHERE h.correlation_id = cid FOR UPDATE;
    END LOOP;
END
$$;

