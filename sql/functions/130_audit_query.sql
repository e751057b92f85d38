-- Reading audit events: the wire rendering of one event, and the paged query
-- behind GET /api/v1/audit/events. Count and page come from one statement,
-- hence one snapshot: `total` always agrees with the page.

-- One event as the API returns it (spec/audit-api.md §6.3, with the real
-- values of the columns the original left as placeholders).
-- Polymorphic: a row of audit_events or, on a Citus cluster, a row of one
-- of its shards (another composite type with the same columns: a call over
-- shard rows runs on the shard with the shard's row; docs/scaling-out.md).
CREATE OR REPLACE FUNCTION datastorage.event_json(e anyelement) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'event_id',             e.event_id,
        'event_timestamp',      datastorage.rfc3339(e.event_timestamp),
        'event_date',           to_char(e.event_date, 'YYYY-MM-DD'),
        'event_type',           e.event_type,
        'version',              e.event_version,
        'event_category',       e.event_category,
        'event_action',         e.event_action,
        'event_outcome',        e.event_outcome,
        'correlation_id',       e.correlation_id,
        'resource_type',        nullif(e.resource_type, ''),
        'resource_id',          nullif(e.resource_id, ''),
        'namespace',            nullif(e.namespace, ''),
        'cluster_name',         nullif(e.cluster_name, ''),
        'severity',             nullif(e.severity, ''),
        'error_code',           nullif(e.error_code, ''),
        'error_message',        nullif(e.error_message, ''),
        'actor_id',             nullif(e.actor_id, ''),
        'actor_type',           nullif(e.actor_type, ''),
        'duration_ms',          nullif(e.duration_ms, 0),
        'retention_days',       e.retention_days,
        'is_sensitive',         e.is_sensitive,
        'chain_seq',            e.chain_seq,
        'event_hash',           e.event_hash,
        'previous_event_hash',  e.previous_event_hash,
        'legal_hold',           e.legal_hold,
        'legal_hold_reason',    e.legal_hold_reason,
        'legal_hold_placed_by', e.legal_hold_placed_by,
        'legal_hold_placed_at', datastorage.rfc3339(e.legal_hold_placed_at)))
    -- Added after stripping: nulls inside event_data are the client's data.
    || jsonb_build_object('event_data', e.event_data,
                          'parent_event_id', e.parent_event_id,
                          'parent_event_date', to_char(e.parent_event_date, 'YYYY-MM-DD'))
$$;

-- The page bounds every paged function accepts (one rule, one place).
CREATE OR REPLACE FUNCTION datastorage.check_page(p_limit integer, p_offset bigint) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 1000' USING ERRCODE = 'DS400';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION 'offset must be at least 0' USING ERRCODE = 'DS400';
    END IF;
END
$$;

