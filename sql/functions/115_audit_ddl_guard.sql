-- Rule: DDL cannot take a legal hold away, whoever owns the tables.
--
-- Three event triggers (superuser-owned, in the superuser's datastorage_guard
-- schema: datastorage_owner can drop neither them nor their functions):
--   table_rewrite      refuses rewriting an audit table (refuse_rewrite);
--   ddl_command_start  notes which audit partitions hold held rows;
--   ddl_command_end    gives every new audit partition its TRUNCATE guard,
--                      then refuses the command (rolling it back) unless
--                        * audit_events, audit_chain_heads and audit_legal_holds
--                          are still there under their names;
--                        * every partition that held held rows is still a
--                          partition of audit_events under its name (no DROP,
--                          DETACH, RENAME or SET SCHEMA of it);
--                        * every guard trigger is in place, enabled, and runs
--                          its guard function; no other BEFORE UPDATE trigger,
--                          no rule and no row-level security on these tables;
--                        * the legal_hold columns are still there
--                      (a state a superuser left behind is not held against
--                      the next command: only what the command itself broke).
-- Partitions are found through pg_partition_tree (their parent), never by
-- name, and a partition that holds no held rows can be dropped or detached
-- (retention). A superuser is not checked (docs/sql-api.md).
RESET ROLE;

-- Every partition of audit_events (any depth), found through its parent.
-- (No SET clause, every name qualified: the planner inlines it into the
-- guard's queries, whose search_path is pinned.)
CREATE OR REPLACE FUNCTION datastorage_guard.audit_partitions() RETURNS SETOF regclass
LANGUAGE sql STABLE AS $$
    SELECT t.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('public.audit_events')) t
    WHERE t.level OPERATOR(pg_catalog.>) 0
$$;

-- Is rel a Citus distributed table? (Citus's catalog read only where it exists.)
CREATE OR REPLACE FUNCTION datastorage_guard.is_distributed(rel regclass) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    distributed boolean := false;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
           INTO distributed USING rel;
    END IF;
    RETURN distributed;
END
$$;

-- Does this partition hold a held row? On a Citus cluster, while Citus
-- processes an ALTER TABLE of a distributed table, a query of that table from
-- the event trigger returns no rows at all (the guard would see nothing held
-- and let a held partition go), so each shard placement is asked instead.
-- One function for both, so no migrate ever leaves a cluster with the
-- single-node answer (docs/scaling-out.md, "Event triggers").
CREATE OR REPLACE FUNCTION datastorage_guard.partition_is_held(rel regclass) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    held boolean;
BEGIN
    IF datastorage_guard.is_distributed(rel) THEN
        EXECUTE $q$SELECT EXISTS (SELECT 1 FROM run_command_on_placements(
                       $1, 'SELECT EXISTS (SELECT 1 FROM %s WHERE legal_hold)') r
                   WHERE NOT r.success OR r.result = 't')$q$
           INTO held USING rel;
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE legal_hold)', rel) INTO held;
    END IF;
    RETURN held;
END
$$;

-- The partitions that hold at least one held row, with their current names.
-- VOLATILE: it must see what committed while freeze_holds() waited.
-- Single node, up to 1,000 held rows: one query over the parent, which
-- reads each partition's partial index of held rows
-- (idx_audit_events_legal_hold: empty in a month without holds) with a
-- plan kept for the session. More held rows than that (a long chain under
-- hold), or a Citus cluster: each partition is asked whether it holds one
-- (partition_is_held), which stops at the first.
CREATE OR REPLACE FUNCTION datastorage_guard.held_partitions() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel regclass;
    out jsonb := '[]';
    n bigint;
    rels oid[];
BEGIN
    IF to_regclass('public.audit_events') IS NULL THEN
        RETURN out;
    END IF;
    IF NOT datastorage_guard.is_distributed('public.audit_events') THEN
        SELECT count(*), array_agg(DISTINCT h.rel) INTO n, rels
          FROM (SELECT e.tableoid AS rel FROM public.audit_events e WHERE e.legal_hold LIMIT 1001) h;
        IF n <= 1000 THEN
            RETURN coalesce((SELECT jsonb_agg(jsonb_build_object('oid', r, 'name', r::regclass::text)
                                              ORDER BY r)
                             FROM unnest(rels) r), '[]');
        END IF;
    END IF;
    FOR rel IN SELECT p FROM datastorage_guard.audit_partitions() p
               JOIN pg_catalog.pg_class c ON c.oid = p WHERE c.relkind = 'r'
    LOOP
        IF datastorage_guard.partition_is_held(rel) THEN
            out := out || jsonb_build_object('oid', rel::oid, 'name', rel::text);
        END IF;
    END LOOP;
    RETURN out;
