-- Rule: an event leaves when its retention has passed, never while held, and
-- its chain still verifies afterwards (docs/retention.md).
--
--   expired:   retention_days < cutoff - event_date, cutoff = the run's date
--              (UTC) - i.e. event_date + retention_days lies before it;
--   prunable:  the expired prefix of a chain not under hold: chain_seq up to
--              the first unexpired event (an expired event after an
--              unexpired one waits, so a chain only ever loses a prefix);
--   horizon:   audit_retention_horizons records, per pruned chain, the first
--              kept chain_seq and the hash it links to; verification starts
--              the chain there (120_audit_hash_chain.sql).
--
-- A run is begin -> step* -> finish, each step one short transaction:
--   * detach: a partition whose every row is prunable is detached (its
--             chains' horizons written and their prefix rows in other
--             partitions deleted in the same transaction, so no chain is ever
--             half pruned); the next step drops the detached table. A table
--             detached by a run that died before dropping it is dropped by
--             the next run (retention_detached);
--   * delete: a batch of chains loses its prefix row by row.
-- Each step locks the heads of its chains (as appends and holds do), skips a
-- chain held since the plan, writes the horizons, and deletes - all or
-- nothing. A failed step changes nothing; a later run re-plans. One run at a
-- time (session advisory lock). Drivers: CALL datastorage.run_retention()
-- (commits per step; pg_cron), `datastorage retention run` and the service
-- (app/retention.py), or SELECT datastorage.enforce_retention() (one
-- transaction: for tests and small databases).

-- Retention is maintenance: its plan and steps run without parallel workers
-- (the SET clauses below), so a run takes one core, never every core the
-- writers need (a parallel plan scan doubled their p99, docs/performance.md).

-- The advisory lock key shared by every driver.
CREATE OR REPLACE FUNCTION datastorage.retention_lock_key() RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT 7310575183440000014::bigint $$;

-- Per chain with at least one expired event: what retention would do as of
-- p_cutoff. upto_seq is the last chain_seq to remove (NULL when held or
-- nothing prunable); prunable_events counts the rows up to it.
CREATE OR REPLACE FUNCTION datastorage.retention_chain_plan(p_cutoff date)
RETURNS TABLE (correlation_id text, stored_events bigint, expired_events bigint,
               held boolean, upto_seq bigint, prunable_events bigint, waiting_events bigint,
               whole_chain boolean, first_date date, last_date date)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH c AS (
        SELECT e.correlation_id::text AS cid, count(*) AS stored,
               count(*) FILTER (WHERE x.expired) AS expired,
               bool_or(e.legal_hold) AS any_held,
               min(e.chain_seq) AS first_seq,
               min(e.chain_seq) FILTER (WHERE NOT x.expired) AS first_unexpired,
               -- the prefix rows' dates lie in between (they are all expired)
               min(e.event_date) AS first_date,
               max(e.event_date) FILTER (WHERE x.expired) AS last_date
        FROM public.audit_events e
        CROSS JOIN LATERAL (SELECT coalesce(e.retention_days < p_cutoff - e.event_date, false)
                                   AS expired) x
        GROUP BY e.correlation_id
        HAVING bool_or(x.expired)),
    p AS (
        SELECT c.*, (h.legal_hold OR c.any_held) AS held,
               CASE WHEN NOT (h.legal_hold OR c.any_held)
                    THEN nullif(coalesce(c.first_unexpired - 1, h.last_seq), c.first_seq - 1)
               END AS upto, h.last_seq
        FROM c JOIN public.audit_chain_heads h ON h.correlation_id = c.cid)
    SELECT p.cid, p.stored, p.expired, p.held, p.upto,
           coalesce(p.upto - p.first_seq + 1, 0),
           CASE WHEN p.held THEN 0 ELSE p.expired - coalesce(p.upto - p.first_seq + 1, 0) END,
           coalesce(p.upto = p.last_seq, false), p.first_date, p.last_date
    FROM p
$$;

-- Per partition holding events: what retention would do with it, given a
-- chain plan (arrays of correlation ids and their upto_seq).
CREATE OR REPLACE FUNCTION datastorage.retention_partition_plan(p_cutoff date, p_cids text[],
                                                                p_upto bigint[])
