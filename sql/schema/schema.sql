--
-- PostgreSQL database dump
--



SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: datastorage; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA datastorage;


--
-- Name: append_audit_events(jsonb); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.append_audit_events(p_events jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


SET default_tablespace = '';

--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    event_id uuid NOT NULL,
    event_version character varying(20) DEFAULT '1.0'::character varying NOT NULL,
    event_timestamp timestamp with time zone NOT NULL,
    event_date date NOT NULL,
    event_type character varying(100) NOT NULL,
    event_category character varying(50) NOT NULL,
    event_action character varying(50) NOT NULL,
    event_outcome character varying(20) NOT NULL,
    actor_type character varying(50) NOT NULL,
    actor_id character varying(255) NOT NULL,
    actor_ip inet,
    resource_type character varying(100) NOT NULL,
    resource_id character varying(255) NOT NULL,
    resource_name character varying(255),
    correlation_id character varying(255) NOT NULL,
    parent_event_id uuid,
    parent_event_date date,
    trace_id character varying(255),
    span_id character varying(255),
    namespace character varying(253),
    cluster_name character varying(255),
    event_data jsonb NOT NULL,
    event_metadata jsonb,
    severity character varying(20),
    duration_ms integer,
    error_code character varying(50),
    error_message text,
    retention_days integer DEFAULT 2555,
    is_sensitive boolean DEFAULT false,
    chain_seq bigint NOT NULL,
    event_hash text,
    previous_event_hash text,
    legal_hold boolean DEFAULT false NOT NULL,
    legal_hold_reason text,
    legal_hold_placed_by text,
    legal_hold_placed_at timestamp with time zone,
    CONSTRAINT audit_events_chain_seq_positive CHECK ((chain_seq > 0)),
    CONSTRAINT audit_events_event_date_utc CHECK ((event_date = ((event_timestamp AT TIME ZONE 'UTC'::text))::date))
)
PARTITION BY RANGE (event_date);


--
-- Name: canonical_event(public.audit_events); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.canonical_event(e public.audit_events) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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


--
-- Name: chain_hash(text, public.audit_events); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.chain_hash(previous_hash text, e public.audit_events) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT encode(sha256(convert_to(previous_hash || datastorage.canonical_event(e), 'UTF8')), 'hex')
$$;


--
-- Name: ensure_audit_partitions(integer, integer); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.ensure_audit_partitions(months_back integer DEFAULT 1, months_ahead integer DEFAULT 3) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    first_month date := date_trunc('month', (now() AT TIME ZONE 'UTC'))::date;
    m date;
    name text;
    created integer := 0;
BEGIN
    -- Every worker runs this at start-up; one at a time.
    PERFORM pg_advisory_xact_lock(hashtext('datastorage.ensure_audit_partitions'));
    FOR i IN -months_back .. months_ahead LOOP
        m := (first_month + make_interval(months => i))::date;
        name := format('audit_events_%s', to_char(m, 'YYYY_MM'));
        CONTINUE WHEN to_regclass('public.' || name) IS NOT NULL;
        CONTINUE WHEN EXISTS (SELECT 1 FROM audit_events_default
                              WHERE event_date >= m AND event_date < (m + interval '1 month')::date);
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.audit_events '
                       'FOR VALUES FROM (%L) TO (%L)', name, m, (m + interval '1 month')::date);
        PERFORM datastorage.protect_partition(('public.' || quote_ident(name))::regclass);
        created := created + 1;
    END LOOP;
    PERFORM datastorage.protect_partition('public.audit_events_default'::regclass);
    RETURN created;
END
$$;


--
-- Name: event_json(public.audit_events); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.event_json(e public.audit_events) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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
        'legal_hold_placed_at', datastorage.rfc3339(e.legal_hold_placed_at),
        'event_data',           e.event_data))
    || jsonb_build_object('parent_event_id', e.parent_event_id,
                          'parent_event_date', to_char(e.parent_event_date, 'YYYY-MM-DD'))
$$;


SET default_table_access_method = heap;

--
-- Name: audit_legal_holds; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_legal_holds (
    id bigint NOT NULL,
    correlation_id character varying(255) NOT NULL,
    action text NOT NULL,
    reason text NOT NULL,
    actor text NOT NULL,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    events_affected bigint NOT NULL,
    CONSTRAINT audit_legal_holds_action_check CHECK ((action = ANY (ARRAY['place'::text, 'release'::text])))
);


