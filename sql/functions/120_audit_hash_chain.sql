-- Rule: every audit event is linked into the hash chain of its correlation id.
--
--   event_hash = hex(sha256(previous_event_hash || canonical_event(row)))
--
-- Chains are ordered by chain_seq, assigned under the chain-head row lock
-- (never by timestamp: clients send old, equal and out-of-order timestamps).
-- The first event's previous_event_hash is ''. canonical_event() covers every
-- stored field except the hash columns themselves and the mutable legal-hold
-- columns; docs/hash-chain.md specifies its bytes for independent verifiers.

-- The canonical text is exactly what jsonb_build_object(<the 30 members>)::text
-- renders: members sorted by key (byte length, then bytes), ", " and ": "
-- separators, strings escaped as PostgreSQL's escape_json does, numbers and
-- nested jsonb as jsonb prints them, NULL as null. It is assembled by
-- concatenation in that fixed order because jsonb_build_object costs ~3x as
-- much per event; tests/db/test_canonical_property.py holds both renderings
-- (and the Python one in app/canonical.py) to the same bytes.
-- canonical_members() is the text between the braces: exports splice other
-- members in front of it without cutting (character-wise) into long text.
CREATE OR REPLACE FUNCTION datastorage.canonical_members(e public.audit_events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT '"span_id": '           || coalesce(to_json(e.span_id)::text, 'null')
        || ', "version": '         || coalesce(to_json(e.event_version)::text, 'null')
        || ', "actor_id": '        || coalesce(to_json(e.actor_id)::text, 'null')
        || ', "actor_ip": '        || coalesce(to_json(host(e.actor_ip))::text, 'null')
        || ', "event_id": '        || coalesce('"' || e.event_id::text || '"', 'null')
        || ', "severity": '        || coalesce(to_json(e.severity)::text, 'null')
        || ', "trace_id": '        || coalesce(to_json(e.trace_id)::text, 'null')
        || ', "chain_seq": '       || coalesce(e.chain_seq::text, 'null')
        || ', "namespace": '       || coalesce(to_json(e.namespace)::text, 'null')
        || ', "actor_type": '      || coalesce(to_json(e.actor_type)::text, 'null')
        || ', "error_code": '      || coalesce(to_json(e.error_code)::text, 'null')
        || ', "event_data": '      || coalesce(e.event_data::text, 'null')
        || ', "event_date": '      || coalesce('"' || to_char(e.event_date, 'YYYY-MM-DD') || '"', 'null')
        || ', "event_type": '      || coalesce(to_json(e.event_type)::text, 'null')
        || ', "duration_ms": '     || coalesce(e.duration_ms::text, 'null')
        || ', "resource_id": '     || coalesce(to_json(e.resource_id)::text, 'null')
        || ', "cluster_name": '    || coalesce(to_json(e.cluster_name)::text, 'null')
        || ', "event_action": '    || coalesce(to_json(e.event_action)::text, 'null')
        || ', "is_sensitive": '    || coalesce(e.is_sensitive::text, 'null')
        || ', "error_message": '   || coalesce(to_json(e.error_message)::text, 'null')
        || ', "event_outcome": '   || coalesce(to_json(e.event_outcome)::text, 'null')
        || ', "resource_name": '   || coalesce(to_json(e.resource_name)::text, 'null')
        || ', "resource_type": '   || coalesce(to_json(e.resource_type)::text, 'null')
        || ', "correlation_id": '  || coalesce(to_json(e.correlation_id)::text, 'null')
        || ', "event_category": '  || coalesce(to_json(e.event_category)::text, 'null')
        || ', "event_metadata": '  || coalesce(e.event_metadata::text, 'null')
        || ', "retention_days": '  || coalesce(e.retention_days::text, 'null')
        -- Same text as datastorage.rfc3339_micro(), written inline: that
        -- function cannot be inlined and would cost a function call per event.
        || ', "event_timestamp": ' || coalesce('"' || to_char(e.event_timestamp AT TIME ZONE 'UTC',
                                                             'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"', 'null')
        || ', "parent_event_id": ' || coalesce('"' || e.parent_event_id::text || '"', 'null')
        || ', "parent_event_date": ' || coalesce('"' || to_char(e.parent_event_date, 'YYYY-MM-DD') || '"', 'null')
$$;

CREATE OR REPLACE FUNCTION datastorage.canonical_event(e public.audit_events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT '{' || datastorage.canonical_members(e) || '}'
$$;

-- One link of the chain: hex(sha256(previous hash || canonical text)).
-- STABLE, not IMMUTABLE: convert_to() is stable, and a SQL function declared
-- more strictly than its body is never inlined (it would cost a call per row).
CREATE OR REPLACE FUNCTION datastorage.link_hash(previous_hash text, canonical text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(previous_hash || canonical, 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION datastorage.chain_hash(previous_hash text, e public.audit_events)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT datastorage.link_hash(previous_hash, datastorage.canonical_event(e))
$$;

-- Append events (a JSON array of objects keyed by column name, ids and
-- defaults already assigned by the caller) in one transaction.
--   * chains are locked in sorted correlation-id order: concurrent batches
--     cannot deadlock;
--   * within a chain, events link in array order;
--   * an event_id already stored is skipped, whatever its timestamp
--     (replays are idempotent);
--   * events of a chain under legal hold are held on arrival;
--   * parent_event_id must name a stored event (or one earlier in the array).
-- Returns the number of events inserted (the rest were already stored).
CREATE OR REPLACE FUNCTION datastorage.append_audit_events(p_events jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    r           public.audit_events;
    head        public.audit_chain_heads;
    cur_chain   text := NULL;
    rows        public.audit_events[] := '{}';
    n           integer := 0;
    seen        uuid[] := '{}';
    stored      uuid[];
    missing     uuid;
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'append_audit_events expects a JSON array' USING ERRCODE = 'DS400';
    END IF;
    -- Lock every chain's head first, in sorted order: concurrent batches
    -- cannot deadlock, and everything read below is read under the locks.
    FOR cur_chain IN SELECT DISTINCT x->>'correlation_id' FROM jsonb_array_elements(p_events) x ORDER BY 1
    LOOP
        INSERT INTO audit_chain_heads AS h (correlation_id) VALUES (cur_chain)
        ON CONFLICT (correlation_id) DO UPDATE SET updated_at = h.updated_at;
    END LOOP;
    cur_chain := NULL;
    -- event_id is unique across all partitions (not only the event's month);
    -- one probe of every partition for the whole array, not one per event.
    -- Taken after the locks, so a replay racing the original sees it stored.
    SELECT coalesce(array_agg(a.event_id), '{}') INTO stored
      FROM audit_events a
     WHERE a.event_id = ANY (ARRAY(SELECT (x->>'event_id')::uuid
                                   FROM jsonb_array_elements(p_events) x));

    FOR r IN
        SELECT e.*
        FROM ROWS FROM (jsonb_populate_recordset(NULL::public.audit_events, p_events))
             WITH ORDINALITY AS e
        ORDER BY e.correlation_id, e.ordinality
    LOOP
        IF r.correlation_id IS DISTINCT FROM cur_chain THEN
            IF cur_chain IS NOT NULL THEN
                UPDATE audit_chain_heads
                   SET last_seq = head.last_seq, last_hash = head.last_hash,
                       last_event_id = head.last_event_id, updated_at = now()
                 WHERE correlation_id = cur_chain;
            END IF;
            cur_chain := r.correlation_id;
            SELECT * INTO head FROM audit_chain_heads WHERE correlation_id = cur_chain;
        END IF;

        r.event_date := (r.event_timestamp AT TIME ZONE 'UTC')::date;
        CONTINUE WHEN r.event_id = ANY (stored) OR r.event_id = ANY (seen);
        seen := seen || r.event_id;

        r.event_version := coalesce(r.event_version, '1.0');
        r.retention_days := coalesce(r.retention_days, 2555);
        r.is_sensitive := coalesce(r.is_sensitive, false);
        r.chain_seq := head.last_seq + 1;
        r.previous_event_hash := head.last_hash;
        r.event_hash := datastorage.chain_hash(head.last_hash, r);
        r.legal_hold := head.legal_hold;
        r.legal_hold_reason := CASE WHEN head.legal_hold THEN head.legal_hold_reason END;
        r.legal_hold_placed_by := CASE WHEN head.legal_hold THEN head.legal_hold_placed_by END;
        r.legal_hold_placed_at := CASE WHEN head.legal_hold THEN head.legal_hold_placed_at END;
        head.last_seq := r.chain_seq;
        head.last_hash := r.event_hash;
        head.last_event_id := r.event_id;
        n := n + 1;
        rows[n] := r;
    END LOOP;

    IF cur_chain IS NOT NULL THEN
        UPDATE audit_chain_heads
           SET last_seq = head.last_seq, last_hash = head.last_hash,
               last_event_id = head.last_event_id, updated_at = now()
         WHERE correlation_id = cur_chain;
    END IF;

    IF n > 0 THEN
        INSERT INTO audit_events SELECT * FROM unnest(rows);
        -- After the insert, so a parent earlier in the same batch counts.
        SELECT x.parent_event_id INTO missing
          FROM unnest(rows) x
         WHERE x.parent_event_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM audit_events p WHERE p.event_id = x.parent_event_id)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'parent event does not exist: %', missing
                USING ERRCODE = 'DS400', HINT = 'validation-error';
        END IF;
    END IF;
    RETURN n;
END
$$;

-- Verdict for every event of the given chains, in chain order. An event is
-- broken when
--   unhashed:         it carries no hash at all;
--   content_mismatch: its hash does not recompute from its own content and
--                     stored previous_event_hash (content or hash altered);
--   sequence_gap:     its chain_seq does not follow its predecessor's
--                     (an event before it was deleted or renumbered);
--   link_mismatch:    its previous_event_hash is not its predecessor's hash
--                     (predecessor = the stored event before it in chain
--                     order, over the WHOLE chain; never a page).
-- The first stored event follows (seq 0, hash '') - or, for a chain retention
-- has pruned, its horizon (first_kept_seq - 1, previous_hash; see
-- 450_retention.sql): only exactly that prefix may be missing.
-- The first reason that applies, in this order, is the verdict.
-- Every row also carries its chain's totals (chain_*), so one pass over a
-- chain yields both the per-event and the per-chain picture.
-- Internal and inlinable (no SECURITY DEFINER, not granted): the verify and
-- export functions call it with a constant p_with_members, which the planner
-- folds, choosing where the work happens:
--   false (verification): the scan computes the hash, in parallel workers when
--         the planner sees fit (the subquery is kept apart from the windows by
--         OFFSET 0); canonical_members stays NULL;
--   true (exports): the scan renders the canonical members once, and the hash
--         is taken from that text, which is returned for the export to show.
DROP FUNCTION IF EXISTS datastorage.chain_verdicts(text[]);
DROP FUNCTION IF EXISTS datastorage.chain_verdicts(text[], boolean);
CREATE FUNCTION datastorage.chain_verdicts(p_correlation_ids text[], p_with_members boolean)
RETURNS TABLE (correlation_id text, chain_seq bigint, event_id uuid, event_date date,
               event_timestamp timestamptz, event_hash text, previous_event_hash text,
               expected_hash text, expected_previous_hash text, valid boolean, verdict text,
               canonical_members text, legal_hold boolean, chain_total bigint, chain_valid bigint,
               chain_first_broken_seq bigint, chain_last_seq bigint, chain_last_hash text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT v.correlation_id, v.chain_seq, v.event_id, v.event_date, v.event_timestamp,
           v.event_hash, v.previous_event_hash, v.recomputed, coalesce(v.pred_hash, ''),
           v.verdict = 'ok', v.verdict, v.members, v.legal_hold,
           count(*) OVER chain,
           count(*) FILTER (WHERE v.verdict = 'ok') OVER chain,
           min(v.chain_seq) FILTER (WHERE v.verdict <> 'ok') OVER chain,
           last_value(v.chain_seq) OVER chain,
           last_value(v.event_hash) OVER chain
    FROM (
        SELECT c.*, CASE
                   WHEN c.event_hash IS NULL OR c.previous_event_hash IS NULL THEN 'unhashed'
                   WHEN c.recomputed <> c.event_hash THEN 'content_mismatch'
                   WHEN c.chain_seq <> c.pred_seq + 1 THEN 'sequence_gap'
                   WHEN c.previous_event_hash <> coalesce(c.pred_hash, '') THEN 'link_mismatch'
                   ELSE 'ok' END AS verdict
        FROM (
            SELECT h.*,
                   coalesce(h.scan_hash,
                            datastorage.link_hash(coalesce(h.previous_event_hash, ''),
                                                  '{' || h.members || '}')) AS recomputed,
                   coalesce(lag(h.event_hash) OVER w, h.horizon_hash) AS pred_hash,
                   coalesce(lag(h.chain_seq) OVER w, h.horizon_seq - 1, 0) AS pred_seq
            FROM (SELECT e.correlation_id::text AS correlation_id, e.chain_seq, e.event_id,
                         e.event_date, e.event_timestamp, e.event_hash, e.previous_event_hash,
                         e.legal_hold, z.first_kept_seq AS horizon_seq, z.previous_hash AS horizon_hash,
                         CASE WHEN NOT p_with_members
                              THEN datastorage.chain_hash(coalesce(e.previous_event_hash, ''), e)
                         END AS scan_hash,
                         CASE WHEN p_with_members THEN datastorage.canonical_members(e) END AS members
                  FROM public.audit_events e
                  LEFT JOIN public.audit_retention_horizons z
                         ON z.correlation_id = e.correlation_id
                        AND z.correlation_id = ANY (p_correlation_ids)
                  WHERE e.correlation_id = ANY (p_correlation_ids)
                  OFFSET 0) h
            WINDOW w AS (PARTITION BY h.correlation_id ORDER BY h.chain_seq, h.event_id)
        ) c
    ) v
    WINDOW chain AS (PARTITION BY v.correlation_id ORDER BY v.chain_seq, v.event_id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
$$;

-- Does the chain head (the tail recorded at append time) name the last event
-- present? A deleted tail leaves every remaining event valid but the head
-- pointing past them. No head and no events: nothing to compare (true).
-- A chain retention removed entirely ends at its horizon instead.
CREATE OR REPLACE FUNCTION datastorage.chain_head_matches(p_correlation_id text, p_last_seq bigint,
                                                          p_last_hash text)
RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT h.last_seq = coalesce(p_last_seq, z.first_kept_seq - 1, 0)
                            AND h.last_hash = coalesce(p_last_hash, z.previous_hash, '')
                     FROM public.audit_chain_heads h
                     LEFT JOIN public.audit_retention_horizons z ON z.correlation_id = h.correlation_id
                     WHERE h.correlation_id = p_correlation_id),
                    coalesce(p_last_seq, 0) = 0)
$$;

-- A row per event of one chain with its verdict (see chain_verdicts), for DBAs:
--   SELECT * FROM datastorage.verify_chain('rr-2026-001') WHERE NOT valid;
-- Settings: rendering thousands of events is CPU work worth parallel workers;
-- the sort carries the rendered text (work_mem keeps 10,000 events in memory);
-- JIT compilation would cost more than it saves at these sizes.
CREATE OR REPLACE FUNCTION datastorage.verify_chain(p_correlation_id text)
RETURNS TABLE (chain_seq bigint, event_id uuid, event_timestamp timestamptz,
               event_hash text, previous_event_hash text, expected_hash text,
               expected_previous_hash text, valid boolean, verdict text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
SET jit = off SET work_mem = '64MB' SET parallel_setup_cost = 100 SET parallel_tuple_cost = 0.01
SET min_parallel_table_scan_size = '64kB' SET min_parallel_index_scan_size = '64kB' AS $$
    SELECT v.chain_seq, v.event_id, v.event_timestamp, v.event_hash, v.previous_event_hash,
           v.expected_hash, v.expected_previous_hash, v.valid, v.verdict
    FROM datastorage.chain_verdicts(ARRAY[p_correlation_id], false) v
    ORDER BY v.chain_seq, v.event_id
$$;

-- One summary row per requested chain (in request order, duplicates removed):
-- counts, the first broken event, every broken event with its verdict and
-- the hashes involved (`broken`, a jsonb array in chain order), and whether
-- the chain head matches (chain_head_matches). A chain nobody ever wrote has
-- total_events = 0 and head_seq NULL. pruned_events: how many events
-- retention removed from the front (0: none); expired: retention removed
-- them all (the chain is valid, not broken, when its head ends at the horizon).
--   SELECT * FROM datastorage.verify_chains(ARRAY['rr-1', 'rr-2']);
DROP FUNCTION IF EXISTS datastorage.verify_chains(text[]);
CREATE FUNCTION datastorage.verify_chains(p_correlation_ids text[])
RETURNS TABLE (correlation_id text, total_events bigint, valid_events bigint,
               broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid,
               head_seq bigint, head_hash text, head_matches boolean, is_valid boolean,
               broken jsonb, pruned_events bigint, expired boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
SET jit = off SET work_mem = '64MB' SET parallel_setup_cost = 100 SET parallel_tuple_cost = 0.01
SET min_parallel_table_scan_size = '64kB' SET min_parallel_index_scan_size = '64kB' AS $$
    WITH wanted AS (
        SELECT w.cid, min(w.ord) AS ord
        FROM unnest(p_correlation_ids) WITH ORDINALITY AS w(cid, ord)
        WHERE w.cid IS NOT NULL
        GROUP BY w.cid),
    v AS (
        SELECT v.correlation_id, v.chain_seq, v.event_id, v.event_timestamp, v.event_hash,
               v.previous_event_hash, v.expected_hash, v.expected_previous_hash, v.valid,
               v.verdict, v.chain_total, v.chain_valid, v.chain_first_broken_seq,
               v.chain_last_seq, v.chain_last_hash
        FROM datastorage.chain_verdicts(ARRAY(SELECT cid FROM wanted), false) v),
    chains AS (
        SELECT v.correlation_id, max(v.chain_total) AS total, max(v.chain_valid) AS ok,
               max(v.chain_first_broken_seq) AS first_bad_seq,
               max(v.chain_last_seq) AS last_seq, max(v.chain_last_hash) AS last_hash,
               jsonb_agg(jsonb_build_object(
                   'chain_seq', v.chain_seq, 'event_id', v.event_id,
                   'event_timestamp', datastorage.rfc3339_micro(v.event_timestamp),
                   'verdict', v.verdict, 'event_hash', v.event_hash,
                   'expected_hash', v.expected_hash,
                   'previous_event_hash', v.previous_event_hash,
                   'expected_previous_hash', v.expected_previous_hash)
                   ORDER BY v.chain_seq, v.event_id) FILTER (WHERE NOT v.valid) AS broken
        FROM v
        GROUP BY v.correlation_id)
    SELECT w.cid, coalesce(c.total, 0), coalesce(c.ok, 0), coalesce(c.total - c.ok, 0),
           c.first_bad_seq, (c.broken -> 0 ->> 'event_id')::uuid, h.last_seq, h.last_hash,
           m.head_matches, coalesce(c.total = c.ok, true) AND m.head_matches,
           coalesce(c.broken, '[]'), coalesce(z.first_kept_seq - 1, 0),
           coalesce(z.first_kept_seq > h.last_seq AND c.total IS NULL, false)
    FROM wanted w
    LEFT JOIN chains c ON c.correlation_id = w.cid
    LEFT JOIN audit_chain_heads h ON h.correlation_id = w.cid
    LEFT JOIN audit_retention_horizons z ON z.correlation_id = w.cid
    CROSS JOIN LATERAL (SELECT datastorage.chain_head_matches(w.cid, c.last_seq, c.last_hash)
                               AS head_matches) m
    ORDER BY w.ord
$$;

-- The one-chain summary (kept with its original columns for existing callers).
CREATE OR REPLACE FUNCTION datastorage.verify_chain_summary(p_correlation_id text)
RETURNS TABLE (correlation_id text, total_events bigint, valid_events bigint,
               broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid,
               tampered_event_ids uuid[], head_matches boolean, is_valid boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.correlation_id, s.total_events, s.valid_events, s.broken_events, s.first_broken_seq,
           s.first_broken_event_id,
           ARRAY(SELECT (b ->> 'event_id')::uuid FROM jsonb_array_elements(s.broken) b),
           s.head_matches, s.is_valid
    FROM datastorage.verify_chains(ARRAY[p_correlation_id]) s
$$;

GRANT EXECUTE ON FUNCTION datastorage.append_audit_events(jsonb) TO datastorage_app;
GRANT EXECUTE ON FUNCTION datastorage.verify_chain(text), datastorage.verify_chain_summary(text),
                          datastorage.verify_chains(text[])
    TO datastorage_app, datastorage_auditor;
GRANT EXECUTE ON FUNCTION datastorage.canonical_event(public.audit_events),
                          datastorage.canonical_members(public.audit_events),
                          datastorage.chain_hash(text, public.audit_events),
                          datastorage.link_hash(text, text),
                          datastorage.chain_head_matches(text, bigint, text)
    TO datastorage_app, datastorage_auditor;