RETURNS TABLE (partition text, events bigint, expired_events bigint, held_events bigint,
               prunable_events bigint, droppable boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH plan AS (SELECT * FROM unnest(p_cids, p_upto) AS p(cid, upto) WHERE p.upto IS NOT NULL)
    SELECT c.relname::text, count(*),
           count(*) FILTER (WHERE coalesce(e.retention_days < p_cutoff - e.event_date, false)),
           count(*) FILTER (WHERE e.legal_hold),
           count(*) FILTER (WHERE e.chain_seq <= p.upto),
           count(*) = count(*) FILTER (WHERE e.chain_seq <= p.upto) AND NOT c.relname LIKE '%default'
    FROM public.audit_events e
    JOIN pg_catalog.pg_class c ON c.oid = e.tableoid
    LEFT JOIN plan p ON p.cid = e.correlation_id
    GROUP BY c.relname
    ORDER BY c.relname
$$;

-- Dry run: the whole plan as JSON, changing nothing. p_now may lie ahead
-- ("what will have expired by then").
CREATE OR REPLACE FUNCTION datastorage.retention_plan(p_now timestamptz DEFAULT now())
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
    v_cutoff date := (p_now AT TIME ZONE 'UTC')::date;
    chains jsonb;
    parts jsonb;
    cids text[];
    uptos bigint[];
BEGIN
    SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.correlation_id), '[]'),
           array_agg(c.correlation_id), array_agg(c.upto_seq)
      INTO chains, cids, uptos
      FROM datastorage.retention_chain_plan(v_cutoff) c;
    SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.partition), '[]') INTO parts
      FROM datastorage.retention_partition_plan(v_cutoff, cids, uptos) p;
    RETURN jsonb_build_object(
        'as_of', datastorage.rfc3339(p_now), 'cutoff', v_cutoff, 'dry_run', true,
        'events_to_delete', (SELECT coalesce(sum((c->>'prunable_events')::bigint), 0)
                             FROM jsonb_array_elements(chains) c),
        'chains_affected', (SELECT count(*) FROM jsonb_array_elements(chains) c
                            WHERE (c->>'prunable_events')::bigint > 0),
        'kept_held_events', (SELECT coalesce(sum((c->>'expired_events')::bigint), 0)
                             FROM jsonb_array_elements(chains) c WHERE (c->>'held')::boolean),
        'partitions_to_drop', (SELECT coalesce(jsonb_agg(p ORDER BY p), '[]')
                               FROM (SELECT x->>'partition' FROM jsonb_array_elements(parts) x
                                     WHERE (x->>'droppable')::boolean
                                     UNION SELECT datastorage.retention_detached()) d(p)),
        'partitions', parts, 'chains', chains);
END
$$;

