-- Read-only aggregates for the audit console (app/console/, docs/console.md).
-- Nothing here writes. Both functions run as the owner with a pinned
-- search_path (names are schema-qualified), and only the service role and
-- auditors may call them.

-- The overview of one day: events per hour for the 24 hours ending with the
-- hour that holds p_until (the last bucket is the hour in progress), counts
-- by category and by outcome over the same window, and chain totals.
-- p_until is a parameter so that tests do not depend on the clock.
--   SELECT datastorage.console_overview(now());
CREATE OR REPLACE FUNCTION datastorage.console_overview(p_until timestamptz DEFAULT now())
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC' AS $$
DECLARE
    lo timestamptz;
    hi timestamptz;
    lo_date date;
    hi_date date;
    doc jsonb;
BEGIN
    IF p_until IS NULL OR isfinite(p_until) IS NOT TRUE THEN
        RAISE EXCEPTION 'until must be a finite timestamp' USING ERRCODE = 'DS400';
    END IF;
    hi := date_trunc('hour', p_until) + interval '1 hour';
    lo := hi - interval '24 hours';
    -- Bounds on the partition key (the UTC date of event_timestamp) as
    -- variables: the plan reads only the partitions of the window.
    lo_date := lo::date;
    hi_date := hi::date;
    WITH recent AS MATERIALIZED (
        SELECT e.event_timestamp, e.event_category, e.event_outcome, e.correlation_id
        FROM public.audit_events e
        WHERE e.event_timestamp >= lo AND e.event_timestamp < hi
          AND e.event_date >= lo_date AND e.event_date <= hi_date),
    hours AS (
        SELECT h.n, lo + make_interval(hours => h.n) AS hour_start
        FROM generate_series(0, 23) AS h(n)),
    per_hour AS (
        SELECT floor(extract(epoch FROM r.event_timestamp - lo) / 3600)::integer AS n,
               count(*) AS cnt
        FROM recent r GROUP BY 1),
    by_category AS (
        SELECT r.event_category AS k, count(*) AS cnt FROM recent r GROUP BY 1),
    by_outcome AS (
        SELECT r.event_outcome AS k, count(*) AS cnt FROM recent r GROUP BY 1)
    SELECT jsonb_build_object(
        'from', datastorage.rfc3339(lo),
        'until', datastorage.rfc3339(hi),
        'total', (SELECT count(*) FROM recent),
        'chains', (SELECT count(DISTINCT r.correlation_id) FROM recent r),
        'hours', (SELECT jsonb_agg(jsonb_build_object('start', datastorage.rfc3339(h.hour_start),
                                                      'count', coalesce(p.cnt, 0)) ORDER BY h.n)
                  FROM hours h LEFT JOIN per_hour p ON p.n = h.n),
        'by_category', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', c.k, 'count', c.cnt)
                                                  ORDER BY c.cnt DESC, c.k), '[]')
                        FROM by_category c),
        'by_outcome', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', o.k, 'count', o.cnt)
                                                 ORDER BY o.cnt DESC, o.k), '[]')
                       FROM by_outcome o),
        'chains_total', (SELECT count(*) FROM public.audit_chain_heads h WHERE h.last_seq > 0),
        'chains_held', (SELECT count(*) FROM public.audit_chain_heads h WHERE h.legal_hold))
      INTO doc;
    RETURN doc;
END
$$;

