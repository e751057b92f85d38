-- Citus: which table goes where (app/migrate.py, after the function files;
-- single-node installs never read this directory). Idempotent: it skips what
-- Citus's metadata already has, so it runs on every migrate and places a
-- table added later without an edit here.
--
-- By rule, not by list:
--   * a table of datastorage_owner in public with a correlation_id column is
--     keyed by chain: distributed by correlation_id and colocated with
--     audit_chain_heads (a chain's events, head, hold history on one shard);
--     a partitioned table is distributed with all its partitions;
--   * the small catalogs named below, and any table a chain-keyed table
--     references by foreign key (retention runs), become reference tables
--     (a copy on every node, so any shard can join or reference them);
--   * anything else stays on the coordinator, and so do the transparency
--     log's leaves (one global sequence, appended by one integrator), though
--     they name a correlation id: the outbox the capture trigger fills
--     beside each event is keyed by chain like the events.
-- The lists below are the exceptions to the rules, by name.
-- Citus enforces a unique key only when it contains the distribution column:
-- such keys gain correlation_id (docs/scaling-out.md, "Unique keys").
DO $$
DECLARE
    t regclass;
    con record;
    cols text;
BEGIN
    -- Referenced tables first: Citus needs them placed before the tables
    -- that reference them are distributed.
    FOR t IN
        SELECT DISTINCT f.confrelid::regclass
        FROM pg_constraint f
        JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attname = 'correlation_id' AND NOT a.attisdropped
        WHERE f.contype = 'f' AND f.conrelid <> f.confrelid
          AND f.connamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_attribute r WHERE r.attrelid = f.confrelid
                            AND r.attname = 'correlation_id' AND NOT r.attisdropped)
          AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = f.confrelid)
          -- Not a shard's own copy (the coordinator holds reference shards).
          AND NOT EXISTS (SELECT 1 FROM pg_dist_shard s
                          WHERE to_regclass(shard_name(s.logicalrelid, s.shardid)) = f.conrelid)
    LOOP
        PERFORM create_reference_table(t);
    END LOOP;
    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'correlation_id' AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND c.relowner = 'datastorage_owner'::regrole
          AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)
          AND c.oid NOT IN (SELECT to_regclass(g) FROM unnest(ARRAY['public.tlog_leaves']) g)
        -- The colocation anchor first.
        ORDER BY c.relname <> 'audit_chain_heads', c.relname
    LOOP
        FOR con IN SELECT x.conname, x.contype, x.conkey FROM pg_constraint x
                   WHERE x.conrelid = t AND x.contype IN ('p', 'u') AND x.conparentid = 0
                     AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                                     WHERE a.attrelid = t AND a.attnum = ANY (x.conkey)
                                       AND a.attname = 'correlation_id')
        LOOP
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i) INTO cols
            FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
            JOIN pg_attribute a ON a.attrelid = t AND a.attnum = k.attnum;
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', t, con.conname);
            EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s (%s, correlation_id)', t, con.conname,
                           CASE con.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, cols);
        END LOOP;
        PERFORM create_distributed_table(t, 'correlation_id',
            colocate_with => CASE WHEN t = 'public.audit_chain_heads'::regclass THEN 'none'
                                  ELSE 'public.audit_chain_heads' END);
    END LOOP;

    FOR t IN SELECT to_regclass(r) FROM unnest(ARRAY['public.remediation_workflow_catalog']) r
             WHERE to_regclass(r) IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = to_regclass(r))
    LOOP
        PERFORM create_reference_table(t);
    END LOOP;
END
$$;
