-- Rule: verification follows each whole chain by chain_seq and names every
-- event that breaks it (the links themselves are made in 120_audit_hash_chain.sql).

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
--   true (exports): the scan renders the canonical members once (the export
--         shows them), and the hash of a version-1 event is taken from that
--         text; other versions hash their own form (chain_hash dispatches on
--         hash_version, 120_audit_hash_chain.sql).
-- On a Citus cluster the scan runs on the shards, where `e` is a row of the
-- shard's own type: the functions that take a row get ROW(e.*) cast to
-- audit_events (the same columns on either); and there this function and
-- the others here that read distributed tables become PL/pgSQL
-- (sql/citus/35_functions_plpgsql.sql, docs/scaling-out.md).
CREATE OR REPLACE FUNCTION datastorage.chain_verdicts(p_correlation_ids text[], p_with_members boolean)
RETURNS TABLE (correlation_id text, chain_seq bigint, event_id uuid, event_date date,
               event_timestamp timestamptz, event_hash text, previous_event_hash text,
               expected_hash text, expected_previous_hash text, valid boolean, verdict text,
               canonical_members text, legal_hold boolean, chain_total bigint, chain_valid bigint,
               chain_first_broken_seq bigint, chain_last_seq bigint, chain_last_hash text,
               hash_version smallint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT v.correlation_id, v.chain_seq, v.event_id, v.event_date, v.event_timestamp,
           v.event_hash, v.previous_event_hash, v.recomputed, coalesce(v.pred_hash, ''),
           v.verdict = 'ok', v.verdict, v.members, v.legal_hold,
           count(*) OVER chain,
           count(*) FILTER (WHERE v.verdict = 'ok') OVER chain,
           min(v.chain_seq) FILTER (WHERE v.verdict <> 'ok') OVER chain,
           last_value(v.chain_seq) OVER chain,
           last_value(v.event_hash) OVER chain,
           v.hash_version
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
                         e.legal_hold, e.hash_version, z.first_kept_seq AS horizon_seq,
                         z.previous_hash AS horizon_hash,
                         CASE WHEN NOT p_with_members OR e.hash_version <> 1
                              THEN datastorage.chain_hash(coalesce(e.previous_event_hash, ''),
                                                          ROW(e.*)::public.audit_events)
                         END AS scan_hash,
                         CASE WHEN p_with_members
                              THEN datastorage.canonical_members(ROW(e.*)::public.audit_events) END AS members
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
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
CREATE OR REPLACE FUNCTION datastorage.verify_chains(p_correlation_ids text[])
RETURNS TABLE (correlation_id text, total_events bigint, valid_events bigint,
               broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid,
               head_seq bigint, head_hash text, head_matches boolean, is_valid boolean,
               broken jsonb, pruned_events bigint, expired boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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
    LEFT JOIN public.audit_chain_heads h ON h.correlation_id = w.cid
    LEFT JOIN public.audit_retention_horizons z ON z.correlation_id = w.cid
    CROSS JOIN LATERAL (SELECT datastorage.chain_head_matches(w.cid, c.last_seq, c.last_hash)
                               AS head_matches) m
    ORDER BY w.ord
$$;

-- verify_chains for one chain: on a Citus cluster it is delegated by its
-- correlation id and runs whole on the chain's worker (the service's
-- verification of a single chain).
CREATE OR REPLACE FUNCTION datastorage.verify_one_chain(p_correlation_id text)
RETURNS TABLE (correlation_id text, total_events bigint, valid_events bigint,
               broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid,
               head_seq bigint, head_hash text, head_matches boolean, is_valid boolean,
               broken jsonb, pruned_events bigint, expired boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM datastorage.verify_chains(ARRAY[p_correlation_id])
$$;

-- The one-chain summary (kept with its original columns for existing callers).
CREATE OR REPLACE FUNCTION datastorage.verify_chain_summary(p_correlation_id text)
RETURNS TABLE (correlation_id text, total_events bigint, valid_events bigint,
               broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid,
               tampered_event_ids uuid[], head_matches boolean, is_valid boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.correlation_id, s.total_events, s.valid_events, s.broken_events, s.first_broken_seq,
           s.first_broken_event_id,
           ARRAY(SELECT (b ->> 'event_id')::uuid FROM jsonb_array_elements(s.broken) b),
           s.head_matches, s.is_valid
    FROM datastorage.verify_chains(ARRAY[p_correlation_id]) s
$$;

-- Events the given chains hold, from their heads (no chain is read): the
-- service bounds a verification request with it (issue 12 §5).
CREATE OR REPLACE FUNCTION datastorage.chain_sizes(p_correlation_ids text[]) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(sum(h.last_seq), 0)::bigint
    FROM public.audit_chain_heads h
    WHERE h.correlation_id = ANY (p_correlation_ids)
$$;

GRANT EXECUTE ON FUNCTION datastorage.verify_chain(text), datastorage.verify_chain_summary(text),
                          datastorage.verify_one_chain(text),
                          datastorage.verify_chains(text[]), datastorage.chain_sizes(text[]),
                          datastorage.chain_head_matches(text, bigint, text)
    TO datastorage_app, datastorage_auditor;
