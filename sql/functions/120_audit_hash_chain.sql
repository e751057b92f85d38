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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r           public.audit_events;
    head        public.audit_chain_heads;
    cur_chain   text := NULL;
    rows        public.audit_events[] := '{}';
    n           integer := 0;
    seen        uuid[] := '{}';
    stored      uuid[];
    missing     uuid;
    parents     uuid[];
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'append_audit_events expects a JSON array' USING ERRCODE = 'DS400';
    END IF;
    -- Lock every chain's head first, in sorted order: concurrent batches
    -- cannot deadlock, and everything read below is read under the locks.
    FOR cur_chain IN SELECT DISTINCT x->>'correlation_id' FROM jsonb_array_elements(p_events) x ORDER BY 1
    LOOP
        INSERT INTO public.audit_chain_heads AS h (correlation_id) VALUES (cur_chain)
        ON CONFLICT (correlation_id) DO UPDATE SET updated_at = h.updated_at;
    END LOOP;
    cur_chain := NULL;
    -- event_id is unique across all partitions (not only the event's month);
    -- one probe of every partition for the whole array, not one per event.
    -- Taken after the locks, so a replay racing the original sees it stored.
    SELECT coalesce(array_agg(a.event_id), '{}') INTO stored
      FROM public.audit_events a
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
                UPDATE public.audit_chain_heads
                   SET last_seq = head.last_seq, last_hash = head.last_hash,
                       last_event_id = head.last_event_id, updated_at = now()
                 WHERE correlation_id = cur_chain;
            END IF;
            cur_chain := r.correlation_id;
            SELECT * INTO head FROM public.audit_chain_heads WHERE correlation_id = cur_chain;
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
        UPDATE public.audit_chain_heads
           SET last_seq = head.last_seq, last_hash = head.last_hash,
               last_event_id = head.last_event_id, updated_at = now()
         WHERE correlation_id = cur_chain;
    END IF;

    IF n > 0 THEN
        INSERT INTO public.audit_events SELECT * FROM unnest(rows);
        -- After the insert, so a parent earlier in the same batch counts.
        -- Uncorrelated (a set difference): Citus cannot plan a correlated
        -- subquery over an array, and most batches name no parent at all.
        parents := ARRAY(SELECT x.parent_event_id FROM unnest(rows) x
                         WHERE x.parent_event_id IS NOT NULL);
        IF cardinality(parents) > 0 THEN
            SELECT d.id INTO missing
              FROM (SELECT unnest(parents)
                    EXCEPT SELECT p.event_id FROM public.audit_events p
                            WHERE p.event_id = ANY (parents)) d(id)
             LIMIT 1;
        END IF;
        IF missing IS NOT NULL THEN
            RAISE EXCEPTION 'parent event does not exist: %', missing
                USING ERRCODE = 'DS400', HINT = 'validation-error';
        END IF;
    END IF;
    RETURN n;
END
$$;

-- Append events of one chain: the single-chain entry point. It names its
-- chain, so on a Citus cluster the call is delegated to the shard holding
-- that chain (sql/citus/30_delegate.sql); on one node it is the same append.
CREATE OR REPLACE FUNCTION datastorage.append_chain_events(p_correlation_id text, p_events jsonb)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF jsonb_typeof(p_events) = 'array' AND EXISTS (
           SELECT 1 FROM jsonb_array_elements(p_events) x
           WHERE x->>'correlation_id' IS DISTINCT FROM p_correlation_id) THEN
        RAISE EXCEPTION 'every event must have correlation_id %', p_correlation_id
            USING ERRCODE = 'DS400';
    END IF;
    RETURN datastorage.append_audit_events(p_events);
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.append_audit_events(jsonb),
                          datastorage.append_chain_events(text, jsonb) TO datastorage_app;
GRANT EXECUTE ON FUNCTION datastorage.canonical_event(public.audit_events),
                          datastorage.canonical_members(public.audit_events),
                          datastorage.chain_hash(text, public.audit_events),
                          datastorage.link_hash(text, text)
    TO datastorage_app, datastorage_auditor;
