-- Rule: an export shows every selected event with everything needed to
-- recompute its hash, and judges each one against its WHOLE chain in the
-- database (datastorage.verify_chains), never against the other rows of the
-- page: a page boundary, an offset or a filter is never reported as tampering.
--
-- Selection: the filters, ascending (event_timestamp, event_id), LIMIT/OFFSET
-- (1..10000 events). Rendering is done here so that event_data leaves the
-- database exactly as PostgreSQL prints it (numbers keep their decimal text);
-- signing, PII redaction and the document around the rows are Python's
-- (app/export.py, docs/export.md).

-- One exported event as JSON: the chain columns and the verdict, then the
-- members of its version-1 canonical text (datastorage.canonical_members:
-- between the braces), so a verifier finds every hashed member under its
-- canonical name. An event hashed in another form says which
-- ("hash_version": 2); version 1 events carry no such member, so their
-- exports keep the bytes they always had.
CREATE OR REPLACE FUNCTION datastorage.export_event_json(canonical_members text, event_hash text,
                                                         previous_event_hash text, verdict text,
                                                         legal_hold boolean, hash_version smallint)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT concat('{"event_hash": ', coalesce(to_json(event_hash)::text, 'null'),
                  ', "previous_event_hash": ', coalesce(to_json(previous_event_hash)::text, 'null'),
                  ', "hash_chain_valid": ', (verdict = 'ok')::text,
                  ', "chain_verdict": ', to_json(verdict)::text,
                  ', "legal_hold": ', coalesce(legal_hold, false)::text,
                  CASE WHEN hash_version <> 1 THEN ', "hash_version": ' || hash_version END,
                  ', ', canonical_members, '}')
$$;

