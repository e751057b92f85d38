-- Rule: legal hold is per correlation id, and it covers the whole chain,
-- including events appended after it was placed (append_audit_events reads
-- the hold from the chain head it locks). Placing and releasing lock that
-- same head, so no event slips in between. Every placement and release is
-- recorded in the append-only audit_legal_holds table (who, when, why).
-- Placing and releasing run as datastorage_hold_keeper, the only role the
-- guard triggers (110_audit_immutability.sql) let change hold columns.
SET LOCAL ROLE datastorage_hold_keeper;

CREATE OR REPLACE FUNCTION datastorage.place_legal_hold(
    p_correlation_id text, p_reason text, p_placed_by text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head public.audit_chain_heads;
    placed timestamptz := clock_timestamp();
    n bigint;
BEGIN
    IF coalesce(p_reason, '') = '' OR coalesce(p_placed_by, '') = '' THEN
        RAISE EXCEPTION 'reason and placed_by are required' USING ERRCODE = 'DS400';
    END IF;
    SELECT * INTO head FROM public.audit_chain_heads WHERE correlation_id = p_correlation_id FOR UPDATE;
    IF NOT FOUND OR head.last_seq = 0 THEN
        RAISE EXCEPTION 'No events found for correlation_id: %', p_correlation_id
            USING ERRCODE = 'DS404', HINT = 'correlation-id-not-found';
    END IF;
    UPDATE public.audit_events
       SET legal_hold = true, legal_hold_reason = p_reason,
           legal_hold_placed_by = p_placed_by, legal_hold_placed_at = placed
     WHERE correlation_id = p_correlation_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE public.audit_chain_heads
       SET legal_hold = true, legal_hold_reason = p_reason,
           legal_hold_placed_by = p_placed_by, legal_hold_placed_at = placed
     WHERE correlation_id = p_correlation_id;
    INSERT INTO public.audit_legal_holds (correlation_id, action, reason, actor, at, events_affected)
    VALUES (p_correlation_id, 'place', p_reason, p_placed_by, placed, n);
    RETURN jsonb_build_object('correlation_id', p_correlation_id, 'events_affected', n,
                              'placed_by', p_placed_by, 'placed_at', datastorage.rfc3339(placed),
                              'reason', p_reason);
END
$$;

CREATE OR REPLACE FUNCTION datastorage.release_legal_hold(
    p_correlation_id text, p_release_reason text, p_released_by text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head public.audit_chain_heads;
    released timestamptz := clock_timestamp();
    n bigint;
BEGIN
    IF coalesce(p_release_reason, '') = '' OR coalesce(p_released_by, '') = '' THEN
        RAISE EXCEPTION 'release_reason and released_by are required' USING ERRCODE = 'DS400';
    END IF;
    SELECT * INTO head FROM public.audit_chain_heads WHERE correlation_id = p_correlation_id FOR UPDATE;
    IF NOT FOUND OR NOT head.legal_hold THEN
        RAISE EXCEPTION 'No legal hold found for correlation_id: %', p_correlation_id
            USING ERRCODE = 'DS404', HINT = 'legal-hold-not-found';
    END IF;
    UPDATE public.audit_events
       SET legal_hold = false,
           legal_hold_reason = legal_hold_reason || ' [Released: ' || p_release_reason || ']'
     WHERE correlation_id = p_correlation_id AND legal_hold;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE public.audit_chain_heads
       SET legal_hold = false, legal_hold_reason = NULL, legal_hold_placed_by = NULL,
           legal_hold_placed_at = NULL
     WHERE correlation_id = p_correlation_id;
    INSERT INTO public.audit_legal_holds (correlation_id, action, reason, actor, at, events_affected)
    VALUES (p_correlation_id, 'release', p_release_reason, p_released_by, released, n);
    RETURN jsonb_build_object('correlation_id', p_correlation_id, 'events_released', n,
                              'released_by', p_released_by,
                              'released_at', datastorage.rfc3339(released));
END
$$;

REVOKE EXECUTE ON FUNCTION datastorage.place_legal_hold(text, text, text),
                           datastorage.release_legal_hold(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION datastorage.place_legal_hold(text, text, text),
                          datastorage.release_legal_hold(text, text, text)
    TO datastorage_app;

SET LOCAL ROLE datastorage_owner;

CREATE OR REPLACE FUNCTION datastorage.list_legal_holds() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object(
        'holds', coalesce(jsonb_agg(jsonb_build_object(
                     'correlation_id', h.correlation_id,
                     'events_affected', (SELECT count(*) FROM public.audit_events e
                                         WHERE e.correlation_id = h.correlation_id AND e.legal_hold),
                     'placed_by', h.legal_hold_placed_by,
                     'placed_at', datastorage.rfc3339(h.legal_hold_placed_at),
                     'reason', h.legal_hold_reason)
                 ORDER BY h.legal_hold_placed_at DESC, h.correlation_id), '[]'),
        'total', count(*))
    FROM public.audit_chain_heads h
    WHERE h.legal_hold
$$;

-- Every placement and release of one correlation id, oldest first.
CREATE OR REPLACE FUNCTION datastorage.legal_hold_history(p_correlation_id text)
RETURNS SETOF public.audit_legal_holds
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM public.audit_legal_holds WHERE correlation_id = p_correlation_id ORDER BY id
$$;

GRANT EXECUTE ON FUNCTION datastorage.list_legal_holds(), datastorage.legal_hold_history(text)
    TO datastorage_app;
GRANT EXECUTE ON FUNCTION datastorage.list_legal_holds(), datastorage.legal_hold_history(text)
    TO datastorage_auditor;