-- Start a run: refuse a date ahead of the database clock or before the last
-- run's cutoff, and a second concurrent run; plan into the queue.
CREATE OR REPLACE FUNCTION datastorage.retention_begin(p_now timestamptz, p_started_by text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
    v_cutoff date := (p_now AT TIME ZONE 'UTC')::date;
    last_cutoff date;
    run bigint;
    cids text[];
    uptos bigint[];
    kept bigint;
    n_chains bigint;
    n_events bigint;
    parts text[];
    -- The clock read into a value first: Citus refuses a volatile function
    -- in an UPDATE of a distributed or reference table.
    stamp timestamptz := clock_timestamp();
BEGIN
    IF p_now IS NULL OR p_now > now() THEN
        RAISE EXCEPTION 'retention cannot run as of %: it is ahead of the database clock (%)',
                        p_now, now()
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    SELECT max(r.cutoff) INTO last_cutoff FROM public.audit_retention_runs r;
    IF v_cutoff < last_cutoff THEN
        RAISE EXCEPTION 'retention cannot run as of %: an earlier run already used cutoff %',
                        v_cutoff, last_cutoff
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    IF NOT pg_try_advisory_lock(datastorage.retention_lock_key()) THEN
        RAISE EXCEPTION 'retention is already running (run %)',
                        (SELECT max(r.run_id) FROM public.audit_retention_runs r WHERE r.status = 'running')
            USING ERRCODE = 'DS409', HINT = 'already-running';
    END IF;
    BEGIN
        -- We hold the only lock: a run still marked running lost its session.
        UPDATE public.audit_retention_runs
           SET status = 'failed', finished_at = stamp,
               error = coalesce(error, 'abandoned: its session ended before it finished')
         WHERE status = 'running';
        DELETE FROM public.audit_retention_queue;
        INSERT INTO public.audit_retention_runs (as_of, cutoff, started_by)
        VALUES (p_now, v_cutoff, coalesce(nullif(p_started_by, ''), 'sql'))
        RETURNING run_id INTO run;
        -- The chain plan reads every event: once, for the queue and the held count.
        WITH plan AS MATERIALIZED (SELECT * FROM datastorage.retention_chain_plan(v_cutoff)),
             queued AS (
            INSERT INTO public.audit_retention_queue (run_id, correlation_id, upto_seq, events,
                                                      first_date, last_date)
            SELECT run, c.correlation_id, c.upto_seq, c.prunable_events, c.first_date, c.last_date
              FROM plan c
             WHERE c.upto_seq IS NOT NULL)
        SELECT coalesce(sum(c.expired_events) FILTER (WHERE c.held), 0) INTO kept FROM plan c;
        -- The steps join with it: the planner must know its size.
        ANALYZE public.audit_retention_queue;
        SELECT array_agg(q.correlation_id::text), array_agg(q.upto_seq) INTO cids, uptos
          FROM public.audit_retention_queue q WHERE q.run_id = run;
        -- Values first, then the UPDATE: on Citus an UPDATE of the run's
        -- record (a reference table) runs on every node, where its
        -- subqueries could not read the shards.
        SELECT count(*), coalesce(sum(q.events), 0) INTO n_chains, n_events
          FROM public.audit_retention_queue q WHERE q.run_id = run;
        parts := ARRAY(SELECT p.partition
                       FROM datastorage.retention_partition_plan(v_cutoff, cids, uptos) p
                       WHERE p.droppable
                       UNION SELECT datastorage.retention_detached() ORDER BY 1);
        UPDATE public.audit_retention_runs r
           SET chains_planned = n_chains, events_planned = n_events,
               partitions_planned = parts, kept_held_events = kept
         WHERE r.run_id = run;
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_advisory_unlock(datastorage.retention_lock_key());
        RAISE;
    END;
    RETURN run;
END
$$;

-- The one place horizons are written: per chain, its first kept chain_seq
-- and the hash that event links to. A horizon only ever moves forward.
-- Returns how many chains' horizons moved.
CREATE OR REPLACE FUNCTION datastorage.retention_record_horizons(p_run bigint, p_cids text[],
                                                                 p_first_kept bigint[],
                                                                 p_hashes text[])
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH moved AS (
        INSERT INTO public.audit_retention_horizons AS z (correlation_id, first_kept_seq,
                                                          previous_hash, run_id, pruned_at)
        SELECT u.cid, u.seq, u.hash, p_run, clock_timestamp()
          FROM unnest(p_cids, p_first_kept, p_hashes) AS u(cid, seq, hash)
        ON CONFLICT (correlation_id) DO UPDATE
           SET first_kept_seq = excluded.first_kept_seq, previous_hash = excluded.previous_hash,
               run_id = excluded.run_id, pruned_at = excluded.pruned_at
         WHERE excluded.first_kept_seq > z.first_kept_seq
        RETURNING 1)
    SELECT count(*) FROM moved
$$;

-- Lock the heads of the given chains for the caller's transaction, in the
-- order appends and holds take them (sorted correlation ids), so a hold
-- cannot slip in between a step's check and its delete. (Citus: one query
-- per chain, sql/citus/37_functions_retention.sql.)
CREATE OR REPLACE FUNCTION datastorage.retention_lock_heads(p_cids text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM 1 FROM public.audit_chain_heads h
     WHERE h.correlation_id = ANY (p_cids) ORDER BY h.correlation_id FOR UPDATE;
END
$$;

-- Remove the prefixes of the given chains (heads locked, held ones skipped):
-- horizons (from the hashes still stored) and the rows, together. Every
-- lookup carries the chain's prefix dates. With p_except (a partition about
-- to be detached, whose event dates span p_lo..p_hi), rows in it leave with
-- it and only chains reaching outside it are looked up elsewhere.
-- Returns (events deleted, chains pruned, expired events kept because now held).
CREATE OR REPLACE FUNCTION datastorage.retention_prune_chains(p_run bigint, p_cids text[],
                                                              p_except regclass, p_lo date,
                                                              p_hi date,
                                                              OUT deleted bigint, OUT chains bigint,
                                                              OUT kept_held bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    work text[];
    uptos bigint[];
    firsts date[];
    lasts date[];
    lo date;
    hi date;
    n bigint;
    h_cids text[];
    h_seqs bigint[];
    h_hashes text[];
BEGIN
    PERFORM datastorage.retention_lock_heads(p_cids);
    -- (Joins with unnest(), not = ANY (array): a batch is thousands of chains.)
    SELECT coalesce(sum(q.events) FILTER (WHERE h.legal_hold), 0),
           coalesce(array_agg(q.correlation_id::text) FILTER (WHERE NOT h.legal_hold), '{}'),
           array_agg(q.upto_seq) FILTER (WHERE NOT h.legal_hold),
           array_agg(q.first_date) FILTER (WHERE NOT h.legal_hold),
           array_agg(q.last_date) FILTER (WHERE NOT h.legal_hold),
           min(q.first_date) FILTER (WHERE NOT h.legal_hold),
           max(q.last_date) FILTER (WHERE NOT h.legal_hold)
      INTO kept_held, work, uptos, firsts, lasts, lo, hi
      FROM unnest(p_cids) c(cid)
      JOIN public.audit_retention_queue q ON q.run_id = p_run AND q.correlation_id = c.cid
      JOIN public.audit_chain_heads h ON h.correlation_id = q.correlation_id;
    IF p_except IS NULL THEN
        -- One pass: the horizon is taken from the last deleted row of each
        -- chain. The batch's chains come as arrays (not a join with the
        -- whole queue), and the batch's date span (lo..hi, parameters)
        -- leaves out the partitions none of its rows can be in.
        WITH gone AS (
            DELETE FROM public.audit_events e
             USING unnest(work, uptos, firsts, lasts) b(cid, upto_seq, first_date, last_date)
             WHERE e.correlation_id = b.cid AND e.chain_seq <= b.upto_seq
               AND e.event_date BETWEEN b.first_date AND b.last_date
               AND e.event_date BETWEEN lo AND hi
            RETURNING e.correlation_id::text AS cid, e.chain_seq, e.event_hash, b.upto_seq)
        SELECT count(*), array_agg(g.cid) FILTER (WHERE g.chain_seq = g.upto_seq),
               array_agg(g.upto_seq + 1) FILTER (WHERE g.chain_seq = g.upto_seq),
               array_agg(g.event_hash) FILTER (WHERE g.chain_seq = g.upto_seq)
          INTO deleted, h_cids, h_seqs, h_hashes
          FROM gone g;
        -- A statement of its own: on Citus the one above runs on the shards.
        chains := datastorage.retention_record_horizons(p_run, h_cids, h_seqs, h_hashes);
    ELSE
        -- Horizons of the chains whose last removed row is in the partition:
        -- one scan of it.
        EXECUTE format($q$
            SELECT datastorage.retention_record_horizons($1, array_agg(q.correlation_id::text),
                                                         array_agg(q.upto_seq + 1), array_agg(e.event_hash))
              FROM %s e
              JOIN unnest($2) c(cid) ON c.cid = e.correlation_id
              JOIN public.audit_retention_queue q
                ON q.run_id = $1 AND q.correlation_id = c.cid AND q.upto_seq = e.chain_seq $q$, p_except)
            INTO chains USING p_run, work;
        -- Chains reaching outside it (across a month's edge): the rest, row by row.
        SELECT coalesce(array_agg(q.correlation_id::text), '{}') INTO work
          FROM unnest(work) c(cid)
          JOIN public.audit_retention_queue q ON q.run_id = p_run AND q.correlation_id = c.cid
         WHERE q.first_date < p_lo OR q.last_date > p_hi;
        SELECT datastorage.retention_record_horizons(p_run, array_agg(q.correlation_id::text),
                                                     array_agg(q.upto_seq + 1), array_agg(e.event_hash))
          INTO n
          FROM unnest(work) c(cid)
          JOIN public.audit_retention_queue q ON q.run_id = p_run AND q.correlation_id = c.cid
          JOIN public.audit_events e ON e.correlation_id = q.correlation_id AND e.chain_seq = q.upto_seq
                                    AND e.event_date BETWEEN q.first_date AND q.last_date
         WHERE e.tableoid <> p_except::oid;
        chains := chains + n;
        DELETE FROM public.audit_events e
         USING unnest(work) c(cid)
          JOIN public.audit_retention_queue q ON q.run_id = p_run AND q.correlation_id = c.cid
         WHERE e.correlation_id = q.correlation_id AND e.chain_seq <= q.upto_seq
           AND e.event_date BETWEEN q.first_date AND q.last_date
           AND e.tableoid <> p_except::oid;
        GET DIAGNOSTICS deleted = ROW_COUNT;
    END IF;
    DELETE FROM public.audit_retention_queue q
     USING unnest(p_cids) c(cid) WHERE q.run_id = p_run AND q.correlation_id = c.cid;
END
$$;

-- Tables retention detached but has not dropped yet (a run that died between
-- the two steps): still there, no longer a partition, recorded by a run as
-- detached and not as dropped. The next run drops them first.
CREATE OR REPLACE FUNCTION datastorage.retention_detached() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT DISTINCT d.name
    FROM public.audit_retention_runs r
    CROSS JOIN LATERAL unnest(r.partitions_detached) d(name)
    JOIN pg_catalog.pg_class c ON c.oid = to_regclass(format('public.%I', d.name))
    WHERE NOT d.name = ANY (r.partitions_dropped) AND c.relkind = 'r' AND NOT c.relispartition
$$;

-- Take the locks a DETACH or DROP needs, all at once or none: the chain
-- heads' (the DDL guard's; appends take it first, so it comes first), then
-- each of rels (ACCESS EXCLUSIVE, without their partitions). The tries are
-- NOWAIT: a lock that is not free at once is not queued for, so writers do
-- not wait behind a request of ours; a failed try gives back what it got
-- and the next comes a moment later. Only the last try (after about half
-- a second: writes never pause) queues, for at most 100 ms. Then
-- lock_not_available: the step changes nothing, and run_retention tries it
-- again later.
CREATE OR REPLACE FUNCTION datastorage.retention_lock(rels regclass[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tries constant integer := 50;
    rel regclass;
    how text;
BEGIN
    FOR attempt IN 1 .. tries LOOP
        how := CASE WHEN attempt < tries THEN ' NOWAIT' ELSE '' END;
        BEGIN
            PERFORM set_config('lock_timeout', '100ms', true);
            EXECUTE 'LOCK TABLE public.audit_chain_heads IN SHARE ROW EXCLUSIVE MODE' || how;
            FOREACH rel IN ARRAY rels LOOP
                EXECUTE format('LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE', rel) || how;
            END LOOP;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            IF attempt = tries THEN
                RAISE;
            END IF;
        END;
        PERFORM pg_sleep(0.005 + random() * 0.01);
    END LOOP;
END
$$;

-- Detach a month whose rows are all pruned prefix rows (rel, holding the
-- chains cids with event dates lo..hi), in the caller's transaction. The
-- slow part (horizons, prefix rows elsewhere, the check of every row) runs
-- before the parent's exclusive lock, under a lock that only stops writes
-- into this partition; the locks that stop every writer are taken last
-- (retention_lock), so writers queue behind them for the DETACH and the
-- commit only. The DROP is the next step.
-- Returns (events removed from audit_events, chains pruned, how long it
-- held the locks that stop writers, up to its commit).
CREATE OR REPLACE FUNCTION datastorage.retention_detach(p_run bigint, rel regclass, cids text[],
                                                        lo date, hi date,
                                                        OUT events bigint, OUT chains bigint,
                                                        OUT locked_ms numeric)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    res record;
    stray bigint;
BEGIN
    SELECT * INTO res FROM datastorage.retention_prune_chains(p_run, cids, rel, lo, hi);
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', rel);
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE z.first_kept_seq IS NULL '
                   'OR e.chain_seq >= z.first_kept_seq) FROM %s e '
                   'LEFT JOIN public.audit_retention_horizons z ON z.correlation_id = e.correlation_id',
                   rel)
        INTO events, stray;
    IF stray > 0 THEN
        RAISE EXCEPTION 'partition % holds % event(s) outside the pruned prefixes', rel, stray
            USING ERRCODE = '55000';
    END IF;
    PERFORM datastorage_guard.warm_up();  -- its first run, not under the locks below
    -- What DETACH locks: the parent, the partition, the default partition.
    PERFORM datastorage.retention_lock(ARRAY['public.audit_events'::regclass, rel]
                                       || ARRAY(SELECT p.partdefid::regclass
                                                FROM pg_partitioned_table p
                                                WHERE p.partrelid = 'public.audit_events'::regclass
                                                  AND p.partdefid <> 0));
    locked_ms := extract(epoch FROM clock_timestamp());
    EXECUTE format('ALTER TABLE public.audit_events DETACH PARTITION %s', rel);
    locked_ms := round((extract(epoch FROM clock_timestamp()) - locked_ms) * 1000, 1);
    events := events + res.deleted;
    chains := res.chains;
END
$$;

-- One unit of work of a run, in the caller's transaction. Returns
-- {"action": "detach"|"drop"|"skip"|"delete"|"done", ...}. A fully expired
-- month takes two steps: detach (its events leave audit_events, horizons
-- recorded) and drop (the detached table goes). p_batch bounds a delete step.
CREATE OR REPLACE FUNCTION datastorage.retention_step(p_run bigint, p_batch integer DEFAULT 10000)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
    r public.audit_retention_runs;
    part text;
    rel regclass;
    cids text[];
    res record;
    lo date;
    hi date;
    began timestamptz;
BEGIN
    SELECT * INTO r FROM public.audit_retention_runs WHERE run_id = p_run FOR UPDATE;
    IF NOT FOUND OR r.status <> 'running' OR NOT EXISTS (
           SELECT 1 FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted
              AND l.objid = (datastorage.retention_lock_key() & 4294967295)::oid
              AND l.classid = (datastorage.retention_lock_key() >> 32)::oid) THEN
        RAISE EXCEPTION 'retention run % is not running in this session', p_run
            USING ERRCODE = '55000';
    END IF;
    -- The row trigger lets retention's DELETEs through (110_audit_immutability.sql).
    -- A SET LOCAL statement (not set_config()): Citus can send it on to the
    -- workers, where the trigger fires (sql/citus/30_functions.sql).
    EXECUTE format('SET LOCAL datastorage.retention_cutoff = %L', r.cutoff);

    part := (SELECT p FROM unnest(r.partitions_planned) p
             WHERE NOT p = ANY (r.partitions_dropped || r.partitions_skipped) ORDER BY p LIMIT 1);
    IF part IS NOT NULL THEN
        rel := to_regclass(format('public.%I', part));
        IF part IN (SELECT datastorage.retention_detached()) THEN
            -- Detached by this run's previous step or by a run that died:
            -- checked then, out of every verification since. Only the chain
            -- heads' lock (the DDL guard's) stops writers, briefly.
            PERFORM datastorage_guard.warm_up();
            PERFORM datastorage.retention_lock(ARRAY[rel]);
            began := clock_timestamp();
            EXECUTE format('DROP TABLE %s', rel);
            UPDATE public.audit_retention_runs SET partitions_dropped = partitions_dropped || part
             WHERE run_id = p_run;
            RETURN jsonb_build_object('action', 'drop', 'partition', part, 'events', 0, 'locked_ms',
                                      round(extract(epoch FROM clock_timestamp() - began) * 1000, 1));
        END IF;
        IF rel IS NOT NULL AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = rel
                                       AND i.inhparent = 'public.audit_events'::regclass) THEN
            EXECUTE format('SELECT array_agg(DISTINCT correlation_id::text), '
                           'min(event_date), max(event_date) FROM %s', rel)
                INTO cids, lo, hi;
            PERFORM datastorage.retention_lock_heads(cids);
        END IF;
        IF cids IS NULL OR EXISTS (SELECT 1 FROM public.audit_chain_heads h
                                   WHERE h.correlation_id = ANY (cids) AND h.legal_hold) THEN
            -- Gone, not ours, or a chain in it was held since the plan: its rows stay.
            UPDATE public.audit_retention_runs SET partitions_skipped = partitions_skipped || part
             WHERE run_id = p_run;
            RETURN jsonb_build_object('action', 'skip', 'partition', part);
        END IF;
        SELECT * INTO res FROM datastorage.retention_detach(p_run, rel, cids, lo, hi);
        UPDATE public.audit_retention_runs
           SET partitions_detached = partitions_detached || part,
               events_deleted = events_deleted + res.events,
               chains_affected = chains_affected + res.chains
         WHERE run_id = p_run;
        RETURN jsonb_build_object('action', 'detach', 'partition', part,
                                  'events', res.events, 'chains', res.chains, 'locked_ms', res.locked_ms);
    END IF;

    -- Chains in order until the batch is full (at least one chain).
    SELECT array_agg(b.correlation_id::text) INTO cids
      FROM (SELECT q.correlation_id, sum(q.events) OVER (ORDER BY q.correlation_id) - q.events AS before
              FROM public.audit_retention_queue q WHERE q.run_id = p_run
             ORDER BY q.correlation_id LIMIT greatest(p_batch, 1)) b
     WHERE b.before < greatest(p_batch, 1);
    IF cids IS NULL THEN
        RETURN jsonb_build_object('action', 'done');
    END IF;
    SELECT * INTO res FROM datastorage.retention_prune_chains(p_run, cids, NULL, NULL, NULL);
    UPDATE public.audit_retention_runs
       SET events_deleted = events_deleted + res.deleted, chains_affected = chains_affected + res.chains,
           kept_held_events = kept_held_events + res.kept_held
     WHERE run_id = p_run;
    RETURN jsonb_build_object('action', 'delete', 'events', res.deleted, 'chains', res.chains,
                              'kept_held', res.kept_held);