--
-- Name: legal_hold_history(text); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.legal_hold_history(p_correlation_id text) RETURNS SETOF public.audit_legal_holds
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT * FROM audit_legal_holds WHERE correlation_id = p_correlation_id ORDER BY id
$$;


--
-- Name: list_legal_holds(); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.list_legal_holds() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    SELECT jsonb_build_object(
        'holds', coalesce(jsonb_agg(jsonb_build_object(
                     'correlation_id', h.correlation_id,
                     'events_affected', (SELECT count(*) FROM audit_events e
                                         WHERE e.correlation_id = h.correlation_id AND e.legal_hold),
                     'placed_by', h.legal_hold_placed_by,
                     'placed_at', datastorage.rfc3339(h.legal_hold_placed_at),
                     'reason', h.legal_hold_reason)
                 ORDER BY h.legal_hold_placed_at DESC, h.correlation_id), '[]'),
        'total', count(*))
    FROM audit_chain_heads h
    WHERE h.legal_hold
$$;


--
-- Name: maintain(); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.maintain() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    PERFORM datastorage.ensure_audit_partitions(1, 3);
END
$$;


--
-- Name: place_legal_hold(text, text, text); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.place_legal_hold(p_correlation_id text, p_reason text, p_placed_by text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    head audit_chain_heads;
    placed timestamptz := clock_timestamp();
    n bigint;
BEGIN
    IF coalesce(p_reason, '') = '' OR coalesce(p_placed_by, '') = '' THEN
        RAISE EXCEPTION 'reason and placed_by are required' USING ERRCODE = 'DS400';
    END IF;
    SELECT * INTO head FROM audit_chain_heads WHERE correlation_id = p_correlation_id FOR UPDATE;
    IF NOT FOUND OR head.last_seq = 0 THEN
        RAISE EXCEPTION 'No events found for correlation_id: %', p_correlation_id
            USING ERRCODE = 'DS404';
    END IF;
    UPDATE audit_events
       SET legal_hold = true, legal_hold_reason = p_reason,
           legal_hold_placed_by = p_placed_by, legal_hold_placed_at = placed
     WHERE correlation_id = p_correlation_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE audit_chain_heads
       SET legal_hold = true, legal_hold_reason = p_reason,
           legal_hold_placed_by = p_placed_by, legal_hold_placed_at = placed
     WHERE correlation_id = p_correlation_id;
    INSERT INTO audit_legal_holds (correlation_id, action, reason, actor, at, events_affected)
    VALUES (p_correlation_id, 'place', p_reason, p_placed_by, placed, n);
    RETURN jsonb_build_object('correlation_id', p_correlation_id, 'events_affected', n,
                              'placed_by', p_placed_by, 'placed_at', datastorage.rfc3339(placed),
                              'reason', p_reason);
END
$$;


--
-- Name: protect_held_partitions(); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.protect_held_partitions() RETURNS event_trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    obj record;
    rel record;
    held boolean;
BEGIN
    IF TG_EVENT = 'sql_drop' THEN
        FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
                   WHERE object_type = 'table' AND schema_name = 'public'
                     AND (object_name = 'audit_events' OR object_name LIKE 'audit\_events\_%')
        LOOP
            IF EXISTS (SELECT 1 FROM public.audit_chain_heads WHERE legal_hold) THEN
                RAISE EXCEPTION 'Cannot drop % while a legal hold is active', obj.object_identity
                    USING ERRCODE = '23503';
            END IF;
        END LOOP;
    ELSE
        -- ALTER TABLE ... DETACH PARTITION: a detached audit table holding
        -- held rows is no longer protected by the parent's triggers.
        FOR rel IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relname LIKE 'audit\_events\_%'
                     AND c.relkind = 'r' AND NOT c.relispartition
        LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE legal_hold)', rel.relname)
                INTO held;
            IF held THEN
                RAISE EXCEPTION 'Cannot detach %: it holds events under legal hold', rel.relname
                    USING ERRCODE = '23503';
            END IF;
        END LOOP;
    END IF;
END
$$;


--
-- Name: protect_partition(regclass); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.protect_partition(rel regclass) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
BEGIN
    -- Statement-level TRUNCATE triggers are not inherited by partitions.
    EXECUTE format('CREATE OR REPLACE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION datastorage.refuse_truncate()', rel);
END
$$;