END
$$;

-- Statement-level TRUNCATE triggers are not inherited by partitions: every
-- partition gets its own, however it was created (by upkeep or by hand).
CREATE OR REPLACE FUNCTION datastorage_guard.install_truncate_guards() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN SELECT p FROM datastorage_guard.audit_partitions() p
               WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                 WHERE t.tgrelid = p AND t.tgname = 'audit_events_no_truncate')
    LOOP
        EXECUTE format('CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate()', rel);
    END LOOP;
END
$$;

-- Every guard trigger: (table, trigger, function, pg_trigger.tgtype,
-- UPDATE OF columns or NULL, WHEN condition as deparsed or NULL). The type
-- pins timing, level and events (2 BEFORE, 1 ROW, 4 INSERT, 8 DELETE,
-- 16 UPDATE, 32 TRUNCATE): a guard re-created for fewer events or columns,
-- or after the row is written, would let through what it exists to refuse.
-- Trigger names are unique across the tables. Inlined like
-- audit_partitions().
CREATE OR REPLACE FUNCTION datastorage_guard.guard_trigger_shapes()
RETURNS TABLE (tbl text, tgname name, fn regprocedure, kind smallint, cols name[], cond text)
LANGUAGE sql STABLE AS $$
    SELECT v.tbl, v.tgname::name, v.fn::pg_catalog.regprocedure, v.kind::smallint, v.cols, v.cond
    FROM (VALUES ('audit_events', 'audit_events_immutable', 'datastorage_guard.refuse_audit_update()',
                  19, NULL, NULL),
                 ('audit_events', 'enforce_legal_hold', 'datastorage_guard.refuse_held_delete()',
                  11, NULL, datastorage_guard.delete_refused_when()),
                 ('audit_events', 'audit_events_no_truncate', 'datastorage_guard.refuse_truncate()',
                  34, NULL, NULL),
                 ('audit_chain_heads', 'audit_chain_heads_hold', 'datastorage_guard.guard_chain_head()',
                  19, datastorage_guard.head_hold_columns(), NULL),
                 ('audit_chain_heads', 'audit_chain_heads_held_delete', 'datastorage_guard.guard_chain_head()',
                  11, NULL, datastorage_guard.head_delete_refused_when()),
                 ('audit_chain_heads', 'audit_chain_heads_no_truncate', 'datastorage_guard.refuse_truncate()',
                  34, NULL, NULL),
                 ('audit_legal_holds', 'audit_legal_holds_append_only',
                  'datastorage_guard.guard_hold_history()', 31, NULL, NULL),
                 ('audit_legal_holds', 'audit_legal_holds_no_truncate', 'datastorage_guard.refuse_truncate()',
                  34, NULL, NULL)) AS v(tbl, tgname, fn, kind, cols, cond)
$$;

-- The guard triggers every protected relation must carry: (relation,
-- trigger, function), every partition of audit_events included.
-- Each function is looked up once, not once per partition; inlined like
-- audit_partitions().
CREATE OR REPLACE FUNCTION datastorage_guard.expected_triggers()
RETURNS TABLE (rel regclass, tgname name, fn regprocedure)
LANGUAGE sql STABLE AS $$
    WITH g AS MATERIALIZED (SELECT s.tbl, s.tgname, s.fn FROM datastorage_guard.guard_trigger_shapes() s)
    SELECT r.rel, g.tgname, g.fn
    FROM (SELECT 'audit_events' AS tbl, pg_catalog.to_regclass('public.audit_events') AS rel
          UNION ALL SELECT 'audit_events', p FROM datastorage_guard.audit_partitions() p
          UNION ALL SELECT 'audit_chain_heads', pg_catalog.to_regclass('public.audit_chain_heads')
          UNION ALL SELECT 'audit_legal_holds', pg_catalog.to_regclass('public.audit_legal_holds')) r
    JOIN g ON g.tbl OPERATOR(pg_catalog.=) r.tbl
$$;