-- One page of a trail in chain order, judged over the WHOLE chain (a page
-- boundary is never a break): every event as the API renders it (event_data
-- as PostgreSQL prints it, indented, so numbers keep their exact text) plus its
-- verdict from datastorage.chain_verdicts, the milliseconds since the event
-- before it, and the chain's verdict (counts, head check, the first 100
-- broken events). Also the chain's legal-hold state and hold history. One
-- pass over the chain serves the page and the chain badge.
-- A chain nobody ever wrote answers found = false.
--   SELECT datastorage.console_trail('rr-2026-001', 0, 100);
CREATE OR REPLACE FUNCTION datastorage.console_trail(p_correlation_id text, p_offset bigint,
                                                     p_limit integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET jit = off SET work_mem = '64MB' AS $$
DECLARE
    doc jsonb;
    -- the chain's verdicts, one array per column, in chain order
    seqs bigint[];
    ids uuid[];
    dates date[];
    stamps timestamptz[];
    valids boolean[];
    verdicts text[];
    expected text[];
    expected_previous text[];
    chain_total bigint;
    chain_ok bigint;
    chain_first_bad bigint;
    head_ok boolean;
BEGIN
    PERFORM datastorage.check_page(p_limit, p_offset);
    -- The verdicts and the head check read the chain's tables themselves, so
    -- each is a statement of its own: on a Citus cluster a query over the
    -- chain's shards cannot call a function that queries distributed tables.
    SELECT array_agg(c.chain_seq ORDER BY c.chain_seq, c.event_id),
           array_agg(c.event_id ORDER BY c.chain_seq, c.event_id),
           array_agg(c.event_date ORDER BY c.chain_seq, c.event_id),
           array_agg(c.event_timestamp ORDER BY c.chain_seq, c.event_id),
           array_agg(c.valid ORDER BY c.chain_seq, c.event_id),
           array_agg(c.verdict ORDER BY c.chain_seq, c.event_id),
           array_agg(c.expected_hash ORDER BY c.chain_seq, c.event_id),
           array_agg(c.expected_previous_hash ORDER BY c.chain_seq, c.event_id),
           max(c.chain_total), max(c.chain_valid), max(c.chain_first_broken_seq),
           datastorage.chain_head_matches(p_correlation_id, max(c.chain_last_seq),
                                          max(c.chain_last_hash))
      INTO seqs, ids, dates, stamps, valids, verdicts, expected, expected_previous,
           chain_total, chain_ok, chain_first_bad, head_ok
      FROM datastorage.chain_verdicts(ARRAY[p_correlation_id], false) c;
    WITH v AS MATERIALIZED (
        SELECT c.*, c.n - 1 AS position, lag(c.event_timestamp) OVER (ORDER BY c.n) AS previous_timestamp
        FROM unnest(seqs, ids, dates, stamps, valids, verdicts, expected, expected_previous)
             WITH ORDINALITY AS c(chain_seq, event_id, event_date, event_timestamp, valid, verdict,
                                  expected_hash, expected_previous_hash, n)),
    chain AS (SELECT chain_total AS total, chain_ok AS ok, chain_first_bad AS first_bad_seq),
    page AS (
        SELECT v.* FROM v WHERE v.position >= p_offset AND v.position < p_offset + p_limit),
    head AS (
        SELECT h.* FROM public.audit_chain_heads h WHERE h.correlation_id = p_correlation_id)
    SELECT jsonb_build_object(
        'correlation_id', p_correlation_id,
        'found', EXISTS (SELECT 1 FROM v) OR EXISTS (SELECT 1 FROM head),
        'chain', (SELECT jsonb_build_object(
                      'total_events', coalesce(c.total, 0),
                      'valid_events', coalesce(c.ok, 0),
                      'broken_events', coalesce(c.total - c.ok, 0),
                      'first_broken_seq', c.first_bad_seq,
                      'head_seq', (SELECT h.last_seq FROM head h),
                      'head_matches', head_ok,
                      'is_valid', coalesce(c.total = c.ok, true) AND head_ok,
                      'broken', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                     'position', b.position, 'chain_seq', b.chain_seq,
                                     'event_id', b.event_id, 'verdict', b.verdict)
                                     ORDER BY b.position), '[]')
                                 FROM (SELECT * FROM v WHERE NOT v.valid
                                       ORDER BY v.position LIMIT 100) b))
                  FROM chain c),
        'hold', (SELECT jsonb_build_object(
                     'active', h.legal_hold, 'reason', h.legal_hold_reason,
                     'placed_by', h.legal_hold_placed_by,
                     'placed_at', datastorage.rfc3339(h.legal_hold_placed_at))
                 FROM head h),
        'hold_history', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                             'action', l.action, 'reason', l.reason, 'actor', l.actor,
                             'at', datastorage.rfc3339(l.at),
                             'events_affected', l.events_affected) ORDER BY l.id), '[]')
                         FROM public.audit_legal_holds l
                         WHERE l.correlation_id = p_correlation_id),
        'offset', p_offset,
        'limit', p_limit,
        'events', (SELECT coalesce(jsonb_agg((datastorage.event_json(e) - 'event_data') || jsonb_build_object(
                           'event_data_pretty', jsonb_pretty(e.event_data),
                           'position', p.position, 'verdict', p.verdict, 'valid', p.valid,
                           'expected_hash', p.expected_hash,
                           'expected_previous_hash', p.expected_previous_hash,
                           'since_previous_ms', round(extract(epoch FROM p.event_timestamp
                                                              - p.previous_timestamp) * 1000, 3))
                           ORDER BY p.position), '[]')
                   FROM page p
                   JOIN public.audit_events e
                     ON e.event_id = p.event_id AND e.event_date = p.event_date
                    AND e.correlation_id = p_correlation_id))
      INTO doc;
    RETURN doc;
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.console_overview(timestamptz),
                          datastorage.console_trail(text, bigint, integer)
    TO datastorage_app, datastorage_auditor;
