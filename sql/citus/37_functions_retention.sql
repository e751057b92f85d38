-- Citus: retention's partition plan (app/migrate.py, after
-- 35_functions_plpgsql.sql; sent to the workers too). On one node it groups
-- rows by tableoid; on a cluster a row's tableoid is its shard's, so this
-- asks each month partition (a distributed table itself) in turn. No month
-- is droppable here: DETACH of a distributed partition is DDL on every
-- shard, which Citus will not run in the step's transaction after its
-- DELETEs and reads over several connections, and a partly done detach
-- across nodes would not be safe. A fully expired month is emptied row by
-- row instead (docs/scaling-out.md, "Retention").
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
                   count(*) = count(*) FILTER (WHERE e.chain_seq <= p.upto)
                       AND NOT $1 LIKE '%%default'
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

-- A DETACH or DROP after an explicit LOCK of the chain heads in the same
-- transaction ends in a distributed deadlock on Citus 13 (the DDL guard's
-- freeze_holds() locks them again while Citus runs the DDL on the workers).
-- So on a cluster retention_lock leaves the heads to the guard, which locks
-- them (waiting, not NOWAIT) for the DDL: writers may queue behind it for
-- that moment.
CREATE OR REPLACE FUNCTION datastorage.retention_locks_heads() RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT false $$;