-- What is wrong with the guards right now, one line each (empty: all well).
-- PL/pgSQL so the plan is kept for the session: it runs inside DDL commands
-- that block writers (retention's DETACH and DROP).
-- (A generic plan: its parameters never change which plan is best, and
-- planning anew each time cost as much as running it.)
CREATE OR REPLACE FUNCTION datastorage_guard.violations() RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    parent regclass := to_regclass('public.audit_events');
    -- The parent's delete rule when it is the right one, as a node tree, and
    -- the column numbers of the columns it names. A partition's clone with
    -- the same tree over the same numbers of the same columns is the same
    -- condition, and is not deparsed again (that is what cost the most,
    -- once per partition); anything else is deparsed and compared.
    -- (A clone made after the parent's trigger carries no query positions:
    -- :location -1 throughout. Those do not change what the condition does.)
    rule_tree text;
    rule_clone text;
    rule_cols smallint[];
BEGIN
    SELECT g.tgqual::text INTO rule_tree
      FROM pg_catalog.pg_trigger g
     WHERE g.tgrelid = parent AND g.tgname = 'enforce_legal_hold'
       AND substring(pg_catalog.pg_get_triggerdef(g.oid) FROM ' WHEN \((.*)\) EXECUTE FUNCTION ')
           = datastorage_guard.delete_refused_when();
    rule_clone := regexp_replace(rule_tree, ':location -?[0-9]+', ':location -1', 'g');
    rule_cols := ARRAY(SELECT a.attnum FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = parent AND NOT a.attisdropped
                         AND a.attname IN ('legal_hold', 'retention_days', 'event_date')
                       ORDER BY a.attname);
    RETURN QUERY
    WITH e AS MATERIALIZED (SELECT x.*, s.kind, s.cols, s.cond
                            FROM datastorage_guard.expected_triggers() x
                            JOIN datastorage_guard.guard_trigger_shapes() s ON s.tgname = x.tgname
                            WHERE x.rel IS NOT NULL),
         cols AS (SELECT a.attrelid AS rel, array_agg(a.attnum ORDER BY a.attname) AS nums
                  FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid IN (SELECT e.rel FROM e) AND NOT a.attisdropped
                    AND a.attname IN ('legal_hold', 'retention_days', 'event_date')
                  GROUP BY a.attrelid)
    SELECT format('public.%s is protected: it cannot be dropped, renamed or moved', t)
    FROM unnest(ARRAY['audit_events', 'audit_chain_heads', 'audit_legal_holds']) t
    WHERE to_regclass('public.' || t) IS NULL
    UNION ALL
    -- In place, enabled, running its guard function, for its events, its
    -- columns (by name, now) or all, with exactly its WHEN condition or
    -- none (110_audit_immutability.sql).
    SELECT format('Guard trigger %s on %s must stay in place and enabled', e.tgname, e.rel)
    FROM e
    LEFT JOIN pg_catalog.pg_trigger g ON g.tgrelid = e.rel AND g.tgname = e.tgname
    LEFT JOIN cols ON cols.rel = e.rel
    WHERE g.oid IS NULL OR g.tgfoid <> e.fn OR g.tgenabled NOT IN ('O', 'A')
       OR g.tgtype <> e.kind
       -- (CASE: the column lookup only for the one trigger with columns.)
       OR CASE WHEN e.cols IS NULL THEN pg_catalog.cardinality(g.tgattr::smallint[]) <> 0
               ELSE pg_catalog.cardinality(e.cols) <> pg_catalog.cardinality(g.tgattr::smallint[])
                    OR ARRAY(SELECT a FROM unnest(g.tgattr::smallint[]) a ORDER BY a)
                       <> ARRAY(SELECT a.attnum FROM pg_catalog.pg_attribute a
                                WHERE a.attrelid = e.rel AND a.attname = ANY (e.cols)
                                  AND NOT a.attisdropped ORDER BY a.attnum)
          END
       OR CASE WHEN g.tgqual IS NULL AND e.cond IS NULL THEN false
               WHEN e.tgname = 'enforce_legal_hold' AND g.tgqual::text IN (rule_tree, rule_clone)
                    AND cols.nums = rule_cols THEN false
               ELSE substring(pg_catalog.pg_get_triggerdef(g.oid) FROM ' WHEN \((.*)\) EXECUTE FUNCTION ')
                    IS DISTINCT FROM e.cond
          END
    UNION ALL
    -- A BEFORE UPDATE (or INSTEAD OF) trigger of someone else's could
    -- rewrite a row after the guard saw it; other triggers cannot.
    SELECT format('Trigger %s on %s is not allowed: only the guard triggers may run before an '
                  'update of the audit tables', g.tgname, g.tgrelid::regclass)
    FROM pg_catalog.pg_trigger g
    WHERE g.tgrelid IN (SELECT e.rel FROM e)
      AND NOT g.tgisinternal AND (g.tgtype & (2 | 64)) <> 0 AND (g.tgtype & 16) <> 0
      AND NOT EXISTS (SELECT 1 FROM e WHERE e.rel = g.tgrelid AND e.tgname = g.tgname)
    UNION ALL
    SELECT format('Rules and row-level security are not allowed on %s', x.oid::regclass)
    FROM pg_catalog.pg_class x
    WHERE x.oid IN (SELECT e.rel FROM e)
      AND (x.relrowsecurity OR x.relforcerowsecurity
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite w WHERE w.ev_class = x.oid))
    UNION ALL
    SELECT 'The legal_hold columns of audit_events and audit_chain_heads must stay'
    WHERE (SELECT count(*) FROM pg_catalog.pg_attribute a
           WHERE a.attrelid IN (parent, to_regclass('public.audit_chain_heads'))
             AND a.attname = 'legal_hold' AND a.atttypid = 'boolean'::regtype
             AND NOT a.attisdropped) <> 2;