-- Filters are optional (NULL = not filtered). Newest first; equal timestamps
-- are ordered by event_id, so paging is deterministic. `total` is exact up to
-- 10,000 matching events (and always for a correlation id alone); beyond
-- that, counting would read every match, so a broad query reports the
-- planner's estimate instead (at least 10,001; issue 12 §5).
--
-- Two entry points, one query: query_audit_events names a chain (on a Citus
-- cluster it is delegated by p_correlation_id and runs on the chain's
-- worker), search_audit_events need not (no correlation id argument, so on a
-- cluster it runs on the coordinator and asks every shard). The service
-- calls the first only with a chain: Citus 13.2 crashes the backend that
-- plans a delegated call whose distribution argument is NULL.
--
-- Plans (issue 8; measured on 1M events in 12 monthly partitions, see
-- docs/performance.md):
--   * A correlation id alone (a chain's trail, the most frequent query) is
--     static SQL: its plan is made once per connection. Planning it for
--     every partition and index cost more (~3 ms) than running it (~1 ms).
--     idx_audit_events_correlation (correlation_id, event_timestamp DESC,
--     event_id DESC) yields the page in order and the count from the index
--     alone, even for a 10,000-event chain.
--   * Any other combination is built from the filters in use (values stay
--     bound parameters), so each gets a plan that fits it. since/until also
--     bound event_date, the partition key (the table's CHECK makes it the
--     UTC date of event_timestamp), so only the months in range are planned
--     and read.
--   * There the page is picked from an index (keys only) and only its rows
--     are fetched: a deep offset skips index entries, not whole rows.
CREATE OR REPLACE FUNCTION datastorage.search_audit_events(
    p_event_type text DEFAULT NULL, p_event_category text DEFAULT NULL,
    p_event_outcome text DEFAULT NULL, p_severity text DEFAULT NULL,
    p_since timestamptz DEFAULT NULL, p_until timestamptz DEFAULT NULL,
    p_limit integer DEFAULT 50, p_offset bigint DEFAULT 0, p_chain text DEFAULT NULL)
RETURNS jsonb
-- VOLATILE only because PostgreSQL allows EXPLAIN (the estimate) in volatile
-- functions alone; it writes nothing.
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cond text := 'TRUE';
    dates text := 'TRUE';
    total bigint;
    page jsonb;
    plan json;
    count_cap constant bigint := 10000;
BEGIN
    PERFORM datastorage.check_page(p_limit, p_offset);
    IF p_chain IS NOT NULL AND num_nulls(p_event_type, p_event_category, p_event_outcome,
                                         p_severity, p_since, p_until) = 6 THEN
        SELECT (SELECT count(*) FROM public.audit_events WHERE correlation_id = p_chain),
               (SELECT coalesce(jsonb_agg(datastorage.event_json(p::public.audit_events)
                                          ORDER BY p.event_timestamp DESC, p.event_id DESC), '[]')
                  FROM (SELECT * FROM public.audit_events WHERE correlation_id = p_chain
                        ORDER BY event_timestamp DESC, event_id DESC
                        LIMIT p_limit OFFSET p_offset) p)
          INTO total, page;
    ELSE
        IF p_chain          IS NOT NULL THEN cond := cond || ' AND correlation_id = $1'; END IF;
        IF p_event_type     IS NOT NULL THEN cond := cond || ' AND event_type = $2'; END IF;
        IF p_event_category IS NOT NULL THEN cond := cond || ' AND event_category = $3'; END IF;
        IF p_event_outcome  IS NOT NULL THEN cond := cond || ' AND event_outcome = $4'; END IF;
        IF p_severity       IS NOT NULL THEN cond := cond || ' AND severity = $5'; END IF;
        IF p_since IS NOT NULL THEN
            cond := cond || ' AND event_timestamp >= $6';
            dates := dates || ' AND event_date >= ($6 AT TIME ZONE ''UTC'')::date';
        END IF;
        IF p_until IS NOT NULL THEN
            cond := cond || ' AND event_timestamp <= $7';
            dates := dates || ' AND event_date <= ($7 AT TIME ZONE ''UTC'')::date';
        END IF;
        -- The count selects a constant, not zero columns: Citus cannot
        -- deparse an empty target list for the shards.
        EXECUTE format(
            'SELECT (SELECT count(*) FROM (SELECT 1 FROM public.audit_events WHERE %1$s AND %2$s
                                           LIMIT $10) c),
                    (SELECT coalesce(jsonb_agg(datastorage.event_json(e)
                                               ORDER BY e.event_timestamp DESC, e.event_id DESC), ''[]'')
                       FROM (SELECT event_id, event_timestamp FROM public.audit_events WHERE %1$s AND %2$s
                             ORDER BY event_timestamp DESC, event_id DESC
                             LIMIT $8 OFFSET $9) k
                       JOIN public.audit_events e
                         ON e.event_id = k.event_id
                        AND e.event_date = (k.event_timestamp AT TIME ZONE ''UTC'')::date
                        AND %3$s)', cond, dates, replace(dates, 'event_date', 'e.event_date'))
            INTO total, page
            USING p_chain, p_event_type, p_event_category, p_event_outcome, p_severity,
                  p_since, p_until, p_limit, p_offset, count_cap + 1;
        IF total > count_cap AND jsonb_array_length(page) BETWEEN 1 AND p_limit - 1 THEN
            total := p_offset + jsonb_array_length(page);       -- the last page: exact
        ELSIF total > count_cap THEN
            EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM public.audit_events WHERE %s AND %s',
                           cond, dates)
                INTO plan
                USING p_chain, p_event_type, p_event_category, p_event_outcome,
                      p_severity, p_since, p_until;
            -- Never below what the page itself proves exists.
            total := greatest(count_cap + 1, (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint,
                              p_offset + jsonb_array_length(page)
                              + CASE WHEN jsonb_array_length(page) = p_limit THEN 1 ELSE 0 END);
        END IF;
    END IF;
    RETURN jsonb_build_object(
        'data', page,
        'pagination', jsonb_build_object('limit', p_limit, 'offset', p_offset, 'total', total,
                                         'has_more', p_offset + jsonb_array_length(page) < total));
END
$$;

CREATE OR REPLACE FUNCTION datastorage.query_audit_events(
    p_correlation_id text DEFAULT NULL, p_event_type text DEFAULT NULL,
    p_event_category text DEFAULT NULL, p_event_outcome text DEFAULT NULL,
    p_severity text DEFAULT NULL, p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL, p_limit integer DEFAULT 50, p_offset bigint DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN datastorage.search_audit_events(p_event_type, p_event_category, p_event_outcome,
                                           p_severity, p_since, p_until, p_limit, p_offset,
                                           p_chain => p_correlation_id);
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.event_json(anyelement) TO datastorage_app, datastorage_auditor;
GRANT EXECUTE ON FUNCTION datastorage.query_audit_events(text, text, text, text, text, timestamptz,
                                                         timestamptz, integer, bigint),
                          datastorage.search_audit_events(text, text, text, text, timestamptz,
                                                          timestamptz, integer, bigint, text)
    TO datastorage_app, datastorage_auditor;
