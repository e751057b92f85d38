-- Rule: every audit event is linked into the hash chain of its correlation id.
--
--   event_hash = hex(sha256(previous_event_hash || canonical_event(row)))
--
-- Chains are ordered by chain_seq, assigned under the chain-head row lock
-- (never by timestamp: clients send old, equal and out-of-order timestamps).
-- The first event's previous_event_hash is ''. canonical_event() covers every
-- stored field except the hash columns themselves and the mutable legal-hold
-- columns; docs/hash-chain.md specifies its bytes for independent verifiers.

CREATE OR REPLACE FUNCTION datastorage.canonical_event(e public.audit_events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'event_id',          e.event_id::text,
        'chain_seq',         e.chain_seq,
        'correlation_id',    e.correlation_id,
        'event_timestamp',   datastorage.rfc3339_micro(e.event_timestamp),
        'event_date',        to_char(e.event_date, 'YYYY-MM-DD'),
        'version',           e.event_version,
        'event_type',        e.event_type,
        'event_category',    e.event_category,
        'event_action',      e.event_action,
        'event_outcome',     e.event_outcome,
        'actor_type',        e.actor_type,
        'actor_id',          e.actor_id,
        'actor_ip',          host(e.actor_ip),
        'resource_type',     e.resource_type,
        'resource_id',       e.resource_id,
        'resource_name',     e.resource_name,
        'parent_event_id',   e.parent_event_id::text,
        'parent_event_date', to_char(e.parent_event_date, 'YYYY-MM-DD'),
        'trace_id',          e.trace_id,
        'span_id',           e.span_id,
        'namespace',         e.namespace,
        'cluster_name',      e.cluster_name,
        'severity',          e.severity,
        'duration_ms',       e.duration_ms,
        'error_code',        e.error_code,
        'error_message',     e.error_message,
        'retention_days',    e.retention_days,
        'is_sensitive',      e.is_sensitive,
        'event_metadata',    e.event_metadata,
        'event_data',        e.event_data)::text
$$;

CREATE OR REPLACE FUNCTION datastorage.chain_hash(previous_hash text, e public.audit_events)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(previous_hash || datastorage.canonical_event(e), 'UTF8')), 'hex')
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
    missing     uuid;
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'append_audit_events expects a JSON array' USING ERRCODE = 'DS400';
    END IF;

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
            -- Takes the chain lock (row lock on the head) in sorted order.
            INSERT INTO audit_chain_heads AS h (correlation_id) VALUES (cur_chain)
            ON CONFLICT (correlation_id) DO UPDATE SET updated_at = h.updated_at
            RETURNING * INTO head;
        END IF;

        r.event_date := (r.event_timestamp AT TIME ZONE 'UTC')::date;
        -- event_id is unique across all partitions (not only the event's month).
        CONTINUE WHEN r.event_id = ANY (seen)
                   OR EXISTS (SELECT 1 FROM audit_events a WHERE a.event_id = r.event_id);
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

-- Verdict for every event of one chain, in chain order. An event is broken when
--   content_mismatch: its hash does not recompute from its own content and
--                     stored previous_event_hash (content or hash altered);
--   link_mismatch:    its previous_event_hash is not its predecessor's hash;
--   sequence_gap:     its chain_seq does not follow its predecessor's
--                     (an event before it was deleted or renumbered);
--   unhashed:         it carries no hash at all.
-- The chain head (the tail recorded at append time) reveals deleted tails:
-- datastorage.verify_chain_summary() reports it.
CREATE OR REPLACE FUNCTION datastorage.verify_chain(p_correlation_id text)
RETURNS TABLE (chain_seq bigint, event_id uuid, event_timestamp timestamptz,
               event_hash text, previous_event_hash text, expected_hash text,
               expected_previous_hash text, valid boolean, verdict text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.chain_seq, c.event_id, c.event_timestamp, c.event_hash, c.previous_event_hash,
           c.recomputed, coalesce(c.pred_hash, ''), v.verdict = 'ok', v.verdict
    FROM (
        SELECT e.chain_seq, e.event_id, e.event_timestamp, e.event_hash, e.previous_event_hash,
               datastorage.chain_hash(coalesce(e.previous_event_hash, ''), e) AS recomputed,
               lag(e.event_hash) OVER w AS pred_hash,
               coalesce(lag(e.chain_seq) OVER w, 0) AS pred_seq
        FROM audit_events e
        WHERE e.correlation_id = p_correlation_id
        WINDOW w AS (ORDER BY e.chain_seq, e.event_id)
    ) c
    CROSS JOIN LATERAL (SELECT CASE
        WHEN c.event_hash IS NULL OR c.previous_event_hash IS NULL THEN 'unhashed'
        WHEN c.recomputed <> c.event_hash THEN 'content_mismatch'
        WHEN c.previous_event_hash <> coalesce(c.pred_hash, '') THEN 'link_mismatch'
        WHEN c.chain_seq <> c.pred_seq + 1 THEN 'sequence_gap'
        ELSE 'ok' END AS verdict) v
    ORDER BY c.chain_seq, c.event_id
$$;

CREATE OR REPLACE FUNCTION datastorage.verify_chain_summary(p_correlation_id text)
RETURNS TABLE (correlation_id text, total_events bigint, valid_events bigint,
               broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid,
               tampered_event_ids uuid[], head_matches boolean, is_valid boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH v AS (SELECT * FROM datastorage.verify_chain(p_correlation_id)),
    agg AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE v.valid) AS ok,
               array_agg(v.event_id ORDER BY v.chain_seq) FILTER (WHERE NOT v.valid) AS bad,
               max(v.chain_seq) AS last_seq,
               (array_agg(v.event_hash ORDER BY v.chain_seq DESC))[1] AS last_hash
        FROM v),
    head AS (SELECT h.last_seq, h.last_hash FROM audit_chain_heads h
             WHERE h.correlation_id = p_correlation_id)
    SELECT p_correlation_id, agg.total, agg.ok, agg.total - agg.ok,
           (SELECT min(v.chain_seq) FROM v WHERE NOT v.valid),
           (SELECT v.event_id FROM v WHERE NOT v.valid ORDER BY v.chain_seq LIMIT 1),
           coalesce(agg.bad, '{}'),
           -- No head and no events: nothing to compare. Otherwise the stored
           -- tail must be the last event actually present.
           coalesce((SELECT head.last_seq = coalesce(agg.last_seq, 0)
                            AND head.last_hash = coalesce(agg.last_hash, '') FROM head),
                    agg.total = 0),
           agg.total - agg.ok = 0
             AND coalesce((SELECT head.last_seq = coalesce(agg.last_seq, 0)
                                  AND head.last_hash = coalesce(agg.last_hash, '') FROM head),
                          agg.total = 0)
    FROM agg
$$;

GRANT EXECUTE ON FUNCTION datastorage.append_audit_events(jsonb) TO datastorage_app;
GRANT EXECUTE ON FUNCTION datastorage.verify_chain(text), datastorage.verify_chain_summary(text)
    TO datastorage_app, datastorage_auditor;
GRANT EXECUTE ON FUNCTION datastorage.canonical_event(public.audit_events),
                          datastorage.chain_hash(text, public.audit_events)
    TO datastorage_app, datastorage_auditor;