END
$$;

-- End a run (p_error: why it failed), release the lock; the run's record.
CREATE OR REPLACE FUNCTION datastorage.retention_finish(p_run bigint, p_error text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r public.audit_retention_runs;
    stamp timestamptz;
BEGIN
    DELETE FROM public.audit_retention_queue WHERE run_id = p_run;
    stamp := clock_timestamp();  -- a value, not a call, in the UPDATE (Citus)
    UPDATE public.audit_retention_runs
       SET status = CASE WHEN p_error IS NULL THEN 'succeeded' ELSE 'failed' END,
           error = p_error, finished_at = stamp
     WHERE run_id = p_run AND status = 'running'
    RETURNING * INTO r;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retention run % is not running', p_run USING ERRCODE = '55000';
    END IF;
    PERFORM pg_advisory_unlock(datastorage.retention_lock_key());
    RETURN datastorage.retention_run_json(r);
END
$$;

CREATE OR REPLACE FUNCTION datastorage.retention_run_json(r public.audit_retention_runs) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_jsonb(r) || jsonb_build_object(
        'started_at', datastorage.rfc3339(r.started_at), 'finished_at', datastorage.rfc3339(r.finished_at),
        'as_of', datastorage.rfc3339(r.as_of), 'dry_run', false,
        'duration_seconds', extract(epoch FROM r.finished_at - r.started_at))
$$;

-- A whole run in the caller's transaction (or the plan, p_dry_run). Every
-- lock it takes is held to the end of that transaction: for tests and small
-- databases; production uses CALL datastorage.run_retention().
CREATE OR REPLACE FUNCTION datastorage.enforce_retention(p_now timestamptz DEFAULT now(),
                                                         p_dry_run boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    run bigint;
BEGIN
    IF p_dry_run THEN
        RETURN datastorage.retention_plan(p_now);
    END IF;
    run := datastorage.retention_begin(p_now, 'enforce_retention');
    BEGIN
        WHILE datastorage.retention_step(run) ->> 'action' <> 'done' LOOP
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_advisory_unlock(datastorage.retention_lock_key());
        RAISE;
    END;
    RETURN datastorage.retention_finish(run);
END
$$;

-- A whole run, committing after every step (so no lock outlives a step;
-- delete steps sized to about 0.1 s each, at most p_batch events),
-- retrying a step that could not get its locks in time (a long reader of
-- audit_events, say): up to 10 times, each later. For pg_cron,
-- psql (outside an explicit transaction) and the service, which follows the
-- progress NOTICEs (JSON: the plan, then one per step):
--   CALL datastorage.run_retention();
-- p_result returns the run's record. A failed step is recorded with its
-- reason (everything it did is rolled back) and raised.
-- After each step (and the plan) the run rests datastorage.retention_pause
-- times as long as the step took (default 1: retention uses at most half of
-- one core; 0: no rest), as autovacuum's cost delay does, so that writers
-- sharing the machine keep their latency. The rest holds no lock.
-- (No SET clause: a procedure with one cannot COMMIT; every name is qualified.)
CREATE OR REPLACE PROCEDURE datastorage.run_retention(p_now timestamptz DEFAULT now(),
                                                      p_started_by text DEFAULT 'run_retention',
                                                      p_batch integer DEFAULT 10000,
                                                      INOUT p_result jsonb DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    run bigint;
    step jsonb;
    err text;
    busy integer := 0;
    batch integer := least(greatest(p_batch, 1), 1000);  -- grows to fit 0.1 s
    began timestamptz;
    took double precision;
    pause double precision := coalesce(nullif(pg_catalog.current_setting('datastorage.retention_pause',
                                                                           true), ''), '1')::float8;
BEGIN
    IF NOT pause BETWEEN 0 AND 100 THEN
        RAISE EXCEPTION 'datastorage.retention_pause must lie between 0 and 100, not %', pause
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    began := pg_catalog.clock_timestamp();
    run := datastorage.retention_begin(p_now, p_started_by);
    COMMIT;
    took := extract(epoch FROM pg_catalog.clock_timestamp() - began);
    RAISE NOTICE '%', (SELECT pg_catalog.jsonb_build_object(
                           'action', 'plan', 'run_id', r.run_id, 'cutoff', r.cutoff,
                           'events_planned', r.events_planned, 'chains_planned', r.chains_planned,
                           'partitions_planned', r.partitions_planned)
                       FROM public.audit_retention_runs r WHERE r.run_id = run);
    PERFORM pg_catalog.pg_sleep(pause * took);
    LOOP
        err := NULL;
        began := pg_catalog.clock_timestamp();
        BEGIN
            step := datastorage.retention_step(run, batch);
        EXCEPTION
            WHEN lock_not_available THEN
                busy := busy + 1;
                err := CASE WHEN busy > 10 THEN 'could not lock audit_events: ' || SQLERRM END;
                step := '{"action": "retry"}';
            WHEN OTHERS THEN
                err := SQLERRM;
        END;
        IF err IS NOT NULL THEN
            p_result := datastorage.retention_finish(run, err);
            COMMIT;
            RAISE EXCEPTION 'retention run % failed: %', run, err USING ERRCODE = '55000';
        END IF;
        COMMIT;
        took := extract(epoch FROM pg_catalog.clock_timestamp() - began);
        EXIT WHEN step ->> 'action' = 'done';
        RAISE NOTICE '%', step || pg_catalog.jsonb_build_object('seconds',
                                                                pg_catalog.round(took::numeric, 4));
        PERFORM pg_catalog.pg_sleep(pause * took);
        IF step ->> 'action' = 'delete' THEN
            -- The next delete step aims at about 0.1 s of work: that bounds
            -- its row locks and its slice of the CPU, whatever the machine.
            batch := least(greatest(p_batch, 1), batch * 4,
                           greatest(100, (batch * 0.1 / greatest(took, 0.001))::integer));
        END IF;
        IF step ->> 'action' = 'retry' THEN
            PERFORM pg_catalog.pg_sleep(0.2 * busy);
        END IF;
    END LOOP;
    p_result := datastorage.retention_finish(run);
    COMMIT;
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.retention_lock_key(),
                          datastorage.retention_chain_plan(date),
                          datastorage.retention_partition_plan(date, text[], bigint[]),
                          datastorage.retention_plan(timestamptz),
                          datastorage.retention_run_json(public.audit_retention_runs)
    TO datastorage_maintenance, datastorage_auditor;
GRANT EXECUTE ON FUNCTION datastorage.retention_begin(timestamptz, text),
                          datastorage.retention_step(bigint, integer),
                          datastorage.retention_finish(bigint, text),
                          datastorage.enforce_retention(timestamptz, boolean)
    TO datastorage_maintenance;
GRANT EXECUTE ON PROCEDURE datastorage.run_retention(timestamptz, text, integer, jsonb)
    TO datastorage_maintenance;