-- RFC 4180 cell: NULL is an empty unquoted cell, every value (the empty
-- string included) is quoted, so NULL and '' stay distinguishable.
CREATE OR REPLACE FUNCTION datastorage.csv_cell(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL THEN '' ELSE '"' || replace(v, '"', '""') || '"' END
$$;

-- Column names of the CSV export, in order. The last two columns,
-- event_data and pii_redacted, are appended by the service (it may redact
-- event_data), so export_event_csv() renders every column before them.
CREATE OR REPLACE FUNCTION datastorage.export_csv_columns() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['event_id', 'chain_seq', 'correlation_id', 'event_timestamp', 'event_date',
                 'version', 'event_type', 'event_category', 'event_action', 'event_outcome',
                 'actor_type', 'actor_id', 'actor_ip', 'resource_type', 'resource_id',
                 'resource_name', 'parent_event_id', 'parent_event_date', 'trace_id', 'span_id',
                 'namespace', 'cluster_name', 'severity', 'duration_ms', 'error_code',
                 'error_message', 'retention_days', 'is_sensitive', 'event_metadata',
                 'event_hash', 'previous_event_hash', 'hash_chain_valid', 'chain_verdict',
                 'legal_hold', 'event_data', 'pii_redacted']
$$;

-- The cells of export_csv_columns() up to (not including) event_data, each
-- followed by a comma. Values are the canonical texts (timestamps with six
-- fractional digits in UTC, host() for actor_ip, jsonb text for metadata).
CREATE OR REPLACE FUNCTION datastorage.export_event_csv(e public.audit_events, verdict text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT concat_ws(',',
        datastorage.csv_cell(e.event_id::text), datastorage.csv_cell(e.chain_seq::text),
        datastorage.csv_cell(e.correlation_id),
        datastorage.csv_cell(to_char(e.event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
        datastorage.csv_cell(to_char(e.event_date, 'YYYY-MM-DD')),
        datastorage.csv_cell(e.event_version), datastorage.csv_cell(e.event_type),
        datastorage.csv_cell(e.event_category), datastorage.csv_cell(e.event_action),
        datastorage.csv_cell(e.event_outcome), datastorage.csv_cell(e.actor_type),
        datastorage.csv_cell(e.actor_id), datastorage.csv_cell(host(e.actor_ip)),
        datastorage.csv_cell(e.resource_type), datastorage.csv_cell(e.resource_id),
        datastorage.csv_cell(e.resource_name), datastorage.csv_cell(e.parent_event_id::text),
        datastorage.csv_cell(to_char(e.parent_event_date, 'YYYY-MM-DD')),
        datastorage.csv_cell(e.trace_id), datastorage.csv_cell(e.span_id),
        datastorage.csv_cell(e.namespace), datastorage.csv_cell(e.cluster_name),
        datastorage.csv_cell(e.severity), datastorage.csv_cell(e.duration_ms::text),
        datastorage.csv_cell(e.error_code), datastorage.csv_cell(e.error_message),
        datastorage.csv_cell(e.retention_days::text), datastorage.csv_cell(e.is_sensitive::text),
        datastorage.csv_cell(e.event_metadata::text), datastorage.csv_cell(e.event_hash),
        datastorage.csv_cell(e.previous_event_hash),
        datastorage.csv_cell((verdict = 'ok')::text), datastorage.csv_cell(verdict),
        datastorage.csv_cell(coalesce(e.legal_hold, false)::text)) || ','
$$;

-- The export itself. Rows, in this order:
--   kind 'event': one per selected event, in selection order; body = the
--                 event's JSON object (p_format 'json') or its CSV cells up to
--                 event_data (p_format 'csv', event_data then holds the
--                 event_data jsonb text); hash_chain_valid = its verdict;
--                 hash_version = the canonical form its hash covers;
--   kind 'chain': one per chain the selected events belong to; body = that
--                 chain's whole-chain summary as JSON.
-- Two steps: select the page (its keys, and its chains), then one pass of
-- datastorage.chain_verdicts() over those whole chains gives the verdicts,
-- the chain summaries and (JSON) each event's canonical text, rendered once.
-- The chain ids reach that pass as a parameter, so the planner inlines it and
-- computes only what the format needs.
-- Bad arguments raise DS400 with the client-facing sentence.
-- work_mem: a page of 10,000 rendered events is joined and sorted in memory.
CREATE OR REPLACE FUNCTION datastorage.export_audit_events(
    p_format text, p_start_time timestamptz, p_end_time timestamptz, p_correlation_id text,
    p_event_category text, p_limit integer, p_offset bigint)
RETURNS TABLE (kind text, correlation_id text, event_id uuid, hash_chain_valid boolean,
               body text, event_data text, hash_version smallint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off
SET work_mem = '64MB' SET parallel_setup_cost = 100 SET parallel_tuple_cost = 0.01
SET min_parallel_table_scan_size = '64kB' SET min_parallel_index_scan_size = '64kB' AS $$
DECLARE
    cond text := 'TRUE';
    page_ids uuid[];
    page_seqs bigint[];
    page_chains text[];
    chains text[];
    events_sql text;
BEGIN
    IF p_format IS NULL OR p_format NOT IN ('json', 'csv') THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'export-invalid',
            MESSAGE = format('Unknown format: %s. Supported formats: json, csv.', p_format);
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'export-invalid',
            MESSAGE = 'limit must be between 1 and 10000';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'export-invalid',
            MESSAGE = 'offset must be at least 0';
    END IF;
    IF p_start_time > p_end_time THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'export-invalid',
            MESSAGE = 'start_time must not be after end_time';
    END IF;
    -- Only the filters in use are planned, so each export gets a fitting plan.
    IF p_start_time     IS NOT NULL THEN cond := cond || ' AND e.event_timestamp >= $1'; END IF;
    IF p_end_time       IS NOT NULL THEN cond := cond || ' AND e.event_timestamp <= $2'; END IF;
    IF p_correlation_id IS NOT NULL THEN cond := cond || ' AND e.correlation_id = $3'; END IF;
    IF p_event_category IS NOT NULL THEN cond := cond || ' AND e.event_category = $4'; END IF;

    EXECUTE format($q$
        SELECT array_agg(p.event_id ORDER BY p.ord), array_agg(p.chain_seq ORDER BY p.ord),
               array_agg(p.correlation_id ORDER BY p.ord), array_agg(DISTINCT p.correlation_id)
        FROM (SELECT e.event_id, e.chain_seq, e.correlation_id::text AS correlation_id,
                     row_number() OVER (ORDER BY e.event_timestamp, e.event_id) AS ord
              FROM public.audit_events e
              WHERE %s
              ORDER BY e.event_timestamp, e.event_id
              LIMIT $5 OFFSET $6) p $q$, cond)
        INTO page_ids, page_seqs, page_chains, chains
        USING p_start_time, p_end_time, p_correlation_id, p_event_category, p_limit, p_offset;
    IF page_ids IS NULL THEN
        RETURN;
    END IF;

    IF p_format = 'json' THEN
        events_sql := $q$
            SELECT 'event'::text, v.correlation_id, v.event_id, v.valid,
                   datastorage.export_event_json(v.members, v.event_hash, v.previous_event_hash,
                                                 v.verdict, v.legal_hold, v.hash_version),
                   NULL::text, v.hash_version
            FROM v WHERE v.ord IS NOT NULL
            ORDER BY v.ord $q$;
    ELSE
        events_sql := $q$
            SELECT 'event'::text, v.correlation_id, v.event_id, v.valid,
                   datastorage.export_event_csv(e, v.verdict), e.event_data::text, v.hash_version
            FROM v
            JOIN public.audit_events e ON e.event_id = v.event_id AND e.event_date = v.event_date
                               AND e.chain_seq = v.chain_seq
            WHERE v.ord IS NOT NULL
            ORDER BY v.ord $q$;
    END IF;
    -- The chains reach chain_verdicts() as a parameter and p_with_members as
    -- a constant: it is inlined, and renders canonical text only for JSON.
    RETURN QUERY EXECUTE format($q$
        WITH page AS (
            SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[]) WITH ORDINALITY
                          AS p(event_id, chain_seq, correlation_id, ord)),
        v AS MATERIALIZED (
            -- The page's keys are hashed and joined to the chains' rows: the
            -- rendered text is kept (and sorted) for the page's events only.
            SELECT c.correlation_id, c.chain_seq, c.event_id, c.event_date, c.valid, c.verdict,
                   CASE WHEN p.ord IS NOT NULL THEN %s END AS members,
                   c.event_hash, c.previous_event_hash, c.legal_hold, c.chain_total,
                   c.chain_valid, c.chain_first_broken_seq, c.chain_last_seq, c.chain_last_hash,
                   c.hash_version, p.ord
            FROM datastorage.chain_verdicts($4, %L::boolean) c
            LEFT JOIN page p ON p.correlation_id = c.correlation_id AND p.event_id = c.event_id
                            AND p.chain_seq = c.chain_seq)
        (%s)
        UNION ALL
        (SELECT 'chain'::text, f.correlation_id, NULL::uuid,
                f.chain_total = f.chain_valid AND m.head_matches,
                (jsonb_build_object('correlation_id', f.correlation_id,
                                   'total_events', f.chain_total,
                                   'valid_events', f.chain_valid,
                                   'broken_events', f.chain_total - f.chain_valid,
                                   'first_broken_seq', f.chain_first_broken_seq,
                                   'first_broken_event_id', CASE WHEN NOT f.valid THEN f.event_id END,
                                   'head_matches', m.head_matches,
                                   'is_valid', f.chain_total = f.chain_valid AND m.head_matches)
                -- a pruned chain: where its stored part starts (450_retention.sql)
                || CASE WHEN z.first_kept_seq IS NULL THEN '{}'::jsonb
                        ELSE jsonb_build_object('retention_horizon', jsonb_build_object(
                                 'first_kept_seq', z.first_kept_seq, 'previous_hash', z.previous_hash,
                                 'run_id', z.run_id, 'pruned_at', datastorage.rfc3339(z.pruned_at)))
                   END)::text,
                NULL::text, NULL::smallint
         -- The first row of a chain in this order is its first broken event, if any.
         FROM (SELECT DISTINCT ON (v.correlation_id) v.correlation_id, v.valid, v.event_id,
                      v.chain_total, v.chain_valid, v.chain_first_broken_seq, v.chain_last_seq,
                      v.chain_last_hash
               FROM v ORDER BY v.correlation_id, v.valid, v.chain_seq, v.event_id) f
         CROSS JOIN LATERAL (SELECT datastorage.chain_head_matches(f.correlation_id, f.chain_last_seq,
                                                                   f.chain_last_hash) AS head_matches) m
         LEFT JOIN public.audit_retention_horizons z ON z.correlation_id = f.correlation_id)
        $q$, CASE WHEN p_format = 'json' THEN 'c.canonical_members' ELSE 'NULL::text' END,
        p_format = 'json', events_sql)
        USING page_ids, page_seqs, page_chains, chains;
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.export_event_json(text, text, text, text, boolean, smallint),
                          datastorage.export_event_csv(public.audit_events, text),
                          datastorage.csv_cell(text), datastorage.export_csv_columns(),
                          datastorage.export_audit_events(text, timestamptz, timestamptz, text, text,
                                                          integer, bigint)
    TO datastorage_app, datastorage_auditor;