END
$$;

-- Were the guards intact when last looked at (datastorage_guard.ddl_state)?
-- A hint that only ever fails closed: when it says yes, ddl_start() does
-- not list the violations already there, so ddl_end() blames the command
-- for everything it finds wrong.
CREATE OR REPLACE FUNCTION datastorage_guard.guards_intact() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT s.intact FROM datastorage_guard.ddl_state s), false)
$$;

-- Record what is true now (anyone may ask: it writes no value of its
-- caller's). Called after a command that found violations already there
-- passed, and after a superuser repaired what ddl_end() cannot see (a
-- change made with the event triggers off). No write when nothing changes,
-- so DDL does not queue on the row.
CREATE OR REPLACE FUNCTION datastorage_guard.note_guards() RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ok boolean := NOT EXISTS (SELECT 1 FROM datastorage_guard.violations());
BEGIN
    UPDATE datastorage_guard.ddl_state SET intact = ok WHERE intact IS DISTINCT FROM ok;
    RETURN ok;
END
$$;

-- A superuser's DDL is not checked, so after it nothing is known.
CREATE OR REPLACE FUNCTION datastorage_guard.forget_guards() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE datastorage_guard.ddl_state SET intact = false WHERE intact;
END
$$;

-- What ddl_start() notes before a command: the held partitions (when it can
-- remove one) and the violations already there (left by a superuser: not
-- this command's doing) - unless the guards were intact ('listed': false).
CREATE OR REPLACE FUNCTION datastorage_guard.before_ddl(p_held boolean) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    listed boolean := NOT datastorage_guard.guards_intact();
BEGIN
    RETURN jsonb_build_object('held', CASE WHEN p_held THEN datastorage_guard.held_partitions()
                                           ELSE '[]' END,
                              'listed', listed,
                              'violations', CASE WHEN listed
                                                 THEN to_jsonb(ARRAY(SELECT datastorage_guard.violations()))
                                                 ELSE '[]' END);
END
$$;

-- Raises when a DDL command broke the rule above; p_before is before_ddl()
-- taken before it (an empty object: judge the state as it is; violations
-- not listed in it are the command's).
CREATE OR REPLACE FUNCTION datastorage_guard.check_guards(p_before jsonb) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h jsonb;
    c record;
    bad text;
BEGIN
    FOR h IN SELECT * FROM jsonb_array_elements(coalesce(p_before -> 'held', '[]')) LOOP
        SELECT x.oid, x.oid::regclass::text AS name INTO c
        FROM pg_catalog.pg_class x WHERE x.oid = (h ->> 'oid')::oid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Cannot drop %: it holds events under legal hold', h ->> 'name'
                USING ERRCODE = '23503';
        ELSIF c.name <> h ->> 'name' THEN
            RAISE EXCEPTION 'Cannot rename or move %: it holds events under legal hold', h ->> 'name'
                USING ERRCODE = '23503';
        ELSIF NOT EXISTS (SELECT 1 FROM datastorage_guard.audit_partitions() p WHERE p = c.oid) THEN
            RAISE EXCEPTION 'Cannot detach %: it holds events under legal hold', h ->> 'name'
                USING ERRCODE = '23503';
        END IF;
    END LOOP;
    SELECT v INTO bad FROM datastorage_guard.violations() v
    WHERE NOT coalesce(p_before -> 'violations', '[]') ? v
    LIMIT 1;
    IF FOUND AND coalesce((p_before ->> 'listed')::boolean, true) THEN
        RAISE EXCEPTION '%', bad USING ERRCODE = '42501';
    ELSIF FOUND THEN
        RAISE EXCEPTION '%', bad USING ERRCODE = '42501',
            HINT = 'Refused as this command''s doing. If a superuser made this change with the '
                   'event triggers off, SELECT datastorage_guard.note_guards() first.';
    END IF;
END
$$;

-- The guard's first run in a session compiles its functions and plans its
-- queries (~4x a warm run). A caller about to hold locks that stop writers
-- (retention) runs them here first; nothing is decided or kept but the
-- session's caches, so this cannot let any command through.
CREATE OR REPLACE FUNCTION datastorage_guard.warm_up() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM datastorage_guard.is_superuser();
    PERFORM datastorage_guard.check_guards(datastorage_guard.before_ddl(true));
EXCEPTION WHEN insufficient_privilege OR foreign_key_violation THEN
    NULL;  -- something is wrong already: the command itself will meet it
END
$$;

-- Until the DDL commits, no hold is placed and no event appended (both
-- write the chain heads first): what held_partitions() sees cannot change
-- under a DROP or DETACH. Appends already running are waited for.
CREATE OR REPLACE FUNCTION datastorage_guard.freeze_holds() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    LOCK TABLE public.audit_chain_heads IN SHARE ROW EXCLUSIVE MODE
$$;

CREATE OR REPLACE FUNCTION datastorage_guard.ddl_start() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- Only these commands can drop, detach, rename or move a partition; the
    -- others skip reading every partition (on a Citus cluster that read
    -- would fan out to the shards the command is about to change).
    removes boolean := TG_TAG IN ('ALTER TABLE', 'DROP TABLE', 'DROP SCHEMA', 'ALTER SCHEMA',
                                  'DROP OWNED');
BEGIN
    IF NOT datastorage_guard.is_superuser() THEN
        IF removes THEN
            PERFORM datastorage_guard.freeze_holds();
        END IF;
        -- DETACH ... CONCURRENTLY commits its first half before any end
        -- check could refuse it: not while anything is held.
        IF TG_TAG = 'ALTER TABLE' AND current_query() ~* '\mdetach\M.*\mconcurrently\M'
           AND datastorage_guard.held_partitions() <> '[]' THEN
            RAISE EXCEPTION 'DETACH PARTITION CONCURRENTLY is refused while events are under legal hold'
                USING ERRCODE = '23503', HINT = 'Detach without CONCURRENTLY.';
        END IF;
        PERFORM set_config('datastorage_guard.before', datastorage_guard.before_ddl(removes)::text, true);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION datastorage_guard.ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    before jsonb;
BEGIN
    PERFORM datastorage_guard.install_truncate_guards();
    IF datastorage_guard.is_superuser() THEN
        PERFORM datastorage_guard.forget_guards();
    ELSE
        before := coalesce(nullif(current_setting('datastorage_guard.before', true), ''), '{}')::jsonb;
        PERFORM datastorage_guard.check_guards(before);
        -- Violations were there before it: are they still?
        IF (before ->> 'listed')::boolean THEN
            PERFORM datastorage_guard.note_guards();
        END IF;
    END IF;
END
$$;

-- A table rewrite (ALTER COLUMN ... TYPE ... USING, SET UNLOGGED, ADD
-- COLUMN with a volatile default) sets every row anew without an UPDATE or
-- a DELETE, so no row trigger sees it: the owner could replace any event's
-- content or release every hold in one statement. Nothing but a migration
-- (run by a superuser) ever rewrites these tables, so the owner may not.
CREATE OR REPLACE FUNCTION datastorage_guard.refuse_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel regclass := pg_event_trigger_table_rewrite_oid();
BEGIN
    IF (rel IN (to_regclass('public.audit_events'), to_regclass('public.audit_chain_heads'),
                to_regclass('public.audit_legal_holds'), to_regclass('public.audit_event_ids'))
        OR pg_partition_root(rel) = to_regclass('public.audit_events'))
       AND NOT datastorage_guard.is_superuser() THEN
        RAISE EXCEPTION 'Rewriting % is not allowed: audit records change only through the '
                        'append, hold and retention functions', rel
            USING ERRCODE = '42501';
    END IF;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'datastorage_guard_rewrite') THEN
        CREATE EVENT TRIGGER datastorage_guard_rewrite ON table_rewrite
            EXECUTE FUNCTION datastorage_guard.refuse_rewrite();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'datastorage_guard_start') THEN
        CREATE EVENT TRIGGER datastorage_guard_start ON ddl_command_start
            EXECUTE FUNCTION datastorage_guard.ddl_start();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'datastorage_guard_end') THEN
        CREATE EVENT TRIGGER datastorage_guard_end ON ddl_command_end
            EXECUTE FUNCTION datastorage_guard.ddl_end();
    END IF;
END
$$;

-- Partitions created before the guard existed.
SELECT datastorage_guard.install_truncate_guards();