--
-- Name: query_audit_events(text, text, text, text, text, timestamp with time zone, timestamp with time zone, integer, bigint); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.query_audit_events(p_correlation_id text DEFAULT NULL::text, p_event_type text DEFAULT NULL::text, p_event_category text DEFAULT NULL::text, p_event_outcome text DEFAULT NULL::text, p_severity text DEFAULT NULL::text, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_limit integer DEFAULT 50, p_offset bigint DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $_$
DECLARE
    cond text := 'TRUE';
    total bigint;
    page jsonb;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 1000' USING ERRCODE = 'DS400';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION 'offset must be at least 0' USING ERRCODE = 'DS400';
    END IF;
    -- Only the conditions in use are planned (values stay bound parameters),
    -- so each query gets a plan that fits its filters.
    IF p_correlation_id IS NOT NULL THEN cond := cond || ' AND correlation_id = $1'; END IF;
    IF p_event_type     IS NOT NULL THEN cond := cond || ' AND event_type = $2'; END IF;
    IF p_event_category IS NOT NULL THEN cond := cond || ' AND event_category = $3'; END IF;
    IF p_event_outcome  IS NOT NULL THEN cond := cond || ' AND event_outcome = $4'; END IF;
    IF p_severity       IS NOT NULL THEN cond := cond || ' AND severity = $5'; END IF;
    IF p_since          IS NOT NULL THEN cond := cond || ' AND event_timestamp >= $6'; END IF;
    IF p_until          IS NOT NULL THEN cond := cond || ' AND event_timestamp <= $7'; END IF;
    EXECUTE format(
        'SELECT (SELECT count(*) FROM audit_events WHERE %1$s),
                (SELECT coalesce(jsonb_agg(datastorage.event_json(p)
                                           ORDER BY p.event_timestamp DESC, p.event_id DESC), ''[]'')
                   FROM (SELECT * FROM audit_events WHERE %1$s
                         ORDER BY event_timestamp DESC, event_id DESC
                         LIMIT $8 OFFSET $9) p)', cond)
        INTO total, page
        USING p_correlation_id, p_event_type, p_event_category, p_event_outcome, p_severity,
              p_since, p_until, p_limit, p_offset;
    RETURN jsonb_build_object(
        'data', page,
        'pagination', jsonb_build_object('limit', p_limit, 'offset', p_offset, 'total', total,
                                         'has_more', p_offset + jsonb_array_length(page) < total));
END
$_$;


--
-- Name: record_notification(jsonb); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.record_notification(p jsonb) RETURNS jsonb
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    INSERT INTO notification_audit (remediation_id, notification_id, recipient, channel,
                                    message_summary, status, sent_at, delivery_status,
                                    error_message, escalation_level)
    SELECT r.remediation_id, r.notification_id, r.recipient, r.channel, r.message_summary,
           r.status, r.sent_at, nullif(r.delivery_status, ''), nullif(r.error_message, ''),
           coalesce(r.escalation_level, 0)
    FROM jsonb_populate_record(NULL::notification_audit, p) r
    RETURNING jsonb_strip_nulls(jsonb_build_object(
        'id', id, 'remediation_id', remediation_id, 'notification_id', notification_id,
        'recipient', recipient, 'channel', channel, 'message_summary', message_summary,
        'status', status, 'sent_at', p->>'sent_at', 'delivery_status', delivery_status,
        'error_message', error_message, 'escalation_level', escalation_level,
        'created_at', datastorage.rfc3339(created_at), 'updated_at', datastorage.rfc3339(updated_at)))
$$;


--
-- Name: refuse_audit_update(); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.refuse_audit_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF (NEW.event_id, NEW.event_version, NEW.event_timestamp, NEW.event_date, NEW.event_type,
        NEW.event_category, NEW.event_action, NEW.event_outcome, NEW.actor_type, NEW.actor_id,
        NEW.actor_ip, NEW.resource_type, NEW.resource_id, NEW.resource_name, NEW.correlation_id,
        NEW.parent_event_id, NEW.parent_event_date, NEW.trace_id, NEW.span_id, NEW.namespace,
        NEW.cluster_name, NEW.event_data, NEW.event_metadata, NEW.severity, NEW.duration_ms,
        NEW.error_code, NEW.error_message, NEW.retention_days, NEW.is_sensitive, NEW.chain_seq,
        NEW.event_hash, NEW.previous_event_hash)
       IS DISTINCT FROM
       (OLD.event_id, OLD.event_version, OLD.event_timestamp, OLD.event_date, OLD.event_type,
        OLD.event_category, OLD.event_action, OLD.event_outcome, OLD.actor_type, OLD.actor_id,
        OLD.actor_ip, OLD.resource_type, OLD.resource_id, OLD.resource_name, OLD.correlation_id,
        OLD.parent_event_id, OLD.parent_event_date, OLD.trace_id, OLD.span_id, OLD.namespace,
        OLD.cluster_name, OLD.event_data, OLD.event_metadata, OLD.severity, OLD.duration_ms,
        OLD.error_code, OLD.error_message, OLD.retention_days, OLD.is_sensitive, OLD.chain_seq,
        OLD.event_hash, OLD.previous_event_hash)
    THEN
        RAISE EXCEPTION 'Audit events are immutable: only legal-hold columns may change '
                        '(event_id=%, correlation_id=%)', OLD.event_id, OLD.correlation_id
            USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END
$$;


--
-- Name: refuse_change(); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION '% of % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = '55000';
END
$$;


--
-- Name: refuse_held_delete(); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.refuse_held_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.legal_hold THEN
        RAISE EXCEPTION 'Cannot delete audit event with legal hold: event_id=%, correlation_id=%',
                        OLD.event_id, OLD.correlation_id
            USING ERRCODE = '23503',
                  HINT = 'Release legal hold before deletion via DELETE /api/v1/audit/legal-hold/{correlation_id}';
    END IF;
    RETURN OLD;
END
$$;


--
-- Name: refuse_truncate(); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of % is not allowed: audit records are immutable', TG_TABLE_NAME
        USING ERRCODE = '55000';
END
$$;


--
-- Name: release_legal_hold(text, text, text); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.release_legal_hold(p_correlation_id text, p_release_reason text, p_released_by text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    head audit_chain_heads;
    released timestamptz := clock_timestamp();
    n bigint;
BEGIN
    IF coalesce(p_release_reason, '') = '' OR coalesce(p_released_by, '') = '' THEN
        RAISE EXCEPTION 'release_reason and released_by are required' USING ERRCODE = 'DS400';
    END IF;
    SELECT * INTO head FROM audit_chain_heads WHERE correlation_id = p_correlation_id FOR UPDATE;
    IF NOT FOUND OR NOT head.legal_hold THEN
        RAISE EXCEPTION 'No legal hold found for correlation_id: %', p_correlation_id
            USING ERRCODE = 'DS404';
    END IF;
    UPDATE audit_events
       SET legal_hold = false,
           legal_hold_reason = legal_hold_reason || ' [Released: ' || p_release_reason || ']'
     WHERE correlation_id = p_correlation_id AND legal_hold;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE audit_chain_heads
       SET legal_hold = false, legal_hold_reason = NULL, legal_hold_placed_by = NULL,
           legal_hold_placed_at = NULL
     WHERE correlation_id = p_correlation_id;
    INSERT INTO audit_legal_holds (correlation_id, action, reason, actor, at, events_affected)
    VALUES (p_correlation_id, 'release', p_release_reason, p_released_by, released, n);
    RETURN jsonb_build_object('correlation_id', p_correlation_id, 'events_released', n,
                              'released_by', p_released_by,
                              'released_at', datastorage.rfc3339(released));
END
$$;


--
-- Name: rfc3339(timestamp with time zone); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.rfc3339(ts timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || coalesce(nullif('.' || rtrim(to_char(ts AT TIME ZONE 'UTC', 'US'), '0'), '.'), '')
        || 'Z'
$$;


--
-- Name: rfc3339_micro(timestamp with time zone); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.rfc3339_micro(ts timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;


--
-- Name: verify_chain(text); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.verify_chain(p_correlation_id text) RETURNS TABLE(chain_seq bigint, event_id uuid, event_timestamp timestamp with time zone, event_hash text, previous_event_hash text, expected_hash text, expected_previous_hash text, valid boolean, verdict text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: verify_chain_summary(text); Type: FUNCTION; Schema: datastorage; Owner: -
--

CREATE FUNCTION datastorage.verify_chain_summary(p_correlation_id text) RETURNS TABLE(correlation_id text, total_events bigint, valid_events bigint, broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid, tampered_event_ids uuid[], head_matches boolean, is_valid boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: audit_chain_heads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_chain_heads (
    correlation_id character varying(255) NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    last_hash text DEFAULT ''::text NOT NULL,
    last_event_id uuid,
    legal_hold boolean DEFAULT false NOT NULL,
    legal_hold_reason text,
    legal_hold_placed_by text,
    legal_hold_placed_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: audit_events_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events_default (
    event_id uuid NOT NULL,
    event_version character varying(20) DEFAULT '1.0'::character varying NOT NULL,
    event_timestamp timestamp with time zone NOT NULL,
    event_date date NOT NULL,
    event_type character varying(100) NOT NULL,
    event_category character varying(50) NOT NULL,
    event_action character varying(50) NOT NULL,
    event_outcome character varying(20) NOT NULL,
    actor_type character varying(50) NOT NULL,
    actor_id character varying(255) NOT NULL,
    actor_ip inet,
    resource_type character varying(100) NOT NULL,
    resource_id character varying(255) NOT NULL,
    resource_name character varying(255),
    correlation_id character varying(255) NOT NULL,
    parent_event_id uuid,
    parent_event_date date,
    trace_id character varying(255),
    span_id character varying(255),
    namespace character varying(253),
    cluster_name character varying(255),
    event_data jsonb NOT NULL,
    event_metadata jsonb,
    severity character varying(20),
    duration_ms integer,
    error_code character varying(50),
    error_message text,
    retention_days integer DEFAULT 2555,
    is_sensitive boolean DEFAULT false,
    chain_seq bigint NOT NULL,
    event_hash text,
    previous_event_hash text,
    legal_hold boolean DEFAULT false NOT NULL,
    legal_hold_reason text,
    legal_hold_placed_by text,
    legal_hold_placed_at timestamp with time zone,
    CONSTRAINT audit_events_chain_seq_positive CHECK ((chain_seq > 0)),
    CONSTRAINT audit_events_event_date_utc CHECK ((event_date = ((event_timestamp AT TIME ZONE 'UTC'::text))::date))
);


--
-- Name: audit_legal_holds_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.audit_legal_holds ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_legal_holds_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: notification_audit; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.notification_audit (
    id bigint NOT NULL,
    remediation_id character varying(255) NOT NULL,
    notification_id character varying(255) NOT NULL,
    recipient character varying(500) NOT NULL,
    channel character varying(50) NOT NULL,
    message_summary text NOT NULL,
    status character varying(50) NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    delivery_status text,
    error_message text,
    escalation_level integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT notification_audit_channel_check CHECK (((channel)::text = ANY ((ARRAY['email'::character varying, 'slack'::character varying, 'pagerduty'::character varying, 'webhook'::character varying, 'sms'::character varying])::text[]))),
    CONSTRAINT notification_audit_escalation_level_check CHECK (((escalation_level >= 0) AND (escalation_level <= 5))),
    CONSTRAINT notification_audit_status_check CHECK (((status)::text = ANY ((ARRAY['sent'::character varying, 'failed'::character varying, 'pending'::character varying, 'acknowledged'::character varying, 'escalated'::character varying])::text[])))
);


--
-- Name: notification_audit_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.notification_audit_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: notification_audit_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.notification_audit_id_seq OWNED BY public.notification_audit.id;


--
-- Name: audit_events_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events ATTACH PARTITION public.audit_events_default DEFAULT;


--
-- Name: notification_audit id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notification_audit ALTER COLUMN id SET DEFAULT nextval('public.notification_audit_id_seq'::regclass);


--
-- Name: audit_chain_heads audit_chain_heads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_chain_heads
    ADD CONSTRAINT audit_chain_heads_pkey PRIMARY KEY (correlation_id);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (event_id, event_date);


--
-- Name: audit_events_default audit_events_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events_default
    ADD CONSTRAINT audit_events_default_pkey PRIMARY KEY (event_id, event_date);


--
-- Name: audit_legal_holds audit_legal_holds_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_legal_holds
    ADD CONSTRAINT audit_legal_holds_pkey PRIMARY KEY (id);


--
-- Name: notification_audit notification_audit_notification_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notification_audit
    ADD CONSTRAINT notification_audit_notification_id_key UNIQUE (notification_id);


--
-- Name: notification_audit notification_audit_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.notification_audit
    ADD CONSTRAINT notification_audit_pkey PRIMARY KEY (id);


--
-- Name: idx_audit_events_chain; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_events_chain ON ONLY public.audit_events USING btree (correlation_id, chain_seq);


--
-- Name: audit_events_default_correlation_id_chain_seq_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_default_correlation_id_chain_seq_idx ON public.audit_events_default USING btree (correlation_id, chain_seq);


--
-- Name: idx_audit_events_legal_hold; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_events_legal_hold ON ONLY public.audit_events USING btree (correlation_id) WHERE legal_hold;


--
-- Name: audit_events_default_correlation_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_default_correlation_id_idx ON public.audit_events_default USING btree (correlation_id) WHERE legal_hold;


--
-- Name: idx_audit_events_category; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_events_category ON ONLY public.audit_events USING btree (event_category, event_timestamp DESC, event_id DESC);


--
-- Name: audit_events_default_event_category_event_timestamp_event_i_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_default_event_category_event_timestamp_event_i_idx ON public.audit_events_default USING btree (event_category, event_timestamp DESC, event_id DESC);


--
-- Name: idx_audit_events_event_timestamp; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_events_event_timestamp ON ONLY public.audit_events USING btree (event_timestamp DESC, event_id DESC);


--
-- Name: audit_events_default_event_timestamp_event_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_default_event_timestamp_event_id_idx ON public.audit_events_default USING btree (event_timestamp DESC, event_id DESC);


--
-- Name: idx_audit_events_event_type; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_events_event_type ON ONLY public.audit_events USING btree (event_type, event_timestamp DESC, event_id DESC);


--
-- Name: audit_events_default_event_type_event_timestamp_event_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_default_event_type_event_timestamp_event_id_idx ON public.audit_events_default USING btree (event_type, event_timestamp DESC, event_id DESC);


--
-- Name: idx_audit_chain_heads_held; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_chain_heads_held ON public.audit_chain_heads USING btree (legal_hold_placed_at DESC) WHERE legal_hold;


--
-- Name: idx_audit_legal_holds_correlation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_audit_legal_holds_correlation ON public.audit_legal_holds USING btree (correlation_id, id);


--
-- Name: idx_notification_audit_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_notification_audit_created_at ON public.notification_audit USING btree (created_at DESC);


--
-- Name: idx_notification_audit_remediation_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX idx_notification_audit_remediation_id ON public.notification_audit USING btree (remediation_id);


--
-- Name: audit_events_default_correlation_id_chain_seq_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_audit_events_chain ATTACH PARTITION public.audit_events_default_correlation_id_chain_seq_idx;


--
-- Name: audit_events_default_correlation_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_audit_events_legal_hold ATTACH PARTITION public.audit_events_default_correlation_id_idx;


--
-- Name: audit_events_default_event_category_event_timestamp_event_i_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_audit_events_category ATTACH PARTITION public.audit_events_default_event_category_event_timestamp_event_i_idx;


--
-- Name: audit_events_default_event_timestamp_event_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_audit_events_event_timestamp ATTACH PARTITION public.audit_events_default_event_timestamp_event_id_idx;


--
-- Name: audit_events_default_event_type_event_timestamp_event_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.idx_audit_events_event_type ATTACH PARTITION public.audit_events_default_event_type_event_timestamp_event_id_idx;


--
-- Name: audit_events_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.audit_events_pkey ATTACH PARTITION public.audit_events_default_pkey;


--
-- Name: audit_events audit_events_immutable; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_immutable BEFORE UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION datastorage.refuse_audit_update();


--
-- Name: audit_events audit_events_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION datastorage.refuse_truncate();


--
-- Name: audit_events_default audit_events_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events_default FOR EACH STATEMENT EXECUTE FUNCTION datastorage.refuse_truncate();


--
-- Name: audit_legal_holds audit_legal_holds_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_legal_holds_append_only BEFORE DELETE OR UPDATE ON public.audit_legal_holds FOR EACH ROW EXECUTE FUNCTION datastorage.refuse_change();


--
-- Name: audit_legal_holds audit_legal_holds_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_legal_holds_no_truncate BEFORE TRUNCATE ON public.audit_legal_holds FOR EACH STATEMENT EXECUTE FUNCTION datastorage.refuse_truncate();


--
-- Name: audit_events enforce_legal_hold; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER enforce_legal_hold BEFORE DELETE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION datastorage.refuse_held_delete();


--
-- Name: datastorage_protect_held_detach; Type: EVENT TRIGGER; Schema: -; Owner: -
--

CREATE EVENT TRIGGER datastorage_protect_held_detach ON ddl_command_end
         WHEN TAG IN ('ALTER TABLE')
   EXECUTE FUNCTION datastorage.protect_held_partitions();


--
-- Name: datastorage_protect_held_drop; Type: EVENT TRIGGER; Schema: -; Owner: -
--

CREATE EVENT TRIGGER datastorage_protect_held_drop ON sql_drop
   EXECUTE FUNCTION datastorage.protect_held_partitions();


--
-- PostgreSQL database dump complete
--
