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
-- Name: datastorage; Type: SCHEMA; Schema: -; Owner: datastorage_owner
--

CREATE SCHEMA datastorage;


ALTER SCHEMA datastorage OWNER TO datastorage_owner;

--
-- Name: datastorage_guard; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA datastorage_guard;


ALTER SCHEMA datastorage_guard OWNER TO postgres;

--
-- Name: append_audit_events(jsonb); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.append_audit_events(p_events jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    SET enable_seqscan TO 'off'
    AS $_$
DECLARE
    n          integer;
    rows_in    public.audit_events[];
    claimed    uuid[];
    chains     text[];
    seqs       bigint[];
    hashes     text[];
    held       boolean[];
    reasons    text[];
    placers    text[];
    placed     timestamptz[];
    tails      uuid[];
    parents    uuid[];
    kept       bigint[];
    missing    uuid;
BEGIN
    IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'append_audit_events expects a JSON array' USING ERRCODE = 'DS400';
    END IF;
    -- Every chain's head first, locked in sorted order; its tail and hold
    -- come back with the lock, so nothing below reads the heads again. The
    -- chains are named by a JSON path over the array (it yields the ids
    -- alone, where jsonb_array_elements would copy out every event). Then
    -- the array is parsed, once, into rows_in, in the array's order (a bare
    -- function scan emits its rows in order): an event's ordinality in
    -- unnest(rows_in) is its position.
    WITH locked AS (
        INSERT INTO public.audit_chain_heads AS h (correlation_id)
        SELECT DISTINCT c #>> '{}' FROM jsonb_path_query(p_events, '$[*].correlation_id') c ORDER BY 1
        ON CONFLICT (correlation_id) DO UPDATE SET updated_at = h.updated_at
        RETURNING h.correlation_id, h.last_seq, h.last_hash, h.legal_hold, h.legal_hold_reason,
                  h.legal_hold_placed_by, h.legal_hold_placed_at)
    SELECT array_agg(l.correlation_id), array_agg(l.last_seq), array_agg(l.last_hash),
           array_agg(l.legal_hold), array_agg(l.legal_hold_reason),
           array_agg(l.legal_hold_placed_by), array_agg(l.legal_hold_placed_at),
           (SELECT array_agg(e) FROM jsonb_populate_recordset(NULL::public.audit_events, p_events) e)
      INTO chains, seqs, hashes, held, reasons, placers, placed, rows_in
      FROM locked l;

    -- Claim the ids: a repeated id within the array counts once (its first
    -- occurrence), sorted by id so concurrent replays of overlapping batches
    -- claim in one order. A plain INSERT first: the ids are new unless this
    -- is a replay, and ON CONFLICT's speculative insertion costs about twice
    -- a plain one per id. Only after a unique violation (its subtransaction
    -- rolled back) are the new ones claimed, returned into `claimed`. No
    -- conflict target: the registry's key decides what a replay is, event_id
    -- alone on one node, (event_id, correlation_id) on a Citus cluster
    -- (migration 0100, docs/scaling-out.md).
    BEGIN
        INSERT INTO public.audit_event_ids (event_id, event_date, correlation_id)
        SELECT f.event_id, f.event_date, f.correlation_id
        FROM datastorage.first_occurrences(rows_in) f;
        GET DIAGNOSTICS n = ROW_COUNT;
    EXCEPTION WHEN unique_violation THEN
        WITH c AS (
            INSERT INTO public.audit_event_ids (event_id, event_date, correlation_id)
            SELECT f.event_id, f.event_date, f.correlation_id
            FROM datastorage.first_occurrences(rows_in) f
            ON CONFLICT DO NOTHING
            RETURNING event_id)
        SELECT array_agg(c.event_id) INTO claimed FROM c;
        n := -1;
    END;
    -- Every event new and none repeated (the common case): all are appended,
    -- kept stays NULL. Otherwise kept lists the positions of the claimed
    -- first occurrences.
    IF n IS DISTINCT FROM cardinality(rows_in) THEN
        SELECT array_agg(f.ordinality) INTO kept
          FROM datastorage.first_occurrences(rows_in) f
         WHERE n >= 0 OR f.event_id IN (SELECT unnest(claimed));
        IF kept IS NULL THEN  -- nothing new
            RETURN 0;
        END IF;
    END IF;

    -- Number, hash and insert the claimed events: within a chain in array
    -- order, from its head's last_seq and last_hash. The numbering window
    -- and the hash window share one sort. Each statement reads only this
    -- function's arguments and variables, never another statement's result:
    -- on a cluster Citus would copy such a result to every node, and an
    -- append of one chain would then touch them all.
    WITH ins AS (
        INSERT INTO public.audit_events
        WITH heads AS (
            SELECT * FROM unnest(chains, seqs, hashes, held, reasons, placers, placed)
                     AS t(correlation_id, last_seq, last_hash, held, reason, placed_by, placed_at)
        ), numbered AS (
            SELECT f.*, (f.event_timestamp AT TIME ZONE 'UTC')::date AS utc_date,
                   h.last_seq + row_number() OVER (PARTITION BY f.correlation_id
                                                   ORDER BY f.ordinality) AS seq,
                   h.last_hash, h.held, h.reason, h.placed_by, h.placed_at
            FROM unnest(rows_in) WITH ORDINALITY AS f
            JOIN heads h ON h.correlation_id = f.correlation_id
            WHERE kept IS NULL OR f.ordinality IN (SELECT unnest(kept))
        ), linked AS (
            SELECT x.*, datastorage.chain_links(x.last_hash, datastorage.canonical_fields_v2(
                       x.span_id, coalesce(x.event_version, '1.0'), x.actor_id, x.actor_ip,
                       x.event_id, x.severity, x.trace_id, x.seq, x.namespace, x.actor_type,
                       x.error_code, x.event_data, x.utc_date, x.event_type, x.duration_ms,
                       x.resource_id, x.cluster_name, x.event_action, coalesce(x.is_sensitive, false),
                       x.error_message, x.event_outcome, x.resource_name, x.resource_type,
                       x.correlation_id, x.event_category, x.event_metadata,
                       coalesce(x.retention_days, 2555), x.event_timestamp, x.parent_event_id,
                       x.parent_event_date))
                       OVER (PARTITION BY x.correlation_id ORDER BY x.ordinality
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS link
            FROM numbered x
        )
        SELECT k.event_id, coalesce(k.event_version, '1.0'), k.event_timestamp, k.utc_date,
               k.event_type, k.event_category, k.event_action, k.event_outcome, k.actor_type,
               k.actor_id, k.actor_ip, k.resource_type, k.resource_id, k.resource_name,
               k.correlation_id, k.parent_event_id, k.parent_event_date, k.trace_id, k.span_id,
               k.namespace, k.cluster_name, k.event_data, k.event_metadata, k.severity,
               k.duration_ms, k.error_code, k.error_message, coalesce(k.retention_days, 2555),
               coalesce(k.is_sensitive, false), k.seq, right(k.link, 64), left(k.link, -64),
               k.held, CASE WHEN k.held THEN k.reason END, CASE WHEN k.held THEN k.placed_by END,
               CASE WHEN k.held THEN k.placed_at END, 2
        FROM linked k
        RETURNING correlation_id, chain_seq, event_hash, event_id, parent_event_id
    ), tail AS (
        SELECT DISTINCT ON (i.correlation_id) i.correlation_id, i.chain_seq, i.event_hash,
               i.event_id
        FROM ins i ORDER BY i.correlation_id, i.chain_seq DESC
    )
    SELECT (SELECT count(*) FROM ins)::integer,
           (SELECT array_agg(i.parent_event_id) FROM ins i WHERE i.parent_event_id IS NOT NULL),
           array_agg(t.correlation_id), array_agg(t.chain_seq), array_agg(t.event_hash),
           array_agg(t.event_id)
      INTO n, parents, chains, seqs, hashes, tails
      FROM tail t;

    UPDATE public.audit_chain_heads h
       SET last_seq = t.seq, last_hash = t.hash, last_event_id = t.id, updated_at = now()
      FROM unnest(chains, seqs, hashes, tails) AS t(correlation_id, seq, hash, id)
     WHERE h.correlation_id = t.correlation_id
       -- Redundant on one node; on a cluster it confines the update to the
       -- appended chains' shards.
       AND h.correlation_id = ANY (chains);

    -- After the insert, so a parent earlier in the same batch counts. The
    -- appended chains first: on a cluster that lookup stays on their shards;
    -- only a parent in another chain asks every shard.
    -- Set differences: Citus cannot plan a correlated subquery over an array.
    IF parents IS NOT NULL THEN
        SELECT array_agg(d.p) INTO parents
          FROM (SELECT unnest(parents)
                EXCEPT
                SELECT i.event_id FROM public.audit_event_ids i
                 WHERE i.correlation_id = ANY (chains) AND i.event_id = ANY (parents)) d(p);
    END IF;
    IF parents IS NOT NULL THEN
        SELECT d.p INTO missing
          FROM (SELECT unnest(parents)
                EXCEPT
                SELECT i.event_id FROM public.audit_event_ids i WHERE i.event_id = ANY (parents)) d(p)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'parent event does not exist: %', missing
                USING ERRCODE = 'DS400', HINT = 'validation-error';
        END IF;
    END IF;
    RETURN n;
END
$_$;


ALTER FUNCTION datastorage.append_audit_events(p_events jsonb) OWNER TO datastorage_owner;

--
-- Name: append_chain_events(text, jsonb); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.append_chain_events(p_correlation_id text, p_events jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.append_chain_events(p_correlation_id text, p_events jsonb) OWNER TO datastorage_owner;

SET default_tablespace = '';

--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: datastorage_owner
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
    hash_version smallint DEFAULT 2 NOT NULL,
    CONSTRAINT audit_events_chain_seq_positive CHECK ((chain_seq > 0)),
    CONSTRAINT audit_events_event_date_utc CHECK ((event_date = ((event_timestamp AT TIME ZONE 'UTC'::text))::date))
)
PARTITION BY RANGE (event_date);


ALTER TABLE public.audit_events OWNER TO datastorage_owner;

--
-- Name: canonical_event(public.audit_events); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.canonical_event(e public.audit_events) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE e.hash_version WHEN 2 THEN datastorage.canonical_event_v2(e)
                               WHEN 1 THEN '{' || datastorage.canonical_members(e) || '}' END
$$;


ALTER FUNCTION datastorage.canonical_event(e public.audit_events) OWNER TO datastorage_owner;

--
-- Name: canonical_event_v2(public.audit_events); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.canonical_event_v2(e public.audit_events) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT datastorage.canonical_fields_v2(e.span_id, e.event_version, e.actor_id, e.actor_ip, e.event_id, e.severity, e.trace_id, e.chain_seq, e.namespace, e.actor_type, e.error_code, e.event_data, e.event_date, e.event_type, e.duration_ms, e.resource_id, e.cluster_name, e.event_action, e.is_sensitive, e.error_message, e.event_outcome, e.resource_name, e.resource_type, e.correlation_id, e.event_category, e.event_metadata, e.retention_days, e.event_timestamp, e.parent_event_id, e.parent_event_date)
$$;


ALTER FUNCTION datastorage.canonical_event_v2(e public.audit_events) OWNER TO datastorage_owner;

--
-- Name: canonical_fields(text, text, text, inet, uuid, text, text, bigint, text, text, text, jsonb, date, text, integer, text, text, text, boolean, text, text, text, text, text, text, jsonb, integer, timestamp with time zone, uuid, date); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.canonical_fields(p_span_id text, p_event_version text, p_actor_id text, p_actor_ip inet, p_event_id uuid, p_severity text, p_trace_id text, p_chain_seq bigint, p_namespace text, p_actor_type text, p_error_code text, p_event_data jsonb, p_event_date date, p_event_type text, p_duration_ms integer, p_resource_id text, p_cluster_name text, p_event_action text, p_is_sensitive boolean, p_error_message text, p_event_outcome text, p_resource_name text, p_resource_type text, p_correlation_id text, p_event_category text, p_event_metadata jsonb, p_retention_days integer, p_event_timestamp timestamp with time zone, p_parent_event_id uuid, p_parent_event_date date) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT '"span_id": '           || coalesce(pg_catalog.to_json(p_span_id)::text, 'null')
        || ', "version": '         || coalesce(pg_catalog.to_json(p_event_version)::text, 'null')
        || ', "actor_id": '        || coalesce(pg_catalog.to_json(p_actor_id)::text, 'null')
        || ', "actor_ip": '        || coalesce(pg_catalog.to_json(pg_catalog.host(p_actor_ip))::text, 'null')
        || ', "event_id": '        || coalesce('"' || p_event_id::text || '"', 'null')
        || ', "severity": '        || coalesce(pg_catalog.to_json(p_severity)::text, 'null')
        || ', "trace_id": '        || coalesce(pg_catalog.to_json(p_trace_id)::text, 'null')
        || ', "chain_seq": '       || coalesce(p_chain_seq::text, 'null')
        || ', "namespace": '       || coalesce(pg_catalog.to_json(p_namespace)::text, 'null')
        || ', "actor_type": '      || coalesce(pg_catalog.to_json(p_actor_type)::text, 'null')
        || ', "error_code": '      || coalesce(pg_catalog.to_json(p_error_code)::text, 'null')
        || ', "event_data": '      || coalesce(p_event_data::text, 'null')
        || ', "event_date": '      || coalesce('"' || pg_catalog.to_char(p_event_date, 'YYYY-MM-DD') || '"', 'null')
        || ', "event_type": '      || coalesce(pg_catalog.to_json(p_event_type)::text, 'null')
        || ', "duration_ms": '     || coalesce(p_duration_ms::text, 'null')
        || ', "resource_id": '     || coalesce(pg_catalog.to_json(p_resource_id)::text, 'null')
        || ', "cluster_name": '    || coalesce(pg_catalog.to_json(p_cluster_name)::text, 'null')
        || ', "event_action": '    || coalesce(pg_catalog.to_json(p_event_action)::text, 'null')
        || ', "is_sensitive": '    || coalesce(p_is_sensitive::text, 'null')
        || ', "error_message": '   || coalesce(pg_catalog.to_json(p_error_message)::text, 'null')
        || ', "event_outcome": '   || coalesce(pg_catalog.to_json(p_event_outcome)::text, 'null')
        || ', "resource_name": '   || coalesce(pg_catalog.to_json(p_resource_name)::text, 'null')
        || ', "resource_type": '   || coalesce(pg_catalog.to_json(p_resource_type)::text, 'null')
        || ', "correlation_id": '  || coalesce(pg_catalog.to_json(p_correlation_id)::text, 'null')
        || ', "event_category": '  || coalesce(pg_catalog.to_json(p_event_category)::text, 'null')
        || ', "event_metadata": '  || coalesce(p_event_metadata::text, 'null')
        || ', "retention_days": '  || coalesce(p_retention_days::text, 'null')
        -- Same text as datastorage.rfc3339_micro(), written inline: that
        -- function cannot be inlined and would cost a function call per event.
        || ', "event_timestamp": ' || coalesce('"' || pg_catalog.to_char(p_event_timestamp AT TIME ZONE 'UTC',
                                                             'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"', 'null')
        || ', "parent_event_id": ' || coalesce('"' || p_parent_event_id::text || '"', 'null')
        || ', "parent_event_date": ' || coalesce('"' || pg_catalog.to_char(p_parent_event_date, 'YYYY-MM-DD') || '"', 'null')
$$;


ALTER FUNCTION datastorage.canonical_fields(p_span_id text, p_event_version text, p_actor_id text, p_actor_ip inet, p_event_id uuid, p_severity text, p_trace_id text, p_chain_seq bigint, p_namespace text, p_actor_type text, p_error_code text, p_event_data jsonb, p_event_date date, p_event_type text, p_duration_ms integer, p_resource_id text, p_cluster_name text, p_event_action text, p_is_sensitive boolean, p_error_message text, p_event_outcome text, p_resource_name text, p_resource_type text, p_correlation_id text, p_event_category text, p_event_metadata jsonb, p_retention_days integer, p_event_timestamp timestamp with time zone, p_parent_event_id uuid, p_parent_event_date date) OWNER TO datastorage_owner;

--
-- Name: canonical_fields_v2(text, text, text, inet, uuid, text, text, bigint, text, text, text, jsonb, date, text, integer, text, text, text, boolean, text, text, text, text, text, text, jsonb, integer, timestamp with time zone, uuid, date); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.canonical_fields_v2(p_span_id text, p_event_version text, p_actor_id text, p_actor_ip inet, p_event_id uuid, p_severity text, p_trace_id text, p_chain_seq bigint, p_namespace text, p_actor_type text, p_error_code text, p_event_data jsonb, p_event_date date, p_event_type text, p_duration_ms integer, p_resource_id text, p_cluster_name text, p_event_action text, p_is_sensitive boolean, p_error_message text, p_event_outcome text, p_resource_name text, p_resource_type text, p_correlation_id text, p_event_category text, p_event_metadata jsonb, p_retention_days integer, p_event_timestamp timestamp with time zone, p_parent_event_id uuid, p_parent_event_date date) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT pg_catalog.array_to_json(ARRAY['2', p_span_id, p_event_version, p_actor_id,
               pg_catalog.host(p_actor_ip), p_event_id::text, p_severity, p_trace_id,
               p_chain_seq::text, p_namespace, p_actor_type, p_error_code,
               pg_catalog.to_char(p_event_date, 'YYYY-MM-DD'), p_event_type, p_duration_ms::text,
               p_resource_id, p_cluster_name, p_event_action, p_is_sensitive::text,
               p_error_message, p_event_outcome, p_resource_name, p_resource_type,
               p_correlation_id, p_event_category, p_retention_days::text,
               pg_catalog.to_char(p_event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               p_parent_event_id::text, pg_catalog.to_char(p_parent_event_date, 'YYYY-MM-DD')])::text
        || E'\n' || coalesce(p_event_data::text, 'null')
        || E'\n' || coalesce(p_event_metadata::text, 'null')
$$;


ALTER FUNCTION datastorage.canonical_fields_v2(p_span_id text, p_event_version text, p_actor_id text, p_actor_ip inet, p_event_id uuid, p_severity text, p_trace_id text, p_chain_seq bigint, p_namespace text, p_actor_type text, p_error_code text, p_event_data jsonb, p_event_date date, p_event_type text, p_duration_ms integer, p_resource_id text, p_cluster_name text, p_event_action text, p_is_sensitive boolean, p_error_message text, p_event_outcome text, p_resource_name text, p_resource_type text, p_correlation_id text, p_event_category text, p_event_metadata jsonb, p_retention_days integer, p_event_timestamp timestamp with time zone, p_parent_event_id uuid, p_parent_event_date date) OWNER TO datastorage_owner;

--
-- Name: canonical_members(public.audit_events); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.canonical_members(e public.audit_events) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT datastorage.canonical_fields(e.span_id, e.event_version, e.actor_id, e.actor_ip, e.event_id, e.severity, e.trace_id, e.chain_seq, e.namespace, e.actor_type, e.error_code, e.event_data, e.event_date, e.event_type, e.duration_ms, e.resource_id, e.cluster_name, e.event_action, e.is_sensitive, e.error_message, e.event_outcome, e.resource_name, e.resource_type, e.correlation_id, e.event_category, e.event_metadata, e.retention_days, e.event_timestamp, e.parent_event_id, e.parent_event_date)
$$;


ALTER FUNCTION datastorage.canonical_members(e public.audit_events) OWNER TO datastorage_owner;

--
-- Name: chain_hash(text, public.audit_events); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.chain_hash(previous_hash text, e public.audit_events) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT datastorage.link_hash(previous_hash, datastorage.canonical_event(e))
$$;


ALTER FUNCTION datastorage.chain_hash(previous_hash text, e public.audit_events) OWNER TO datastorage_owner;

--
-- Name: chain_head_matches(text, bigint, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.chain_head_matches(p_correlation_id text, p_last_seq bigint, p_last_hash text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce((SELECT h.last_seq = coalesce(p_last_seq, z.first_kept_seq - 1, 0)
                            AND h.last_hash = coalesce(p_last_hash, z.previous_hash, '')
                     FROM public.audit_chain_heads h
                     LEFT JOIN public.audit_retention_horizons z ON z.correlation_id = h.correlation_id
                     WHERE h.correlation_id = p_correlation_id),
                    coalesce(p_last_seq, 0) = 0)
$$;


ALTER FUNCTION datastorage.chain_head_matches(p_correlation_id text, p_last_seq bigint, p_last_hash text) OWNER TO datastorage_owner;

--
-- Name: chain_link_step(text, text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.chain_link_step(p_state text, p_start text, p_canonical text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    -- Qualified throughout instead of a SET search_path clause, which
    -- would cost a configuration change on every call (every event).
    prev text := coalesce(pg_catalog.right(p_state, 64), p_start);
BEGIN
    RETURN prev OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
        prev OPERATOR(pg_catalog.||) p_canonical, 'UTF8')), 'hex');
END
$$;


ALTER FUNCTION datastorage.chain_link_step(p_state text, p_start text, p_canonical text) OWNER TO datastorage_owner;

--
-- Name: chain_sizes(text[]); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.chain_sizes(p_correlation_ids text[]) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT coalesce(sum(h.last_seq), 0)::bigint
    FROM public.audit_chain_heads h
    WHERE h.correlation_id = ANY (p_correlation_ids)
$$;


ALTER FUNCTION datastorage.chain_sizes(p_correlation_ids text[]) OWNER TO datastorage_owner;

--
-- Name: chain_verdicts(text[], boolean); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.chain_verdicts(p_correlation_ids text[], p_with_members boolean) RETURNS TABLE(correlation_id text, chain_seq bigint, event_id uuid, event_date date, event_timestamp timestamp with time zone, event_hash text, previous_event_hash text, expected_hash text, expected_previous_hash text, valid boolean, verdict text, canonical_members text, legal_hold boolean, chain_total bigint, chain_valid bigint, chain_first_broken_seq bigint, chain_last_seq bigint, chain_last_hash text, hash_version smallint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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


ALTER FUNCTION datastorage.chain_verdicts(p_correlation_ids text[], p_with_members boolean) OWNER TO datastorage_owner;

--
-- Name: chains_distributed(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.chains_distributed() RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    distributed boolean := false;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE $q$SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition
                                  WHERE logicalrelid = 'public.audit_chain_heads'::regclass)$q$
           INTO distributed;
    END IF;
    RETURN distributed;
END
$_$;


ALTER FUNCTION datastorage.chains_distributed() OWNER TO datastorage_owner;

--
-- Name: check_page(integer, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.check_page(p_limit integer, p_offset bigint) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 1000' USING ERRCODE = 'DS400';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION 'offset must be at least 0' USING ERRCODE = 'DS400';
    END IF;
END
$$;


ALTER FUNCTION datastorage.check_page(p_limit integer, p_offset bigint) OWNER TO datastorage_owner;

--
-- Name: console_overview(timestamp with time zone); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.console_overview(p_until timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET "TimeZone" TO 'UTC'
    AS $$
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


ALTER FUNCTION datastorage.console_overview(p_until timestamp with time zone) OWNER TO datastorage_owner;

--
-- Name: console_trail(text, bigint, integer); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.console_trail(p_correlation_id text, p_offset bigint, p_limit integer) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET work_mem TO '64MB'
    AS $$
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


ALTER FUNCTION datastorage.console_trail(p_correlation_id text, p_offset bigint, p_limit integer) OWNER TO datastorage_owner;

--
-- Name: create_workflow(jsonb, uuid, jsonb); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.create_workflow(p_workflow jsonb, p_workflow_id uuid DEFAULT NULL::uuid, p_event jsonb DEFAULT NULL::jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    w       public.remediation_workflow_catalog;
    v_name  text := p_workflow ->> 'workflow_name';
    v_ver   text := p_workflow ->> 'version';
    v_lab   jsonb := p_workflow -> 'labels';
    v_at    timestamptz;
BEGIN
    IF jsonb_typeof(p_workflow) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request',
            MESSAGE = 'Invalid request body: a workflow must be a JSON object';
    END IF;
    -- The original's handler checks, in its order; the first failure wins.
    IF coalesce(v_name, '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'workflow_name is required';
    ELSIF coalesce(v_ver, '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'version is required';
    ELSIF coalesce(p_workflow ->> 'name', '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'name is required';
    ELSIF coalesce(p_workflow ->> 'description', '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'description is required';
    ELSIF coalesce(p_workflow ->> 'content', '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'content is required';
    ELSIF jsonb_typeof(v_lab) IS DISTINCT FROM 'object'
          OR coalesce(v_lab ->> 'signal_type', '') = '' OR coalesce(v_lab ->> 'severity', '') = ''
          OR coalesce(v_lab ->> 'component', '') = ''
          OR jsonb_typeof(v_lab -> 'environment') IS DISTINCT FROM 'array'
          OR jsonb_array_length(v_lab -> 'environment') = 0
          OR coalesce(v_lab ->> 'priority', '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request',
            MESSAGE = 'labels are required (signal_type, severity, component, environment, priority)';
    END IF;

    -- One create per name at a time: the demotion and the insert below must
    -- not interleave with another create of the same name.
    PERFORM pg_advisory_xact_lock(2003200119, hashtext(v_name));
    v_at := clock_timestamp();
    IF EXISTS (SELECT 1 FROM public.remediation_workflow_catalog c
               WHERE c.workflow_name = v_name AND c.version = v_ver) THEN
        RAISE EXCEPTION USING ERRCODE = 'DS409', HINT = 'workflow-exists',
            MESSAGE = format('Workflow ''%s'' version ''%s'' already exists', v_name, v_ver);
    END IF;
    UPDATE public.remediation_workflow_catalog c SET is_latest_version = false
     WHERE c.workflow_name = v_name AND c.is_latest_version;

    INSERT INTO public.remediation_workflow_catalog (
        workflow_id, workflow_name, version, name, description, owner, maintainer, content,
        content_hash, parameters, execution_engine, container_image, container_digest, labels,
        custom_labels, detected_labels, status, is_latest_version, previous_version,
        version_notes, change_summary, approved_by, approved_at, expected_success_rate,
        expected_duration_seconds, created_by, created_at, updated_at)
    VALUES (
        coalesce(p_workflow_id, gen_random_uuid()), v_name, v_ver, p_workflow ->> 'name',
        p_workflow ->> 'description', p_workflow ->> 'owner', p_workflow ->> 'maintainer',
        p_workflow ->> 'content', p_workflow ->> 'content_hash', p_workflow -> 'parameters',
        coalesce(p_workflow ->> 'execution_engine', 'tekton'), p_workflow ->> 'container_image',
        p_workflow ->> 'container_digest',
        jsonb_build_object('signal_type', v_lab -> 'signal_type', 'severity', v_lab -> 'severity',
                           'component', v_lab -> 'component', 'environment', v_lab -> 'environment',
                           'priority', v_lab -> 'priority'),
        coalesce(p_workflow -> 'custom_labels', '{}'), coalesce(p_workflow -> 'detected_labels', '{}'),
        coalesce(nullif(p_workflow ->> 'status', ''), 'active'), true,
        p_workflow ->> 'previous_version', p_workflow ->> 'version_notes',
        p_workflow ->> 'change_summary', p_workflow ->> 'approved_by',
        (p_workflow ->> 'approved_at')::timestamptz, (p_workflow ->> 'expected_success_rate')::numeric,
        (p_workflow ->> 'expected_duration_seconds')::integer, p_workflow ->> 'created_by',
        v_at, v_at)
    RETURNING * INTO w;

    IF p_event IS NOT NULL THEN
        PERFORM datastorage.append_audit_events(p_event);
    END IF;
    RETURN datastorage.workflow_json(w);
END
$$;


ALTER FUNCTION datastorage.create_workflow(p_workflow jsonb, p_workflow_id uuid, p_event jsonb) OWNER TO datastorage_owner;

--
-- Name: csv_cell(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.csv_cell(v text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN v IS NULL THEN '' ELSE '"' || replace(v, '"', '""') || '"' END
$$;


ALTER FUNCTION datastorage.csv_cell(v text) OWNER TO datastorage_owner;

--
-- Name: enforce_retention(timestamp with time zone, boolean); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.enforce_retention(p_now timestamp with time zone DEFAULT now(), p_dry_run boolean DEFAULT false) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.enforce_retention(p_now timestamp with time zone, p_dry_run boolean) OWNER TO datastorage_owner;

--
-- Name: ensure_audit_partitions(integer, integer, timestamp with time zone); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.ensure_audit_partitions(months_back integer DEFAULT 1, months_ahead integer DEFAULT 3, anchor timestamp with time zone DEFAULT now()) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    first_month date := date_trunc('month', anchor AT TIME ZONE 'UTC')::date;
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
        CONTINUE WHEN EXISTS (SELECT 1 FROM public.audit_events_default
                              WHERE event_date >= m AND event_date < (m + interval '1 month')::date);
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.audit_events '
                       'FOR VALUES FROM (%L) TO (%L)', name, m, (m + interval '1 month')::date);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;


ALTER FUNCTION datastorage.ensure_audit_partitions(months_back integer, months_ahead integer, anchor timestamp with time zone) OWNER TO datastorage_owner;

--
-- Name: event_json(anyelement); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.event_json(e anyelement) RETURNS jsonb
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
        'legal_hold_placed_at', datastorage.rfc3339(e.legal_hold_placed_at)))
    -- Added after stripping: nulls inside event_data are the client's data.
    || jsonb_build_object('event_data', e.event_data,
                          'parent_event_id', e.parent_event_id,
                          'parent_event_date', to_char(e.parent_event_date, 'YYYY-MM-DD'))
$$;


ALTER FUNCTION datastorage.event_json(e anyelement) OWNER TO datastorage_owner;

--
-- Name: export_audit_events(text, timestamp with time zone, timestamp with time zone, text, text, integer, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.export_audit_events(p_format text, p_start_time timestamp with time zone, p_end_time timestamp with time zone, p_correlation_id text, p_event_category text, p_limit integer, p_offset bigint) RETURNS TABLE(kind text, correlation_id text, event_id uuid, hash_chain_valid boolean, body text, event_data text, hash_version smallint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET work_mem TO '64MB'
    SET parallel_setup_cost TO '100'
    SET parallel_tuple_cost TO '0.01'
    SET min_parallel_table_scan_size TO '64kB'
    SET min_parallel_index_scan_size TO '64kB'
    AS $_$
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
$_$;


ALTER FUNCTION datastorage.export_audit_events(p_format text, p_start_time timestamp with time zone, p_end_time timestamp with time zone, p_correlation_id text, p_event_category text, p_limit integer, p_offset bigint) OWNER TO datastorage_owner;

--
-- Name: export_csv_columns(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.export_csv_columns() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT ARRAY['event_id', 'chain_seq', 'correlation_id', 'event_timestamp', 'event_date',
                 'version', 'event_type', 'event_category', 'event_action', 'event_outcome',
                 'actor_type', 'actor_id', 'actor_ip', 'resource_type', 'resource_id',
                 'resource_name', 'parent_event_id', 'parent_event_date', 'trace_id', 'span_id',
                 'namespace', 'cluster_name', 'severity', 'duration_ms', 'error_code',
                 'error_message', 'retention_days', 'is_sensitive', 'event_metadata',
                 'event_hash', 'previous_event_hash', 'hash_chain_valid', 'chain_verdict',
                 'legal_hold', 'event_data', 'pii_redacted']
$$;


ALTER FUNCTION datastorage.export_csv_columns() OWNER TO datastorage_owner;

--
-- Name: export_event_csv(public.audit_events, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.export_event_csv(e public.audit_events, verdict text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
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


ALTER FUNCTION datastorage.export_event_csv(e public.audit_events, verdict text) OWNER TO datastorage_owner;

--
-- Name: export_event_json(text, text, text, text, boolean, smallint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.export_event_json(canonical_members text, event_hash text, previous_event_hash text, verdict text, legal_hold boolean, hash_version smallint) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT concat('{"event_hash": ', coalesce(to_json(event_hash)::text, 'null'),
                  ', "previous_event_hash": ', coalesce(to_json(previous_event_hash)::text, 'null'),
                  ', "hash_chain_valid": ', (verdict = 'ok')::text,
                  ', "chain_verdict": ', to_json(verdict)::text,
                  ', "legal_hold": ', coalesce(legal_hold, false)::text,
                  CASE WHEN hash_version <> 1 THEN ', "hash_version": ' || hash_version END,
                  ', ', canonical_members, '}')
$$;


ALTER FUNCTION datastorage.export_event_json(canonical_members text, event_hash text, previous_event_hash text, verdict text, legal_hold boolean, hash_version smallint) OWNER TO datastorage_owner;

--
-- Name: first_occurrences(public.audit_events[]); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.first_occurrences(p_rows public.audit_events[]) RETURNS TABLE(event_id uuid, event_date date, correlation_id text, ordinality bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT DISTINCT ON (e.event_id) e.event_id, (e.event_timestamp AT TIME ZONE 'UTC')::date,
           e.correlation_id, e.ordinality
    FROM unnest(p_rows) WITH ORDINALITY AS e
    ORDER BY e.event_id, e.ordinality
$$;


ALTER FUNCTION datastorage.first_occurrences(p_rows public.audit_events[]) OWNER TO datastorage_owner;

--
-- Name: get_workflow(uuid); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.get_workflow(p_workflow_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    doc jsonb;
BEGIN
    SELECT datastorage.workflow_json(c) INTO doc
      FROM public.remediation_workflow_catalog c WHERE c.workflow_id = p_workflow_id;
    IF doc IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'DS404', MESSAGE = format('Workflow not found: %s', p_workflow_id);
    END IF;
    RETURN doc;
END
$$;


ALTER FUNCTION datastorage.get_workflow(p_workflow_id uuid) OWNER TO datastorage_owner;

--
-- Name: go_duration_parse(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.go_duration_parse(s text, OUT nanos numeric, OUT error text) RETURNS record
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
DECLARE
    simple  text[] := regexp_match(s, '^([0-9]{1,6})(h|m|s|ms)$');  -- the usual case
    limit63 CONSTANT numeric := 9223372036854775808;  -- 1 << 63
    rest    text := s;
    neg     boolean := false;
    total   numeric := 0;
    whole   text;
    frac    text;
    unit    text;
    unit_ns numeric;
    v       numeric;
    f       numeric;
    scale   float8;
    d       integer;
    bad     text;       -- 'invalid' | 'missing unit' | 'unknown unit'
BEGIN
    IF simple IS NOT NULL THEN
        -- At most six digits: cannot overflow whatever the unit.
        nanos := simple[1]::numeric * CASE simple[2] WHEN 'h' THEN 3600000000000
            WHEN 'm' THEN 60000000000 WHEN 's' THEN 1000000000 ELSE 1000000 END;
        RETURN;
    END IF;
    IF left(rest, 1) IN ('-', '+') THEN
        neg := left(rest, 1) = '-';
        rest := substr(rest, 2);
    END IF;
    IF rest = '0' THEN
        nanos := 0;
        RETURN;
    END IF;
    IF rest = '' THEN
        bad := 'invalid';
    END IF;
    WHILE bad IS NULL AND rest <> '' LOOP
        IF left(rest, 1) !~ '^[0-9.]$' THEN
            bad := 'invalid';
            EXIT;
        END IF;
        -- [0-9]*: Go refuses an integer part above 2^63.
        whole := substring(rest FROM '^[0-9]*');
        rest := substr(rest, length(whole) + 1);
        v := coalesce(nullif(whole, '')::numeric, 0);
        IF v > limit63 THEN
            bad := 'invalid';
            EXIT;
        END IF;
        -- (\.[0-9]*)?: digits past the point where Go's accumulator would
        -- overflow are consumed but ignored.
        f := 0;
        scale := 1;
        frac := '';
        IF left(rest, 1) = '.' THEN
            rest := substr(rest, 2);
            frac := substring(rest FROM '^[0-9]*');
            rest := substr(rest, length(frac) + 1);
            FOR i IN 1 .. length(frac) LOOP
                d := ascii(substr(frac, i, 1)) - 48;
                EXIT WHEN f > div(limit63 - 1, 10) OR f * 10 + d > limit63;
                f := f * 10 + d;
                scale := scale * 10;
            END LOOP;
        END IF;
        IF whole = '' AND frac = '' THEN
            bad := 'invalid';
            EXIT;
        END IF;
        -- The unit is everything up to the next digit or dot.
        unit := substring(rest FROM '^[^0-9.]*');
        rest := substr(rest, length(unit) + 1);
        IF unit = '' THEN
            bad := 'missing unit';
            EXIT;
        END IF;
        unit_ns := CASE unit
            WHEN 'ns' THEN 1 WHEN 'us' THEN 1000 WHEN 'µs' THEN 1000 WHEN 'μs' THEN 1000
            WHEN 'ms' THEN 1000000 WHEN 's' THEN 1000000000
            WHEN 'm' THEN 60000000000 WHEN 'h' THEN 3600000000000 END;
        IF unit_ns IS NULL THEN
            bad := 'unknown unit';
            EXIT;
        END IF;
        IF v > div(limit63, unit_ns) THEN
            bad := 'invalid';
            EXIT;
        END IF;
        v := v * unit_ns;
        IF f > 0 THEN
            -- Go computes the fraction in float64 and truncates; so do we.
            v := v + trunc(f::float8 * (unit_ns::float8 / scale))::numeric;
        END IF;
        total := total + v;
        IF v > limit63 OR total > limit63 THEN
            bad := 'invalid';
            EXIT;
        END IF;
    END LOOP;
    IF bad IS NULL AND NOT neg AND total > limit63 - 1 THEN
        bad := 'invalid';
    END IF;
    error := CASE bad
        WHEN 'invalid' THEN 'time: invalid duration ' || datastorage.go_quote(s)
        WHEN 'missing unit' THEN 'time: missing unit in duration ' || datastorage.go_quote(s)
        WHEN 'unknown unit' THEN 'time: unknown unit ' || datastorage.go_quote(unit)
                                 || ' in duration ' || datastorage.go_quote(s) END;
    nanos := CASE WHEN bad IS NOT NULL THEN NULL WHEN neg THEN -total ELSE total END;
END
$_$;


ALTER FUNCTION datastorage.go_duration_parse(s text, OUT nanos numeric, OUT error text) OWNER TO datastorage_owner;

--
-- Name: go_duration_text(numeric); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.go_duration_text(nanos numeric) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
    u      numeric := abs(trunc(nanos));
    sign   text := CASE WHEN nanos < 0 THEN '-' ELSE '' END;
    scale  numeric;
    digits integer;
    frac   numeric;
    secs   numeric;
    out    text;
BEGIN
    IF u = 0 THEN
        RETURN '0s';
    END IF;
    IF u < 1000000000 THEN
        digits := CASE WHEN u < 1000 THEN 0 WHEN u < 1000000 THEN 3 ELSE 6 END;
        scale := CASE digits WHEN 0 THEN 1 WHEN 3 THEN 1000 ELSE 1000000 END;
        frac := mod(u, scale);
        RETURN sign || div(u, scale)::text
            || CASE WHEN frac = 0 THEN '' ELSE '.' || rtrim(lpad(frac::text, digits, '0'), '0') END
            || CASE digits WHEN 0 THEN 'ns' WHEN 3 THEN 'µs' ELSE 'ms' END;
    END IF;
    frac := mod(u, 1000000000);
    secs := div(u, 1000000000);
    out := mod(secs, 60)::text
        || CASE WHEN frac = 0 THEN '' ELSE '.' || rtrim(lpad(frac::text, 9, '0'), '0') END || 's';
    IF secs >= 60 THEN
        out := mod(div(secs, 60), 60)::text || 'm' || out;
        IF secs >= 3600 THEN
            out := div(secs, 3600)::text || 'h' || out;
        END IF;
    END IF;
    RETURN sign || out;
END
$$;


ALTER FUNCTION datastorage.go_duration_text(nanos numeric) OWNER TO datastorage_owner;

--
-- Name: go_quote(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.go_quote(s text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT '"' || coalesce(string_agg(
        CASE WHEN ascii(c) < 32 OR ascii(c) > 127
             THEN regexp_replace(encode(convert_to(c, 'UTF8'), 'hex'), '(..)', '\\x\1', 'g')
             WHEN c IN ('"', '\') THEN '\' || c
             ELSE c END, '' ORDER BY i), '') || '"'
    FROM regexp_split_to_table(s, '') WITH ORDINALITY AS t(c, i)
$$;


ALTER FUNCTION datastorage.go_quote(s text) OWNER TO datastorage_owner;

--
-- Name: jsonb_drop_null_members(jsonb); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.jsonb_drop_null_members(doc jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT doc - coalesce((SELECT array_agg(key) FROM jsonb_each(doc)
                           WHERE jsonb_typeof(value) = 'null'), '{}')
$$;


ALTER FUNCTION datastorage.jsonb_drop_null_members(doc jsonb) OWNER TO datastorage_owner;

SET default_table_access_method = heap;

--
-- Name: audit_legal_holds; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.audit_legal_holds (
    id bigint NOT NULL,
    correlation_id character varying(255) NOT NULL,
    action text NOT NULL,
    reason text NOT NULL,
    actor text NOT NULL,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    events_affected bigint NOT NULL,
    db_login text DEFAULT SESSION_USER NOT NULL,
    CONSTRAINT audit_legal_holds_action_check CHECK ((action = ANY (ARRAY['place'::text, 'release'::text])))
);


ALTER TABLE public.audit_legal_holds OWNER TO datastorage_owner;

--
-- Name: legal_hold_history(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.legal_hold_history(p_correlation_id text) RETURNS SETOF public.audit_legal_holds
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT * FROM public.audit_legal_holds WHERE correlation_id = p_correlation_id ORDER BY id
$$;


ALTER FUNCTION datastorage.legal_hold_history(p_correlation_id text) OWNER TO datastorage_owner;

--
-- Name: link_hash(text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.link_hash(previous_hash text, canonical text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT encode(sha256(convert_to(previous_hash || canonical, 'UTF8')), 'hex')
$$;


ALTER FUNCTION datastorage.link_hash(previous_hash text, canonical text) OWNER TO datastorage_owner;

--
-- Name: list_legal_holds(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.list_legal_holds() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.list_legal_holds() OWNER TO datastorage_owner;

--
-- Name: list_workflows(text, text, text, text, text, jsonb, integer, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.list_workflows(p_status text DEFAULT NULL::text, p_environment text DEFAULT NULL::text, p_priority text DEFAULT NULL::text, p_component text DEFAULT NULL::text, p_workflow_name text DEFAULT NULL::text, p_custom_labels jsonb DEFAULT NULL::jsonb, p_limit integer DEFAULT 100, p_offset bigint DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    cond   text := 'TRUE';
    docs   jsonb := '[]';   -- containment documents, referenced by index ($6->i)
    alts   text[];
    kv     record;
    v      text;
    total  bigint;
    page   jsonb;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_offset IS NULL OR p_offset < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', MESSAGE = 'offset must be at least 0';
    END IF;
    IF p_custom_labels IS NOT NULL AND jsonb_typeof(p_custom_labels) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', MESSAGE = 'custom_labels must be an object of string arrays';
    END IF;
    -- Only the filters in use are planned. The SQL text is built from
    -- constants and array positions only; every value stays a bound parameter.
    IF p_status IS NOT NULL THEN cond := cond || ' AND c.status = $1'; END IF;
    IF p_workflow_name IS NOT NULL THEN cond := cond || ' AND c.workflow_name = $5'; END IF;
    IF p_environment IS NOT NULL THEN
        docs := docs || jsonb_build_array(jsonb_build_object('environment', jsonb_build_array(p_environment)),
                                          '{"environment": ["*"]}'::jsonb);
        cond := cond || format(' AND (c.labels @> ($6->%s) OR c.labels @> ($6->%s))',
                               jsonb_array_length(docs) - 2, jsonb_array_length(docs) - 1);
    END IF;
    IF p_component IS NOT NULL THEN
        docs := docs || jsonb_build_array(jsonb_build_object('component', p_component),
                                          '{"component": "*"}'::jsonb);
        cond := cond || format(' AND (c.labels @> ($6->%s) OR c.labels @> ($6->%s))',
                               jsonb_array_length(docs) - 2, jsonb_array_length(docs) - 1);
    END IF;
    IF p_priority IS NOT NULL THEN
        docs := docs || jsonb_build_array(jsonb_build_object('priority', p_priority),
                                          '{"priority": "*"}'::jsonb);
        cond := cond || format(' AND (c.labels @> ($6->%s) OR c.labels @> ($6->%s))',
                               jsonb_array_length(docs) - 2, jsonb_array_length(docs) - 1);
    END IF;
    FOR kv IN SELECT key, value FROM jsonb_each(coalesce(p_custom_labels, '{}')) ORDER BY key LOOP
        IF jsonb_typeof(kv.value) <> 'array' THEN
            RAISE EXCEPTION USING ERRCODE = 'DS400', MESSAGE = 'custom_labels must be an object of string arrays';
        END IF;
        alts := '{}';
        FOR v IN SELECT x FROM jsonb_array_elements_text(kv.value || '["*"]'::jsonb) x LOOP
            docs := docs || jsonb_build_array(jsonb_build_object(kv.key, jsonb_build_array(v)));
            alts := alts || format('c.custom_labels @> ($6->%s)', jsonb_array_length(docs) - 1);
        END LOOP;
        cond := cond || ' AND (' || array_to_string(alts, ' OR ') || ')';
    END LOOP;

    EXECUTE format(
        'SELECT (SELECT count(*) FROM public.remediation_workflow_catalog c WHERE %1$s),
                (SELECT coalesce(jsonb_agg(datastorage.workflow_json(p)
                                           ORDER BY p.created_at DESC, p.workflow_id DESC), ''[]'')
                   FROM (SELECT c.* FROM public.remediation_workflow_catalog c WHERE %1$s
                         ORDER BY c.created_at DESC, c.workflow_id DESC
                         LIMIT $7 OFFSET $8) p)', cond)
        INTO total, page
        USING p_status, p_environment, p_priority, p_component, p_workflow_name, docs,
              p_limit, p_offset;
    RETURN jsonb_build_object('workflows', page, 'limit', p_limit, 'offset', p_offset, 'total', total);
END
$_$;


ALTER FUNCTION datastorage.list_workflows(p_status text, p_environment text, p_priority text, p_component text, p_workflow_name text, p_custom_labels jsonb, p_limit integer, p_offset bigint) OWNER TO datastorage_owner;

--
-- Name: maintain(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.maintain() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    PERFORM datastorage.ensure_audit_partitions(1, 3);
END
$$;


ALTER FUNCTION datastorage.maintain() OWNER TO datastorage_owner;

--
-- Name: place_legal_hold(text, text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_hold_keeper
--

CREATE FUNCTION datastorage.place_legal_hold(p_correlation_id text, p_reason text, p_placed_by text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.place_legal_hold(p_correlation_id text, p_reason text, p_placed_by text) OWNER TO datastorage_hold_keeper;

--
-- Name: query_audit_events(text, text, text, text, text, timestamp with time zone, timestamp with time zone, integer, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.query_audit_events(p_correlation_id text DEFAULT NULL::text, p_event_type text DEFAULT NULL::text, p_event_category text DEFAULT NULL::text, p_event_outcome text DEFAULT NULL::text, p_severity text DEFAULT NULL::text, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_limit integer DEFAULT 50, p_offset bigint DEFAULT 0) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RETURN datastorage.search_audit_events(p_event_type, p_event_category, p_event_outcome,
                                           p_severity, p_since, p_until, p_limit, p_offset,
                                           p_chain => p_correlation_id);
END
$$;


ALTER FUNCTION datastorage.query_audit_events(p_correlation_id text, p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint) OWNER TO datastorage_owner;

--
-- Name: reconstruct_remediation_request(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruct_remediation_request(correlation_id text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE
    cid            text := reconstruct_remediation_request.correlation_id;
    ev             record;
    d              jsonb;
    shape          text;
    problem        text;
    n_read         integer := 0;
    n_used         integer := 0;
    has_gateway    boolean := false;
    bad_events     text[] := '{}';   -- malformed payloads, reported as errors
    conflicts      text[] := '{}';   -- disagreeing gateway events, reported as warnings
    duration_error text;             -- first unparseable timeout, oldest first
    -- merged fields; whole-value fields keep the newest source and are
    -- converted once after the loop
    signal_name    text := '';
    signal_type    text := '';
    labels         jsonb := '{}';
    annotations    jsonb := '{}';
    original       jsonb;
    summary        jsonb;
    timeout_cfg    jsonb;
    timeouts       jsonb;
    selection      jsonb;
    execution      jsonb;
    execution_ns   text;
    provider       text;
    -- output
    present        integer;
    completeness   integer;
    errors         jsonb;
    warnings       jsonb;
    validation     jsonb;
    spec           jsonb;
    rr_status      jsonb := '{}';
    made_at        timestamptz := now();
    rr_name        text;
    label_id       text;
BEGIN
    FOR ev IN
        SELECT e.event_id, e.event_type, e.namespace, e.event_data
          FROM public.audit_events e
         WHERE e.correlation_id = cid
           AND e.event_type IN ('gateway.signal.received', 'aianalysis.analysis.completed',
                                'workflowexecution.selection.completed',
                                'workflowexecution.execution.started',
                                'orchestrator.lifecycle.created')
         ORDER BY e.event_timestamp, e.event_id
    LOOP
        n_read := n_read + 1;
        d := ev.event_data;
        shape := CASE split_part(ev.event_type, '.', 1)
                      WHEN 'gateway' THEN 'gateway' WHEN 'orchestrator' THEN 'orchestrator'
                      WHEN 'aianalysis' THEN 'aianalysis' ELSE 'workflowexecution' END;
        -- The jsonpath constants are folded once per session (immutable
        -- functions of constants); only doubtful payloads get explained.
        IF jsonb_path_match(d, CASE shape
                WHEN 'gateway' THEN datastorage.reconstruction_shape_path('gateway')
                WHEN 'orchestrator' THEN datastorage.reconstruction_shape_path('orchestrator')
                WHEN 'aianalysis' THEN datastorage.reconstruction_shape_path('aianalysis')
                ELSE datastorage.reconstruction_shape_path('workflowexecution') END) THEN
            problem := NULL;
        ELSE
            problem := datastorage.reconstruction_payload_problem(d, shape);
        END IF;
        IF problem IS NOT NULL THEN
            bad_events := bad_events || format('Event %s (%s) skipped: malformed event_data: %s',
                                               ev.event_id, ev.event_type, problem);
            CONTINUE;
        END IF;

        CASE shape
        WHEN 'gateway' THEN
            -- An empty alert name does not parse in the original: dropped.
            CONTINUE WHEN d ->> 'alert_name' = '';
            has_gateway := true;
            IF signal_name <> '' AND signal_name <> d ->> 'alert_name' THEN
                conflicts := conflicts || format(
                    'Conflicting gateway.signal.received events: signalName %s replaced by %s (event %s)',
                    to_json(signal_name), to_json(d ->> 'alert_name'), ev.event_id);
            END IF;
            signal_name := d ->> 'alert_name';
            IF d ->> 'signal_type' <> '' THEN
                IF signal_type <> '' AND signal_type <> d ->> 'signal_type' THEN
                    conflicts := conflicts || format(
                        'Conflicting gateway.signal.received events: signalType %s replaced by %s (event %s)',
                        to_json(signal_type), to_json(d ->> 'signal_type'), ev.event_id);
                END IF;
                signal_type := d ->> 'signal_type';
            END IF;
            IF d ? 'signal_labels' THEN
                labels := labels || (d -> 'signal_labels');
            END IF;
            IF d ? 'signal_annotations' THEN
                annotations := annotations || (d -> 'signal_annotations');
            END IF;
            original := coalesce(d -> 'original_payload', original);

        WHEN 'orchestrator' THEN
            -- Each event carrying a timeout_config replaces the whole object;
            -- every one of them must parse (the oldest failure is reported).
            IF d ? 'timeout_config' THEN
                timeout_cfg := d -> 'timeout_config';
                IF duration_error IS NULL AND NOT jsonb_path_exists(d,
                        '$.timeout_config ? ((!exists(@.global) || @.global == "" || @.global like_regex "^[0-9]{1,6}(h|m|s|ms)$")
                                          && (!exists(@.processing) || @.processing == "" || @.processing like_regex "^[0-9]{1,6}(h|m|s|ms)$")
                                          && (!exists(@.analyzing) || @.analyzing == "" || @.analyzing like_regex "^[0-9]{1,6}(h|m|s|ms)$")
                                          && (!exists(@.executing) || @.executing == "" || @.executing like_regex "^[0-9]{1,6}(h|m|s|ms)$"))') THEN
                    duration_error := (datastorage.reconstruction_timeouts(timeout_cfg)).error;
                END IF;
            END IF;

        WHEN 'aianalysis' THEN
            summary := coalesce(d -> 'provider_response_summary', summary);

        ELSE
            IF ev.event_type = 'workflowexecution.selection.completed' THEN
                selection := d;
            ELSE
                execution := d;
                execution_ns := ev.namespace;
            END IF;
        END CASE;
        n_used := n_used + 1;
    END LOOP;

    IF n_read = 0 THEN
        RAISE EXCEPTION 'No audit events found for correlation_id: %', cid
            USING ERRCODE = 'DS404', HINT = 'audit/correlation-not-found';
    END IF;
    IF n_used = 0 THEN
        RAISE EXCEPTION 'No parseable audit events found for reconstruction'
            USING ERRCODE = 'DS400', HINT = 'reconstruction/no-parseable-events',
                  DETAIL = jsonb_strip_nulls(jsonb_build_object('errors', nullif(to_jsonb(bad_events), '[]')))::text;
    END IF;
    IF NOT has_gateway THEN
        RAISE EXCEPTION 'gateway.signal.received event is required for reconstruction'
            USING ERRCODE = 'DS400', HINT = 'reconstruction/missing-gateway-event',
                  DETAIL = jsonb_strip_nulls(jsonb_build_object('errors', nullif(to_jsonb(bad_events), '[]')))::text;
    END IF;
    IF duration_error IS NOT NULL THEN
        RAISE EXCEPTION '%', duration_error
            USING ERRCODE = 'DS400', HINT = 'reconstruction/invalid-duration',
                  DETAIL = jsonb_strip_nulls(jsonb_build_object('errors', nullif(to_jsonb(bad_events), '[]')))::text;
    END IF;

    IF timeout_cfg IS NOT NULL THEN
        timeouts := (datastorage.reconstruction_timeouts(timeout_cfg)).config;
    END IF;
    IF summary IS NOT NULL THEN
        -- Compact JSON in the original's member order.
        provider := '{"incident_id":' || to_json(summary ->> 'incident_id')
            || ',"analysis_preview":' || to_json(summary ->> 'analysis_preview')
            || coalesce(',"selected_workflow_id":' || to_json(summary ->> 'selected_workflow_id'), '')
            || ',"needs_human_review":' || (summary -> 'needs_human_review')::text
            || ',"warnings_count":' || (summary -> 'warnings_count')::text || '}';
    END IF;
    IF selection IS NOT NULL THEN
        selection := jsonb_build_object('workflowId', selection ->> 'workflow_id',
                                        'version', selection ->> 'workflow_version',
                                        'containerImage', selection ->> 'container_image');
    END IF;
    IF execution IS NOT NULL THEN
        execution := jsonb_strip_nulls(jsonb_build_object(
            'apiVersion', 'workflowexecution.kubernaut.ai/v1alpha1',
            'kind', 'WorkflowExecution',
            'name', nullif(execution ->> 'execution_name', ''),
            'namespace', nullif(execution_ns, '')));
    END IF;

    -- Validation: nine items in the spec's order, equal weight.
    present := (signal_name <> '')::int + (signal_type <> '')::int
             + (labels <> '{}')::int + (annotations <> '{}')::int + (original IS NOT NULL)::int
             + (timeouts IS NOT NULL)::int + (provider IS NOT NULL)::int
             + (selection IS NOT NULL)::int + (execution IS NOT NULL)::int;
    completeness := present * 100 / 9;
    errors := to_jsonb(array_remove(ARRAY[
        CASE WHEN signal_name = '' THEN 'SignalName is required in Spec' END,
        CASE WHEN signal_type = '' THEN 'SignalType is required in Spec' END], NULL) || bad_events);
    warnings := to_jsonb(array_remove(ARRAY[
        CASE WHEN labels = '{}' THEN 'SignalLabels are missing (Gap #2) - labels provide context for signal' END,
        CASE WHEN annotations = '{}' THEN 'SignalAnnotations are missing (Gap #3) - annotations provide additional metadata' END,
        CASE WHEN original IS NULL THEN 'OriginalPayload is missing (Gap #1) - full audit trail requires original data' END,
        CASE WHEN timeouts IS NULL THEN 'TimeoutConfig is missing (Gap #8) - operational timeouts may use defaults' END,
        CASE WHEN provider IS NULL THEN 'providerData is missing (Gap #4) - AI analysis summary unavailable' END,
        CASE WHEN selection IS NULL THEN 'selectedWorkflowRef is missing (Gap #5) - workflow selection data unavailable' END,
        CASE WHEN execution IS NULL THEN 'executionRef is missing (Gap #6) - workflow execution reference unavailable' END],
        NULL) || conflicts);
    validation := jsonb_build_object('is_valid', errors = '[]', 'completeness', completeness,
                                     'errors', errors, 'warnings', warnings);
    IF completeness < 50 THEN
        RAISE EXCEPTION '%', format('Reconstructed RR is only %s%% complete', completeness)
            USING ERRCODE = 'DS400', HINT = 'reconstruction/incomplete-data',
                  DETAIL = jsonb_build_object('validation', validation)::text;
    END IF;

    -- The object, in Kubernetes JSON form: fields without omitempty are
    -- always present; byte fields are standard base64 with padding.
    spec := jsonb_build_object(
        'signalFingerprint', '', 'signalName', signal_name, 'severity', '',
        'signalType', signal_type, 'targetType', '',
        'targetResource', jsonb_build_object('kind', '', 'name', ''),
        'firingTime', NULL, 'receivedTime', NULL,
        'deduplication', jsonb_build_object('firstOccurrence', NULL, 'lastOccurrence', NULL));
    IF labels <> '{}' THEN
        spec := spec || jsonb_build_object('signalLabels', labels);
    END IF;
    IF annotations <> '{}' THEN
        spec := spec || jsonb_build_object('signalAnnotations', annotations);
    END IF;
    IF original IS NOT NULL THEN
        -- Canonical bytes: PostgreSQL's jsonb text of the stored object.
        spec := spec || jsonb_build_object('originalPayload',
            translate(encode(convert_to(original::text, 'UTF8'), 'base64'), E'\n', ''));
    END IF;
    IF provider IS NOT NULL THEN
        spec := spec || jsonb_build_object('providerData',
            translate(encode(convert_to(provider, 'UTF8'), 'base64'), E'\n', ''));
    END IF;
    IF timeouts IS NOT NULL THEN
        rr_status := rr_status || jsonb_build_object('timeoutConfig', timeouts);
    END IF;
    IF selection IS NOT NULL THEN
        rr_status := rr_status || jsonb_build_object('selectedWorkflowRef', selection);
    END IF;
    IF execution IS NOT NULL THEN
        rr_status := rr_status || jsonb_build_object('executionRef', execution);
    END IF;

    -- Name and label are built from the raw id when Kubernetes accepts them
    -- (always, for ordinary ids); otherwise from a sanitised form. The
    -- annotation always keeps the raw id.
    rr_name := 'rr-reconstructed-' || cid || '-' || floor(extract(epoch FROM made_at))::bigint;
    IF length(rr_name) > 253
       OR rr_name !~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' THEN
        rr_name := 'rr-reconstructed-' || datastorage.reconstruction_safe_id(cid, false, 253 - 17 - 11)
                || '-' || floor(extract(epoch FROM made_at))::bigint;
    END IF;
    label_id := cid;
    IF length(cid) > 63 OR cid !~ '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' THEN
        label_id := datastorage.reconstruction_safe_id(cid, true, 63);
    END IF;

    RETURN jsonb_build_object(
        'correlation_id', cid,
        'remediation_request', jsonb_build_object(
            'apiVersion', 'remediation.kubernaut.ai/v1alpha1',
            'kind', 'RemediationRequest',
            'metadata', jsonb_build_object(
                'name', rr_name,
                'namespace', 'kubernaut-system',
                'labels', jsonb_build_object(
                    'app.kubernetes.io/managed-by', 'kubernaut-datastorage',
                    'kubernaut.ai/reconstructed', 'true',
                    'kubernaut.ai/correlation-id', label_id),
                'annotations', jsonb_build_object(
                    'kubernaut.ai/reconstructed-at',
                        to_char(made_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                    'kubernaut.ai/reconstruction-source', 'audit-trail',
                    'kubernaut.ai/correlation-id', cid),
                'finalizers', jsonb_build_array('kubernaut.ai/audit-retention'),
                'creationTimestamp', NULL),
            'spec', spec,
            'status', rr_status),
        'validation', validation);
END
$_$;


ALTER FUNCTION datastorage.reconstruct_remediation_request(correlation_id text) OWNER TO datastorage_owner;

--
-- Name: reconstruction_is_datetime(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruction_is_datetime(s text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
    SELECT coalesce((
        SELECT m[2]::int BETWEEN 1 AND 12
           AND m[3]::int BETWEEN 1 AND extract(day FROM make_date(2000 + m[1]::int % 400, m[2]::int, 1)
                                                   + interval '1 month - 1 day')::int
           AND m[4]::int <= 23 AND m[5]::int <= 59 AND m[6]::int <= 59
           AND coalesce(m[7]::int, 0) <= 23 AND coalesce(m[8]::int, 0) <= 59
        FROM (SELECT regexp_match(s, '^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?'
                                     '(?:Z|[+-](\d{2}):(\d{2}))$') AS m) r
        WHERE m IS NOT NULL AND m[2]::int BETWEEN 1 AND 12), false)
$_$;


ALTER FUNCTION datastorage.reconstruction_is_datetime(s text) OWNER TO datastorage_owner;

--
-- Name: reconstruction_payload_problem(jsonb, text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruction_payload_problem(data jsonb, shape_name text, path text DEFAULT ''::text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    shape jsonb := datastorage.reconstruction_shape(shape_name);
    bad   text;
BEGIN
    IF jsonb_typeof(data) IS DISTINCT FROM 'object' THEN
        RETURN format('%s: expected an object, got %s',
                      CASE WHEN path = '' THEN 'event_data' ELSE format('field "%s"', rtrim(path, '.')) END,
                      coalesce(jsonb_typeof(data), 'nothing'));
    END IF;
    SELECT format('missing required field "%s%s"', path, r.key) INTO bad
      FROM jsonb_array_elements_text(shape -> 'required') WITH ORDINALITY AS r(key, i)
     WHERE NOT data ? r.key ORDER BY r.i LIMIT 1;
    IF bad IS NOT NULL THEN
        RETURN bad;
    END IF;
    SELECT p INTO bad
      FROM jsonb_each(data) d
      JOIN jsonb_each_text(shape -> 'fields') f ON f.key = d.key
     CROSS JOIN LATERAL datastorage.reconstruction_value_problem(d.value, f.value, path || d.key) p
     WHERE p IS NOT NULL
     LIMIT 1;
    RETURN bad;
END
$$;


ALTER FUNCTION datastorage.reconstruction_payload_problem(data jsonb, shape_name text, path text) OWNER TO datastorage_owner;

--
-- Name: reconstruction_safe_id(text, boolean, integer); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruction_safe_id(id text, label boolean, max_len integer) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $_$
    SELECT CASE WHEN slug = '' THEN h ELSE slug || '-' || h END
    FROM (SELECT left(encode(sha256(convert_to(id, 'UTF8')), 'hex'), 8) AS h,
                 regexp_replace(left(regexp_replace(regexp_replace(
                     CASE WHEN label THEN id ELSE lower(id) END,
                     CASE WHEN label THEN '[^A-Za-z0-9._-]+' ELSE '[^a-z0-9]+' END, '-', 'g'),
                     '^[^A-Za-z0-9]+', ''), max_len - 9), '[^A-Za-z0-9]+$', '') AS slug) s
$_$;


ALTER FUNCTION datastorage.reconstruction_safe_id(id text, label boolean, max_len integer) OWNER TO datastorage_owner;

--
-- Name: reconstruction_shape(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruction_shape(name text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT CASE name
    WHEN 'gateway' THEN '{
        "required": ["event_type", "signal_type", "alert_name", "namespace", "fingerprint"],
        "fields": {"event_type": "string", "original_payload": "object",
                   "signal_labels": "string-map", "signal_annotations": "string-map",
                   "signal_type": "string", "alert_name": "string", "namespace": "string",
                   "fingerprint": "string", "severity": "string", "resource_kind": "string",
                   "resource_name": "string", "remediation_request": "string",
                   "deduplication_status": "string", "occurrence_count": "int32",
                   "error_details": "@error_details"}}'::jsonb
    WHEN 'orchestrator' THEN '{
        "required": ["event_type", "rr_name", "namespace"],
        "fields": {"event_type": "string", "rr_name": "string", "namespace": "string",
                   "outcome": "string", "duration_ms": "int64", "failure_phase": "string",
                   "failure_reason": "string", "error_details": "@error_details",
                   "from_phase": "string", "to_phase": "string",
                   "transition_reason": "string", "rar_name": "string",
                   "required_by": "date-time", "workflow_id": "string",
                   "confidence_str": "string", "decision": "string", "approved_by": "string",
                   "rejected_by": "string", "rejection_reason": "string", "message": "string",
                   "reason": "string", "sub_reason": "string", "notification_name": "string",
                   "timeout_config": "@timeout_config"}}'::jsonb
    WHEN 'aianalysis' THEN '{
        "required": ["event_type", "analysis_name", "namespace", "phase", "approval_required",
                     "degraded_mode", "warnings_count"],
        "fields": {"event_type": "string", "analysis_name": "string", "namespace": "string",
                   "phase": "string", "approval_required": "boolean",
                   "approval_reason": "string", "degraded_mode": "boolean",
                   "warnings_count": "int64", "confidence": "number", "workflow_id": "string",
                   "target_in_owner_chain": "boolean", "reason": "string",
                   "sub_reason": "string",
                   "provider_response_summary": "@provider_response_summary",
                   "error_details": "@error_details"}}'::jsonb
    WHEN 'workflowexecution' THEN '{
        "required": ["event_type", "workflow_id", "workflow_version", "target_resource",
                     "phase", "container_image", "execution_name"],
        "fields": {"event_type": "string", "workflow_id": "string",
                   "workflow_version": "string", "target_resource": "string",
                   "phase": "string", "container_image": "string",
                   "execution_name": "string", "started_at": "date-time",
                   "completed_at": "date-time", "duration": "string",
                   "failure_reason": "string", "failure_message": "string",
                   "failed_task_name": "string", "error_details": "@error_details",
                   "pipelinerun_name": "string"}}'::jsonb
    WHEN 'provider_response_summary' THEN '{
        "required": ["incident_id", "analysis_preview", "needs_human_review", "warnings_count"],
        "fields": {"incident_id": "string", "analysis_preview": "string",
                   "selected_workflow_id": "string", "needs_human_review": "boolean",
                   "warnings_count": "int64"}}'::jsonb
    WHEN 'timeout_config' THEN '{
        "required": [],
        "fields": {"global": "string", "processing": "string", "analyzing": "string",
                   "executing": "string"}}'::jsonb
    WHEN 'error_details' THEN '{
        "required": ["message", "code", "component", "retry_possible"],
        "fields": {"message": "string", "code": "string", "component": "string",
                   "retry_possible": "boolean", "stack_trace": "string-array"}}'::jsonb
    END
$$;


ALTER FUNCTION datastorage.reconstruction_shape(name text) OWNER TO datastorage_owner;

--
-- Name: reconstruction_shape_check(text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruction_shape_check(shape_name text, at text DEFAULT '$'::text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $_$
DECLARE
    shape jsonb := datastorage.reconstruction_shape(shape_name);
    parts text[] := ARRAY[format('%s.type() == "object"', at)];
    k     text;
    kind  text;
    p     text;
    c     text;
BEGIN
    FOR k, kind IN SELECT f.key, f.value FROM jsonb_each_text(shape -> 'fields') f ORDER BY f.key LOOP
        p := at || '.' || to_json(k)::text;
        c := CASE
            WHEN left(kind, 1) = '@' THEN datastorage.reconstruction_shape_check(substr(kind, 2), p)
            WHEN kind IN ('string', 'boolean', 'number', 'object') THEN format('%s.type() == "%s"', p, kind)
            WHEN kind IN ('int32', 'int64') THEN format(
                '(%1$s.type() == "number" && %1$s.floor() == %1$s && %1$s >= %2$s && %1$s <= %3$s)', p,
                CASE kind WHEN 'int32' THEN '-2147483648' ELSE '-9223372036854775808' END,
                CASE kind WHEN 'int32' THEN '2147483647' ELSE '9223372036854775807' END)
            WHEN kind = 'date-time' THEN format('(%1$s.type() == "string" && %1$s like_regex %2$s)', p,
                to_json('^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]'
                        '([.][0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$'::text)::text)
            WHEN kind = 'string-map' THEN format(
                '(%1$s.type() == "object" && !exists(%1$s.*.type() ? (@ != "string")))', p)
            WHEN kind = 'string-array' THEN format(
                '(%1$s.type() == "array" && !exists(%1$s[*].type() ? (@ != "string")))', p)
        END;
        parts := parts || CASE WHEN shape -> 'required' ? k THEN c
                               ELSE format('(!exists(%s) || %s)', p, c) END;
    END LOOP;
    RETURN '(' || array_to_string(parts, ' && ') || ')';
END
$_$;


ALTER FUNCTION datastorage.reconstruction_shape_check(shape_name text, at text) OWNER TO datastorage_owner;

--
-- Name: reconstruction_shape_path(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruction_shape_path(shape_name text) RETURNS jsonpath
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT datastorage.reconstruction_shape_check(shape_name)::jsonpath
$$;


ALTER FUNCTION datastorage.reconstruction_shape_path(shape_name text) OWNER TO datastorage_owner;

--
-- Name: reconstruction_timeouts(jsonb); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruction_timeouts(tc jsonb, OUT config jsonb, OUT error text) RETURNS record
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
    member text;
    raw    text;
    parsed record;
BEGIN
    config := '{}';
    FOREACH member IN ARRAY ARRAY['global', 'processing', 'analyzing', 'executing'] LOOP
        raw := coalesce(tc ->> member, '');
        CONTINUE WHEN raw = '';
        SELECT * INTO parsed FROM datastorage.go_duration_parse(raw);
        IF parsed.error IS NOT NULL THEN
            error := coalesce(error, format(
                'failed to map event orchestrator.lifecycle.created: invalid %s duration: invalid duration ''%s'': %s',
                initcap(member), raw, parsed.error));
        ELSE
            config := config || jsonb_build_object(member, datastorage.go_duration_text(parsed.nanos));
        END IF;
    END LOOP;
END
$$;


ALTER FUNCTION datastorage.reconstruction_timeouts(tc jsonb, OUT config jsonb, OUT error text) OWNER TO datastorage_owner;

--
-- Name: reconstruction_value_problem(jsonb, text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.reconstruction_value_problem(v jsonb, kind text, path text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$
DECLARE
    got  text := jsonb_typeof(v);
    want text;
    bad  text;
BEGIN
    IF left(kind, 1) = '@' THEN
        RETURN datastorage.reconstruction_payload_problem(v, substr(kind, 2), path || '.');
    END IF;
    want := CASE kind WHEN 'int32' THEN 'number' WHEN 'int64' THEN 'number'
                      WHEN 'date-time' THEN 'string' WHEN 'string-map' THEN 'object'
                      WHEN 'string-array' THEN 'array' ELSE kind END;
    IF got IS DISTINCT FROM want THEN
        RETURN format('field "%s": expected %s, got %s', path,
                      CASE kind WHEN 'int32' THEN 'integer' WHEN 'int64' THEN 'integer'
                                WHEN 'date-time' THEN 'date-time string'
                                WHEN 'string-map' THEN 'object of strings'
                                WHEN 'string-array' THEN 'array of strings' ELSE kind END, got);
    END IF;
    CASE kind
    WHEN 'int32', 'int64' THEN
        IF v::numeric <> trunc(v::numeric)
           OR (CASE kind WHEN 'int32' THEN v::numeric NOT BETWEEN -2147483648 AND 2147483647
                         ELSE v::numeric NOT BETWEEN -9223372036854775808 AND 9223372036854775807 END) THEN
            RETURN format('field "%s": expected %s integer, got %s', path, kind, v::text);
        END IF;
    WHEN 'date-time' THEN
        IF NOT datastorage.reconstruction_is_datetime(v #>> '{}') THEN
            RETURN format('field "%s": invalid date-time %s', path, v::text);
        END IF;
    WHEN 'string-map' THEN
        SELECT format('field "%s.%s": expected string, got %s', path, e.key, jsonb_typeof(e.value))
          INTO bad FROM jsonb_each(v) e WHERE jsonb_typeof(e.value) <> 'string' LIMIT 1;
        RETURN bad;
    WHEN 'string-array' THEN
        SELECT format('field "%s[%s]": expected string, got %s', path, e.i - 1, jsonb_typeof(e.value))
          INTO bad FROM jsonb_array_elements(v) WITH ORDINALITY e(value, i)
         WHERE jsonb_typeof(e.value) <> 'string' LIMIT 1;
        RETURN bad;
    ELSE
        NULL;
    END CASE;
    RETURN NULL;
END
$$;


ALTER FUNCTION datastorage.reconstruction_value_problem(v jsonb, kind text, path text) OWNER TO datastorage_owner;

--
-- Name: record_notification(jsonb); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.record_notification(p jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    stored jsonb;
    violated text;
BEGIN
    INSERT INTO public.notification_audit (remediation_id, notification_id, recipient, channel,
                                    message_summary, status, sent_at, delivery_status,
                                    error_message, escalation_level)
    SELECT r.remediation_id, r.notification_id, r.recipient, r.channel, r.message_summary,
           r.status, r.sent_at, nullif(r.delivery_status, ''), nullif(r.error_message, ''),
           coalesce(r.escalation_level, 0)
    FROM jsonb_populate_record(NULL::public.notification_audit, p) r
    RETURNING jsonb_strip_nulls(jsonb_build_object(
        'id', id, 'remediation_id', remediation_id, 'notification_id', notification_id,
        'recipient', recipient, 'channel', channel, 'message_summary', message_summary,
        'status', status, 'sent_at', p->>'sent_at', 'delivery_status', delivery_status,
        'error_message', error_message, 'escalation_level', escalation_level,
        'created_at', datastorage.rfc3339(created_at), 'updated_at', datastorage.rfc3339(updated_at)))
    INTO stored;
    RETURN stored;
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
    IF violated IS DISTINCT FROM 'notification_audit_notification_id_key' THEN
        RAISE;
    END IF;
    RAISE unique_violation USING CONSTRAINT = violated, HINT = 'notification-exists',
        MESSAGE = format('Resource notification_audit with notification_id=''%s'' already exists',
                         p ->> 'notification_id'),
        DETAIL = json_build_object('instance', '/audit/notification_audit',
                                   'resource', 'notification_audit', 'field', 'notification_id',
                                   'value', p ->> 'notification_id')::text;
END
$$;


ALTER FUNCTION datastorage.record_notification(p jsonb) OWNER TO datastorage_owner;

--
-- Name: release_legal_hold(text, text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_hold_keeper
--

CREATE FUNCTION datastorage.release_legal_hold(p_correlation_id text, p_release_reason text, p_released_by text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.release_legal_hold(p_correlation_id text, p_release_reason text, p_released_by text) OWNER TO datastorage_hold_keeper;

--
-- Name: retention_begin(timestamp with time zone, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_begin(p_now timestamp with time zone, p_started_by text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET max_parallel_workers_per_gather TO '0'
    AS $$
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


ALTER FUNCTION datastorage.retention_begin(p_now timestamp with time zone, p_started_by text) OWNER TO datastorage_owner;

--
-- Name: retention_chain_plan(date); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_chain_plan(p_cutoff date) RETURNS TABLE(correlation_id text, stored_events bigint, expired_events bigint, held boolean, upto_seq bigint, prunable_events bigint, waiting_events bigint, whole_chain boolean, first_date date, last_date date)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.retention_chain_plan(p_cutoff date) OWNER TO datastorage_owner;

--
-- Name: retention_detach(bigint, regclass, text[], date, date); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_detach(p_run bigint, rel regclass, cids text[], lo date, hi date, OUT events bigint, OUT chains bigint, OUT locked_ms numeric) RETURNS record
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.retention_detach(p_run bigint, rel regclass, cids text[], lo date, hi date, OUT events bigint, OUT chains bigint, OUT locked_ms numeric) OWNER TO datastorage_owner;

--
-- Name: retention_detached(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_detached() RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT DISTINCT d.name
    FROM public.audit_retention_runs r
    CROSS JOIN LATERAL unnest(r.partitions_detached) d(name)
    JOIN pg_catalog.pg_class c ON c.oid = to_regclass(format('public.%I', d.name))
    WHERE NOT d.name = ANY (r.partitions_dropped) AND c.relkind = 'r' AND NOT c.relispartition
$$;


ALTER FUNCTION datastorage.retention_detached() OWNER TO datastorage_owner;

--
-- Name: retention_finish(bigint, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_finish(p_run bigint, p_error text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.retention_finish(p_run bigint, p_error text) OWNER TO datastorage_owner;

--
-- Name: retention_lock(regclass[]); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_lock(rels regclass[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.retention_lock(rels regclass[]) OWNER TO datastorage_owner;

--
-- Name: retention_lock_heads(text[]); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_lock_heads(p_cids text[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    PERFORM 1 FROM public.audit_chain_heads h
     WHERE h.correlation_id = ANY (p_cids) ORDER BY h.correlation_id FOR UPDATE;
END
$$;


ALTER FUNCTION datastorage.retention_lock_heads(p_cids text[]) OWNER TO datastorage_owner;

--
-- Name: retention_lock_key(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT 7310575183440000014::bigint $$;


ALTER FUNCTION datastorage.retention_lock_key() OWNER TO datastorage_owner;

--
-- Name: retention_partition_plan(date, text[], bigint[]); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_partition_plan(p_cutoff date, p_cids text[], p_upto bigint[]) RETURNS TABLE(partition text, events bigint, expired_events bigint, held_events bigint, prunable_events bigint, droppable boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.retention_partition_plan(p_cutoff date, p_cids text[], p_upto bigint[]) OWNER TO datastorage_owner;

--
-- Name: retention_plan(timestamp with time zone); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_plan(p_now timestamp with time zone DEFAULT now()) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET max_parallel_workers_per_gather TO '0'
    AS $$
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


ALTER FUNCTION datastorage.retention_plan(p_now timestamp with time zone) OWNER TO datastorage_owner;

--
-- Name: retention_prune_chains(bigint, text[], regclass, date, date); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_prune_chains(p_run bigint, p_cids text[], p_except regclass, p_lo date, p_hi date, OUT deleted bigint, OUT chains bigint, OUT kept_held bigint) RETURNS record
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;


ALTER FUNCTION datastorage.retention_prune_chains(p_run bigint, p_cids text[], p_except regclass, p_lo date, p_hi date, OUT deleted bigint, OUT chains bigint, OUT kept_held bigint) OWNER TO datastorage_owner;

--
-- Name: retention_record_horizons(bigint, text[], bigint[], text[]); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_record_horizons(p_run bigint, p_cids text[], p_first_kept bigint[], p_hashes text[]) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION datastorage.retention_record_horizons(p_run bigint, p_cids text[], p_first_kept bigint[], p_hashes text[]) OWNER TO datastorage_owner;

--
-- Name: audit_retention_runs; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.audit_retention_runs (
    run_id bigint NOT NULL,
    started_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    finished_at timestamp with time zone,
    as_of timestamp with time zone NOT NULL,
    cutoff date NOT NULL,
    started_by text NOT NULL,
    db_user text DEFAULT SESSION_USER NOT NULL,
    status text DEFAULT 'running'::text NOT NULL,
    partitions_planned text[] DEFAULT '{}'::text[] NOT NULL,
    partitions_dropped text[] DEFAULT '{}'::text[] NOT NULL,
    partitions_skipped text[] DEFAULT '{}'::text[] NOT NULL,
    chains_planned bigint DEFAULT 0 NOT NULL,
    events_planned bigint DEFAULT 0 NOT NULL,
    events_deleted bigint DEFAULT 0 NOT NULL,
    chains_affected bigint DEFAULT 0 NOT NULL,
    kept_held_events bigint DEFAULT 0 NOT NULL,
    error text,
    partitions_detached text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT audit_retention_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'succeeded'::text, 'failed'::text])))
);


ALTER TABLE public.audit_retention_runs OWNER TO datastorage_owner;

--
-- Name: retention_run_json(public.audit_retention_runs); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_run_json(r public.audit_retention_runs) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT to_jsonb(r) || jsonb_build_object(
        'started_at', datastorage.rfc3339(r.started_at), 'finished_at', datastorage.rfc3339(r.finished_at),
        'as_of', datastorage.rfc3339(r.as_of), 'dry_run', false,
        'duration_seconds', extract(epoch FROM r.finished_at - r.started_at))
$$;


ALTER FUNCTION datastorage.retention_run_json(r public.audit_retention_runs) OWNER TO datastorage_owner;

--
-- Name: retention_step(bigint, integer); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.retention_step(p_run bigint, p_batch integer DEFAULT 10000) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET max_parallel_workers_per_gather TO '0'
    AS $$
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


ALTER FUNCTION datastorage.retention_step(p_run bigint, p_batch integer) OWNER TO datastorage_owner;

--
-- Name: rfc3339(timestamp with time zone); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.rfc3339(ts timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || coalesce(nullif('.' || rtrim(to_char(ts AT TIME ZONE 'UTC', 'US'), '0'), '.'), '')
        || 'Z'
$$;


ALTER FUNCTION datastorage.rfc3339(ts timestamp with time zone) OWNER TO datastorage_owner;

--
-- Name: rfc3339_micro(timestamp with time zone); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.rfc3339_micro(ts timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;


ALTER FUNCTION datastorage.rfc3339_micro(ts timestamp with time zone) OWNER TO datastorage_owner;

--
-- Name: run_retention(timestamp with time zone, text, integer, jsonb); Type: PROCEDURE; Schema: datastorage; Owner: datastorage_owner
--

CREATE PROCEDURE datastorage.run_retention(IN p_now timestamp with time zone DEFAULT now(), IN p_started_by text DEFAULT 'run_retention'::text, IN p_batch integer DEFAULT 10000, INOUT p_result jsonb DEFAULT NULL::jsonb)
    LANGUAGE plpgsql
    AS $$
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


ALTER PROCEDURE datastorage.run_retention(IN p_now timestamp with time zone, IN p_started_by text, IN p_batch integer, INOUT p_result jsonb) OWNER TO datastorage_owner;

--
-- Name: search_audit_events(text, text, text, text, timestamp with time zone, timestamp with time zone, integer, bigint, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.search_audit_events(p_event_type text DEFAULT NULL::text, p_event_category text DEFAULT NULL::text, p_event_outcome text DEFAULT NULL::text, p_severity text DEFAULT NULL::text, p_since timestamp with time zone DEFAULT NULL::timestamp with time zone, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_limit integer DEFAULT 50, p_offset bigint DEFAULT 0, p_chain text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;


ALTER FUNCTION datastorage.search_audit_events(p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint, p_chain text) OWNER TO datastorage_owner;

--
-- Name: search_workflows(jsonb, integer, numeric, boolean); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.search_workflows(p_filters jsonb, p_top_k integer DEFAULT 10, p_min_score numeric DEFAULT 0, p_include_disabled boolean DEFAULT false) RETURNS TABLE(rank integer, workflow_id uuid, workflow_name text, version text, title text, description text, signal_type text, container_image text, container_digest text, custom_labels jsonb, detected_labels jsonb, detected_label_boost numeric, custom_label_boost numeric, label_boost numeric, label_penalty numeric, final_score numeric, confidence numeric, total_matches bigint, created_at timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
#variable_conflict use_column
DECLARE
    f          jsonb := p_filters;
    d          jsonb;
    failed     jsonb;
    v_sig      text;
    v_sev      text;
    v_comp     text;
    v_env      text;
    v_prio     text;
    v_name     text;
    v_statuses text[];
    q_managed  boolean;
    q_tool     text;
    q_pdb      boolean;
    q_mesh     text;
    q_netiso   boolean;
    q_helm     boolean;
    q_stateful boolean;
    q_hpa      boolean;
    q_keys     text[];
    q_vals     jsonb[];
BEGIN
    IF jsonb_typeof(f) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request',
            MESSAGE = 'filters are required for label-only search';
    END IF;
    v_sig := f ->> 'signal_type';
    v_sev := f ->> 'severity';
    v_comp := f ->> 'component';
    v_env := f ->> 'environment';
    v_prio := f ->> 'priority';
    IF coalesce(v_sig, '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'filters.signal_type is required';
    ELSIF coalesce(v_sev, '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'filters.severity is required';
    ELSIF coalesce(v_comp, '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'filters.component is required';
    ELSIF coalesce(v_env, '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'filters.environment is required';
    ELSIF coalesce(v_prio, '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'filters.priority is required';
    ELSIF p_min_score IS NULL OR p_min_score < 0 OR p_min_score > 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'min_score must be between 0 and 1';
    ELSIF p_top_k IS NULL OR p_top_k < 1 OR p_top_k > 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400', HINT = 'bad-request', MESSAGE = 'top_k must be between 1 and 100';
    END IF;
    v_name := nullif(f ->> 'workflow_name', '');

    IF jsonb_typeof(f -> 'status') = 'array' AND jsonb_array_length(f -> 'status') > 0 THEN
        SELECT array_agg(s) INTO v_statuses FROM jsonb_array_elements_text(f -> 'status') s;
    ELSIF coalesce(p_include_disabled, false) THEN
        v_statuses := ARRAY['active', 'disabled'];
    ELSE
        v_statuses := ARRAY['active'];
    END IF;

    -- Query-side detected labels: a boolean counts only when true, a string
    -- only when non-empty; tool and mesh only within their enums.
    d := CASE WHEN jsonb_typeof(f -> 'detected_labels') = 'object' THEN f -> 'detected_labels' ELSE '{}' END;
    failed := CASE WHEN jsonb_typeof(d -> 'failed_detections') = 'array' THEN d -> 'failed_detections' ELSE '[]' END;
    q_managed  := d ->> 'gitOpsManaged' = 'true' AND NOT failed ? 'gitOpsManaged';
    q_tool     := CASE WHEN d ->> 'gitOpsTool' IN ('argocd', 'flux', '*') AND NOT failed ? 'gitOpsManaged'
                       THEN d ->> 'gitOpsTool' END;
    q_pdb      := d ->> 'pdbProtected' = 'true' AND NOT failed ? 'pdbProtected';
    q_mesh     := CASE WHEN d ->> 'serviceMesh' IN ('istio', 'linkerd', '*') AND NOT failed ? 'serviceMesh'
                       THEN d ->> 'serviceMesh' END;
    q_netiso   := d ->> 'networkIsolated' = 'true' AND NOT failed ? 'networkIsolated';
    q_helm     := d ->> 'helmManaged' = 'true' AND NOT failed ? 'helmManaged';
    q_stateful := d ->> 'stateful' = 'true' AND NOT failed ? 'stateful';
    q_hpa      := d ->> 'hpaEnabled' = 'true' AND NOT failed ? 'hpaEnabled';

    -- Query-side custom labels as (key, value) pairs; one pair per value.
    IF jsonb_typeof(f -> 'custom_labels') = 'object' THEN
        SELECT coalesce(array_agg(e.key ORDER BY e.key, v.n), '{}'),
               coalesce(array_agg(to_jsonb(v.val) ORDER BY e.key, v.n), '{}')
          INTO q_keys, q_vals
          FROM jsonb_each(f -> 'custom_labels') e
          CROSS JOIN LATERAL jsonb_array_elements_text(
              CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value ELSE '[]' END)
              WITH ORDINALITY AS v(val, n);
    ELSE
        q_keys := '{}';
        q_vals := '{}';
    END IF;

    RETURN QUERY
    WITH candidates AS (
        SELECT w.workflow_id, w.workflow_name, w.version, w.name, w.description,
               w.labels ->> 'signal_type' AS signal_type, w.container_image, w.container_digest,
               w.custom_labels, w.detected_labels, w.created_at,
               -- detected-label boost
               (CASE WHEN q_managed AND w.detected_labels ->> 'gitOpsManaged' = 'true' THEN 0.10 ELSE 0 END
              + CASE WHEN q_tool IN ('argocd', 'flux') AND w.detected_labels ->> 'gitOpsTool' = q_tool THEN 0.10
                     WHEN q_tool = '*' AND coalesce(w.detected_labels ->> 'gitOpsTool', '') <> '' THEN 0.05
                     ELSE 0 END
              + CASE WHEN q_pdb AND w.detected_labels ->> 'pdbProtected' = 'true' THEN 0.05 ELSE 0 END
              + CASE WHEN q_mesh IN ('istio', 'linkerd') AND w.detected_labels ->> 'serviceMesh' = q_mesh THEN 0.05
                     WHEN q_mesh = '*' AND coalesce(w.detected_labels ->> 'serviceMesh', '') <> '' THEN 0.03
                     ELSE 0 END
              + CASE WHEN q_netiso AND w.detected_labels ->> 'networkIsolated' = 'true' THEN 0.03 ELSE 0 END
              + CASE WHEN q_helm AND w.detected_labels ->> 'helmManaged' = 'true' THEN 0.02 ELSE 0 END
              + CASE WHEN q_stateful AND w.detected_labels ->> 'stateful' = 'true' THEN 0.02 ELSE 0 END
              + CASE WHEN q_hpa AND w.detected_labels ->> 'hpaEnabled' = 'true' THEN 0.02 ELSE 0 END
               )::numeric AS db,
               -- custom-label boost
               (SELECT coalesce(sum(CASE WHEN w.custom_labels -> q.k @> q.v THEN 0.05
                                         WHEN w.custom_labels -> q.k @> '"*"' THEN 0.03
                                         ELSE 0 END), 0)
                  FROM unnest(q_keys, q_vals) AS q(k, v))::numeric AS cb,
               -- penalty
               (CASE WHEN q_managed AND coalesce(w.detected_labels ->> 'gitOpsManaged', '') <> 'true' THEN 0.10 ELSE 0 END
              + CASE WHEN q_tool IN ('argocd', 'flux')
                          AND (w.detected_labels ->> 'gitOpsTool' IS NULL
                               OR (w.detected_labels ->> 'gitOpsTool' <> q_tool
                                   AND w.detected_labels ->> 'gitOpsTool' <> '')) THEN 0.10
                     ELSE 0 END
               )::numeric AS pen
        FROM public.remediation_workflow_catalog w
        WHERE w.is_latest_version
          AND w.status = ANY (v_statuses)
          AND w.labels ->> 'signal_type' = v_sig
          AND w.labels ->> 'severity' = v_sev
          AND w.labels ->> 'priority' IN (v_prio, '*')
          AND w.labels ->> 'component' IN (v_comp, '*')
          AND (w.labels -> 'environment' ? v_env OR w.labels -> 'environment' ? '*')
          AND (v_name IS NULL OR w.workflow_name = v_name)
    ), scored AS (
        SELECT c.*, least(c.db + c.cb, 0.39) AS lb,
               trim_scale((5.0 + least(c.db + c.cb, 0.39) - c.pen) / 10.0) AS fs,
               5.0 + c.db + c.cb - c.pen AS raw
        FROM candidates c
    ), ranked AS (
        SELECT s.*,
               row_number() OVER (ORDER BY s.fs DESC, s.raw DESC, s.created_at DESC, s.workflow_id)::integer AS rn,
               count(*) OVER () AS total
        FROM scored s
        WHERE s.fs >= p_min_score
    )
    SELECT r.rn, r.workflow_id, r.workflow_name::text, r.version::text, r.name::text, r.description,
           r.signal_type, r.container_image, r.container_digest, r.custom_labels, r.detected_labels,
           trim_scale(r.db), trim_scale(r.cb), trim_scale(r.lb), trim_scale(r.pen), r.fs, r.fs,
           r.total, r.created_at
    FROM ranked r
    ORDER BY r.rn
    LIMIT p_top_k;
END
$$;


ALTER FUNCTION datastorage.search_workflows(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean) OWNER TO datastorage_owner;

--
-- Name: search_workflows_rendered(jsonb, integer, numeric, boolean); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.search_workflows_rendered(p_filters jsonb, p_top_k integer DEFAULT 10, p_min_score numeric DEFAULT 0, p_include_disabled boolean DEFAULT false, OUT workflows text, OUT total_matches bigint, OUT returned integer, OUT audit_results text) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    SELECT '[' || coalesce(string_agg(
               '{"workflow_id":"' || s.workflow_id::text
               || '","title":' || coalesce(to_json(s.title)::text, 'null')
               || ',"description":' || coalesce(to_json(s.description)::text, 'null')
               || ',"signal_type":' || coalesce(to_json(s.signal_type)::text, 'null')
               || CASE WHEN coalesce(s.container_image, '') <> ''
                       THEN ',"container_image":' || to_json(s.container_image)::text ELSE '' END
               || CASE WHEN coalesce(s.container_digest, '') <> ''
                       THEN ',"container_digest":' || to_json(s.container_digest)::text ELSE '' END
               || ',"confidence":' || s.confidence::text
               || ',"label_boost":' || s.label_boost::text
               || ',"label_penalty":' || s.label_penalty::text
               || ',"final_score":' || s.final_score::text
               || ',"rank":' || s.rank::text
               || CASE WHEN s.custom_labels <> '{}'
                       THEN ',"custom_labels":' || s.custom_labels::text ELSE '' END
               || ',"detected_labels":' || s.detected_labels::text || '}',
               ',' ORDER BY s.rank), '') || ']',
           coalesce(max(s.total_matches), 0),
           count(*)::integer,
           '[' || coalesce(string_agg(
               '{"workflow_id":"' || s.workflow_id::text
               || '","title":' || coalesce(to_json(s.title)::text, 'null')
               || ',"rank":' || s.rank::text
               || ',"scoring":{"confidence":' || s.confidence::text || '}'
               || CASE WHEN coalesce(s.description, '') <> ''
                       THEN ',"description":' || to_json(left(s.description, 2048))::text ELSE '' END
               || '}',
               ',' ORDER BY s.rank), '') || ']'
    INTO workflows, total_matches, returned, audit_results
    FROM datastorage.search_workflows(p_filters, p_top_k, p_min_score, p_include_disabled) s;
END
$$;


ALTER FUNCTION datastorage.search_workflows_rendered(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean, OUT workflows text, OUT total_matches bigint, OUT returned integer, OUT audit_results text) OWNER TO datastorage_owner;

--
-- Name: set_workflow_status(uuid, text, text, text, text, jsonb); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.set_workflow_status(p_workflow_id uuid, p_status text DEFAULT NULL::text, p_disabled_by text DEFAULT NULL::text, p_disabled_reason text DEFAULT NULL::text, p_actor text DEFAULT NULL::text, p_event jsonb DEFAULT NULL::jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    w public.remediation_workflow_catalog;
BEGIN
    IF p_status IS NOT NULL AND p_status NOT IN ('active', 'disabled', 'deprecated', 'archived') THEN
        RAISE EXCEPTION USING ERRCODE = 'DS400',
            MESSAGE = format('status must be one of active, disabled, deprecated, archived (got %s)', p_status);
    END IF;
    SELECT * INTO w FROM public.remediation_workflow_catalog c WHERE c.workflow_id = p_workflow_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'DS404', MESSAGE = format('Workflow not found: %s', p_workflow_id);
    END IF;

    IF p_status = 'disabled' THEN
        UPDATE public.remediation_workflow_catalog c
           SET status = 'disabled', disabled_at = now(),
               disabled_by = coalesce(p_disabled_by, ''),
               disabled_reason = coalesce(p_disabled_reason, ''),
               status_reason = coalesce(p_disabled_reason, ''),
               updated_by = coalesce(p_actor, nullif(p_disabled_by, ''), c.updated_by)
         WHERE c.workflow_id = p_workflow_id
        RETURNING * INTO w;
    ELSIF p_status IS NOT NULL THEN
        UPDATE public.remediation_workflow_catalog c
           SET status = p_status, disabled_at = NULL, disabled_by = NULL, disabled_reason = NULL,
               status_reason = NULL, updated_by = coalesce(p_actor, c.updated_by)
         WHERE c.workflow_id = p_workflow_id
        RETURNING * INTO w;
    ELSE
        UPDATE public.remediation_workflow_catalog c SET updated_by = coalesce(p_actor, c.updated_by)
         WHERE c.workflow_id = p_workflow_id
        RETURNING * INTO w;
    END IF;

    IF p_event IS NOT NULL THEN
        IF jsonb_typeof(p_event) = 'array' AND jsonb_array_length(p_event) = 1
           AND jsonb_typeof(p_event #> '{0,event_data,updated_fields}') = 'object'
           AND NOT (p_event #> '{0,event_data,updated_fields}') ? 'status' THEN
            p_event := jsonb_set(p_event, '{0,event_data,updated_fields,status}', to_jsonb(w.status));
        END IF;
        PERFORM datastorage.append_audit_events(p_event);
    END IF;
    RETURN datastorage.workflow_json(w);
END
$$;


ALTER FUNCTION datastorage.set_workflow_status(p_workflow_id uuid, p_status text, p_disabled_by text, p_disabled_reason text, p_actor text, p_event jsonb) OWNER TO datastorage_owner;

--
-- Name: tlog_capture(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_capture() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    INSERT INTO public.tlog_outbox (event_id, correlation_id, event_hash)
    SELECT n.event_id, n.correlation_id, n.event_hash FROM new_rows n;
    RETURN NULL;
END
$$;


ALTER FUNCTION datastorage.tlog_capture() OWNER TO datastorage_owner;

--
-- Name: tlog_check_size(text, bigint, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_check_size(p_name text, p_size bigint, p_min bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    cur bigint := datastorage.tlog_size();
BEGIN
    IF p_size IS NULL OR p_size < p_min OR p_size > cur THEN
        RAISE EXCEPTION '% must be between % and the log size %, got %', p_name, p_min, cur,
                        coalesce(p_size::text, 'nothing')
            USING ERRCODE = 'DS400', HINT = 'validation-error',
                  DETAIL = pg_catalog.json_build_object(p_name, p_size, 'log_size', cur)::text;
    END IF;
END
$$;


ALTER FUNCTION datastorage.tlog_check_size(p_name text, p_size bigint, p_min bigint) OWNER TO datastorage_owner;

--
-- Name: tlog_consistency(bigint, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_consistency(p_first bigint, p_second bigint) RETURNS TABLE(first bigint, second bigint, first_root bytea, second_root bytea, proof bytea[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT p_first, p_second, datastorage.tlog_root(p_first), datastorage.tlog_root(p_second),
           datastorage.tlog_consistency_proof(p_first, p_second)
$$;


ALTER FUNCTION datastorage.tlog_consistency(p_first bigint, p_second bigint) OWNER TO datastorage_owner;

--
-- Name: tlog_consistency_proof(bigint, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_consistency_proof(p_first bigint, p_second bigint) RETURNS bytea[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    lo       bigint := 0;
    hi       bigint := p_second;
    m        bigint := p_first;
    complete boolean := true;
    k        bigint;
    proof    bytea[] := '{}';
BEGIN
    PERFORM datastorage.tlog_check_size('second', p_second, 1);
    IF p_first IS NULL OR p_first < 1 OR p_first > p_second THEN
        RAISE EXCEPTION 'first must be between 1 and second (%), got %', p_second,
                        coalesce(p_first::text, 'nothing')
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    LOOP
        IF m = hi - lo THEN
            IF NOT complete THEN
                proof := datastorage.tlog_subtree(lo, hi) || proof;
            END IF;
            RETURN proof;
        END IF;
        k := datastorage.tlog_split(hi - lo);
        IF m <= k THEN
            proof := datastorage.tlog_subtree(lo + k, hi) || proof;
            hi := lo + k;
        ELSE
            proof := datastorage.tlog_subtree(lo, lo + k) || proof;
            lo := lo + k;
            m := m - k;
            complete := false;
        END IF;
    END LOOP;
END
$$;


ALTER FUNCTION datastorage.tlog_consistency_proof(p_first bigint, p_second bigint) OWNER TO datastorage_owner;

--
-- Name: tlog_entry_bundle(bigint, integer); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_entry_bundle(p_index bigint, p_width integer) RETURNS bytea
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    PERFORM datastorage.tlog_tile_check(0, p_index, p_width);
    RETURN (SELECT pg_catalog.string_agg(
                       pg_catalog.int2send(pg_catalog.length(x.leaf)::smallint) || x.leaf, ''::bytea
                       ORDER BY x.leaf_index)
              FROM (SELECT l.leaf_index,
                           datastorage.tlog_leaf(l.event_id, l.event_hash, l.correlation_id) AS leaf
                      FROM public.tlog_leaves l
                     WHERE l.leaf_index >= p_index * 256 AND l.leaf_index < p_index * 256 + p_width) x);
END
$$;


ALTER FUNCTION datastorage.tlog_entry_bundle(p_index bigint, p_width integer) OWNER TO datastorage_owner;

--
-- Name: tlog_event_proof(uuid, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_event_proof(p_event_id uuid, p_tree_size bigint DEFAULT NULL::bigint) RETURNS TABLE(event_id uuid, correlation_id text, event_hash text, leaf_index bigint, tree_size bigint, leaf_hash bytea, root_hash bytea, proof bytea[])
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    leaf public.tlog_leaves;
    size bigint := p_tree_size;
BEGIN
    SELECT * INTO leaf FROM public.tlog_leaves l WHERE l.event_id = p_event_id;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM public.audit_events a WHERE a.event_id = p_event_id) THEN
            RAISE EXCEPTION 'event % is stored but not yet in the transparency log; retry shortly',
                            p_event_id
                USING ERRCODE = 'DS404', HINT = 'not-found';
        END IF;
        RAISE EXCEPTION 'event % is not in the transparency log', p_event_id
            USING ERRCODE = 'DS404', HINT = 'not-found';
    END IF;
    IF size IS NULL THEN
        size := coalesce((SELECT c.tree_size FROM public.tlog_checkpoints c ORDER BY c.id DESC LIMIT 1),
                         datastorage.tlog_size());
    END IF;
    IF leaf.leaf_index >= size THEN
        RAISE EXCEPTION 'event % is leaf % and not in a tree of size %', p_event_id, leaf.leaf_index, size
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    RETURN QUERY SELECT leaf.event_id, leaf.correlation_id::text, leaf.event_hash, leaf.leaf_index,
                        size, leaf.leaf_hash, datastorage.tlog_root(size),
                        datastorage.tlog_inclusion_proof(leaf.leaf_index, size);
END
$$;


ALTER FUNCTION datastorage.tlog_event_proof(p_event_id uuid, p_tree_size bigint) OWNER TO datastorage_owner;

--
-- Name: tlog_export_proofs(uuid[]); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_export_proofs(p_event_ids uuid[]) RETURNS TABLE(checkpoint text, proofs jsonb)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT c.note,
           coalesce((SELECT pg_catalog.jsonb_object_agg(l.event_id::text, pg_catalog.jsonb_build_object(
                         'leaf_index', l.leaf_index,
                         'proof', (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.encode(h, 'base64')
                                                                        ORDER BY o), '[]')
                                   FROM pg_catalog.unnest(datastorage.tlog_inclusion_proof(l.leaf_index,
                                                                                           c.tree_size))
                                        WITH ORDINALITY AS x(h, o))))
                     FROM public.tlog_leaves l
                     WHERE l.event_id = ANY (p_event_ids) AND l.leaf_index < c.tree_size), '{}')
    FROM (SELECT * FROM public.tlog_checkpoints ORDER BY id DESC LIMIT 1) c
$$;


ALTER FUNCTION datastorage.tlog_export_proofs(p_event_ids uuid[]) OWNER TO datastorage_owner;

--
-- Name: tlog_head(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_head(OUT tree_size bigint, OUT root_hash bytea) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    tree_size := datastorage.tlog_size();
    root_hash := datastorage.tlog_subtree(0, tree_size);
END
$$;


ALTER FUNCTION datastorage.tlog_head(OUT tree_size bigint, OUT root_hash bytea) OWNER TO datastorage_owner;

--
-- Name: tlog_inclusion_proof(bigint, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_inclusion_proof(p_leaf_index bigint, p_tree_size bigint) RETURNS bytea[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    lo    bigint := 0;
    hi    bigint := p_tree_size;
    k     bigint;
    proof bytea[] := '{}';
BEGIN
    PERFORM datastorage.tlog_check_size('tree_size', p_tree_size, 1);
    IF p_leaf_index IS NULL OR p_leaf_index < 0 OR p_leaf_index >= p_tree_size THEN
        RAISE EXCEPTION 'leaf index % is not in a tree of size %', p_leaf_index, p_tree_size
            USING ERRCODE = 'DS400', HINT = 'validation-error';
    END IF;
    WHILE hi - lo > 1 LOOP
        k := datastorage.tlog_split(hi - lo);
        IF p_leaf_index < lo + k THEN
            proof := datastorage.tlog_subtree(lo + k, hi) || proof;
            hi := lo + k;
        ELSE
            proof := datastorage.tlog_subtree(lo, lo + k) || proof;
            lo := lo + k;
        END IF;
    END LOOP;
    RETURN proof;
END
$$;


ALTER FUNCTION datastorage.tlog_inclusion_proof(p_leaf_index bigint, p_tree_size bigint) OWNER TO datastorage_owner;

--
-- Name: tlog_integrate(integer); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_integrate(p_max_batch integer DEFAULT 50000) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '64MB'
    AS $$
DECLARE
    s   bigint;
    e   bigint;
    n   bigint;
    lvl integer := 1;
    queued_ids  uuid[];
    queued_seqs bigint[];
    repeats     bigint[];
BEGIN
    IF p_max_batch IS NULL OR p_max_batch < 1 THEN
        RAISE EXCEPTION 'max_batch must be a positive integer' USING ERRCODE = 'DS400';
    END IF;
    -- 'tlog': one integrator across every replica; the others return at once.
    IF NOT pg_catalog.pg_try_advisory_xact_lock(1953263463) THEN
        RETURN 0;
    END IF;
    s := datastorage.tlog_size();
    BEGIN
        n := datastorage.tlog_take(s, p_max_batch);
    EXCEPTION WHEN unique_violation THEN
        -- An event offered twice (it is already a leaf, or queued twice: a
        -- second row with its event_id inserted past the append function).
        -- Rare, so checked only then: drop the repeats and take again. On a
        -- Citus cluster, also the same id appended in two chains (ids are
        -- unique per chain there, docs/scaling-out.md): the first is the
        -- leaf. In steps, the queue read once: Citus cannot join the outbox
        -- (distributed by chain) with itself on event_id, nor with the leaves.
        SELECT array_agg(o.event_id), array_agg(o.seq) INTO queued_ids, queued_seqs
          FROM public.tlog_outbox o;
        SELECT array_agg(t.seq) INTO repeats
          FROM (SELECT u.event_id, u.seq,
                       pg_catalog.row_number() OVER (PARTITION BY u.event_id ORDER BY u.seq) AS nth
                  FROM unnest(queued_ids, queued_seqs) AS u(event_id, seq)) t
         WHERE t.nth > 1 OR EXISTS (SELECT 1 FROM public.tlog_leaves l WHERE l.event_id = t.event_id);
        DELETE FROM public.tlog_outbox o WHERE o.seq = ANY (repeats);
        n := datastorage.tlog_take(s, p_max_batch);
    END;
    e := s + n;
    -- Level by level, the nodes whose subtree the batch completed:
    -- (lvl, i) for i in [s >> lvl, e >> lvl), from children 2i and 2i+1.
    WHILE (e >> lvl) > (s >> lvl) LOOP
        IF lvl = 1 THEN
            INSERT INTO public.tlog_nodes (level, idx, hash)
            SELECT 1, c.i >> 1, c.h FROM (
                SELECT l.leaf_index AS i,
                       datastorage.tlog_node_hash(l.leaf_hash,
                                                  pg_catalog.lead(l.leaf_hash) OVER (ORDER BY l.leaf_index)) AS h
                  FROM public.tlog_leaves l
                 WHERE l.leaf_index >= (s >> 1) << 1 AND l.leaf_index < (e >> 1) << 1) c
             WHERE c.i % 2 = 0;
        ELSE
            INSERT INTO public.tlog_nodes (level, idx, hash)
            SELECT lvl, c.i >> 1, c.h FROM (
                SELECT d.idx AS i,
                       datastorage.tlog_node_hash(d.hash, pg_catalog.lead(d.hash) OVER (ORDER BY d.idx)) AS h
                  FROM public.tlog_nodes d
                 WHERE d.level = lvl - 1
                   AND d.idx >= (s >> lvl) << 1 AND d.idx < (e >> lvl) << 1) c
             WHERE c.i % 2 = 0;
        END IF;
        lvl := lvl + 1;
    END LOOP;
    RETURN n;
END
$$;


ALTER FUNCTION datastorage.tlog_integrate(p_max_batch integer) OWNER TO datastorage_owner;

--
-- Name: tlog_latest_checkpoint(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_latest_checkpoint() RETURNS TABLE(tree_size bigint, root_hash bytea, note text, signed_at timestamp with time zone)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT c.tree_size, c.root_hash, c.note, c.signed_at
      FROM public.tlog_checkpoints c ORDER BY c.id DESC LIMIT 1
$$;


ALTER FUNCTION datastorage.tlog_latest_checkpoint() OWNER TO datastorage_owner;

--
-- Name: tlog_leaf(uuid, text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_leaf(p_event_id uuid, p_event_hash text, p_correlation_id text) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT pg_catalog.convert_to(p_event_id::text || E'\n' || coalesce(p_event_hash, '')
                                 || E'\n' || p_correlation_id, 'UTF8')
$$;


ALTER FUNCTION datastorage.tlog_leaf(p_event_id uuid, p_event_hash text, p_correlation_id text) OWNER TO datastorage_owner;

--
-- Name: tlog_leaf_hash(uuid, text, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_leaf_hash(p_event_id uuid, p_event_hash text, p_correlation_id text) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT pg_catalog.sha256('\x00'::bytea
                             || datastorage.tlog_leaf(p_event_id, p_event_hash, p_correlation_id))
$$;


ALTER FUNCTION datastorage.tlog_leaf_hash(p_event_id uuid, p_event_hash text, p_correlation_id text) OWNER TO datastorage_owner;

--
-- Name: tlog_node_hash(bytea, bytea); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_node_hash(p_left bytea, p_right bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT pg_catalog.sha256('\x01'::bytea || p_left || p_right)
$$;


ALTER FUNCTION datastorage.tlog_node_hash(p_left bytea, p_right bytea) OWNER TO datastorage_owner;

--
-- Name: tlog_record_checkpoint(bigint, bytea, text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_record_checkpoint(p_tree_size bigint, p_root_hash bytea, p_note text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF datastorage.tlog_root(p_tree_size) IS DISTINCT FROM p_root_hash THEN
        RAISE EXCEPTION 'root hash does not match the log at size %', p_tree_size
            USING ERRCODE = 'DS409', HINT = 'conflict';
    END IF;
    INSERT INTO public.tlog_checkpoints (tree_size, root_hash, note)
    VALUES (p_tree_size, p_root_hash, p_note)
    ON CONFLICT (note) DO NOTHING;
    RETURN FOUND;
END
$$;


ALTER FUNCTION datastorage.tlog_record_checkpoint(p_tree_size bigint, p_root_hash bytea, p_note text) OWNER TO datastorage_owner;

--
-- Name: tlog_refuse_change(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION '% of % is not allowed: the transparency log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = '55000';
END
$$;


ALTER FUNCTION datastorage.tlog_refuse_change() OWNER TO datastorage_owner;

--
-- Name: tlog_root(bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_root(p_tree_size bigint) RETURNS bytea
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    PERFORM datastorage.tlog_check_size('tree_size', p_tree_size, 0);
    RETURN datastorage.tlog_subtree(0, p_tree_size);
END
$$;


ALTER FUNCTION datastorage.tlog_root(p_tree_size bigint) OWNER TO datastorage_owner;

--
-- Name: tlog_size(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_size() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT coalesce(max(l.leaf_index) + 1, 0) FROM public.tlog_leaves l
$$;


ALTER FUNCTION datastorage.tlog_size() OWNER TO datastorage_owner;

--
-- Name: tlog_split(bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_split(n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT 1::bigint << (pg_catalog.length(pg_catalog.ltrim((n - 1)::bit(64)::text, '0')) - 1)
$$;


ALTER FUNCTION datastorage.tlog_split(n bigint) OWNER TO datastorage_owner;

--
-- Name: tlog_subtree(bigint, bigint); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_subtree(p_lo bigint, p_hi bigint) RETURNS bytea
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    width bigint := p_hi - p_lo;
    k     bigint := 1;
    lvl   integer := 0;
    h     bytea;
BEGIN
    IF width <= 0 THEN
        RETURN pg_catalog.sha256(''::bytea);
    END IF;
    WHILE k * 2 <= width LOOP
        k := k * 2;
        lvl := lvl + 1;
    END LOOP;
    IF k = width AND p_lo % k = 0 THEN
        IF lvl = 0 THEN
            SELECT l.leaf_hash INTO h FROM public.tlog_leaves l WHERE l.leaf_index = p_lo;
        ELSE
            SELECT d.hash INTO h FROM public.tlog_nodes d WHERE d.level = lvl AND d.idx = p_lo / k;
        END IF;
        IF h IS NULL THEN
            RAISE EXCEPTION 'transparency log node (%, %) is missing', lvl, p_lo / k
                USING ERRCODE = 'XX001';
        END IF;
        RETURN h;
    END IF;
    IF k = width THEN
        k := k / 2;
    END IF;
    RETURN datastorage.tlog_node_hash(datastorage.tlog_subtree(p_lo, p_lo + k),
                                      datastorage.tlog_subtree(p_lo + k, p_hi));
END
$$;


ALTER FUNCTION datastorage.tlog_subtree(p_lo bigint, p_hi bigint) OWNER TO datastorage_owner;

--
-- Name: tlog_take(bigint, integer); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_take(s bigint, p_max_batch integer) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    n bigint;
BEGIN
    WITH taken AS (
        DELETE FROM public.tlog_outbox o
         WHERE o.seq IN (SELECT b.seq FROM public.tlog_outbox b ORDER BY b.seq LIMIT p_max_batch)
        RETURNING o.seq, o.event_id, o.correlation_id, o.event_hash)
    INSERT INTO public.tlog_leaves (leaf_index, event_id, correlation_id, event_hash, leaf_hash)
    SELECT s + pg_catalog.row_number() OVER (ORDER BY t.seq) - 1, t.event_id, t.correlation_id,
           t.event_hash, datastorage.tlog_leaf_hash(t.event_id, t.event_hash, t.correlation_id)
      FROM taken t;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;


ALTER FUNCTION datastorage.tlog_take(s bigint, p_max_batch integer) OWNER TO datastorage_owner;

--
-- Name: tlog_tile(integer, bigint, integer); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_tile(p_level integer, p_index bigint, p_width integer) RETURNS bytea
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    lo bigint := p_index * 256;
BEGIN
    PERFORM datastorage.tlog_tile_check(p_level, p_index, p_width);
    IF p_level = 0 THEN
        RETURN (SELECT pg_catalog.string_agg(l.leaf_hash, ''::bytea ORDER BY l.leaf_index)
                  FROM public.tlog_leaves l
                 WHERE l.leaf_index >= lo AND l.leaf_index < lo + p_width);
    END IF;
    RETURN (SELECT pg_catalog.string_agg(d.hash, ''::bytea ORDER BY d.idx)
              FROM public.tlog_nodes d
             WHERE d.level = 8 * p_level AND d.idx >= lo AND d.idx < lo + p_width);
END
$$;


ALTER FUNCTION datastorage.tlog_tile(p_level integer, p_index bigint, p_width integer) OWNER TO datastorage_owner;

--
-- Name: tlog_tile_check(integer, bigint, integer); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.tlog_tile_check(p_level integer, p_index bigint, p_width integer) RETURNS void
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    IF p_level NOT BETWEEN 0 AND 7 OR p_index < 0 OR p_width NOT BETWEEN 1 AND 256
       OR p_index > (1::bigint << 54) THEN
        RAISE EXCEPTION 'no such tile' USING ERRCODE = 'DS404', HINT = 'not-found';
    END IF;
    IF (p_index * 256 + p_width) > (datastorage.tlog_size() >> (8 * p_level)) THEN
        RAISE EXCEPTION 'tile %/% of width % is beyond the log', p_level, p_index, p_width
            USING ERRCODE = 'DS404', HINT = 'not-found';
    END IF;
END
$$;


ALTER FUNCTION datastorage.tlog_tile_check(p_level integer, p_index bigint, p_width integer) OWNER TO datastorage_owner;

--
-- Name: verify_chain(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.verify_chain(p_correlation_id text) RETURNS TABLE(chain_seq bigint, event_id uuid, event_timestamp timestamp with time zone, event_hash text, previous_event_hash text, expected_hash text, expected_previous_hash text, valid boolean, verdict text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET work_mem TO '64MB'
    SET parallel_setup_cost TO '100'
    SET parallel_tuple_cost TO '0.01'
    SET min_parallel_table_scan_size TO '64kB'
    SET min_parallel_index_scan_size TO '64kB'
    AS $$
    SELECT v.chain_seq, v.event_id, v.event_timestamp, v.event_hash, v.previous_event_hash,
           v.expected_hash, v.expected_previous_hash, v.valid, v.verdict
    FROM datastorage.chain_verdicts(ARRAY[p_correlation_id], false) v
    ORDER BY v.chain_seq, v.event_id
$$;


ALTER FUNCTION datastorage.verify_chain(p_correlation_id text) OWNER TO datastorage_owner;

--
-- Name: verify_chain_summary(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.verify_chain_summary(p_correlation_id text) RETURNS TABLE(correlation_id text, total_events bigint, valid_events bigint, broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid, tampered_event_ids uuid[], head_matches boolean, is_valid boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT s.correlation_id, s.total_events, s.valid_events, s.broken_events, s.first_broken_seq,
           s.first_broken_event_id,
           ARRAY(SELECT (b ->> 'event_id')::uuid FROM jsonb_array_elements(s.broken) b),
           s.head_matches, s.is_valid
    FROM datastorage.verify_chains(ARRAY[p_correlation_id]) s
$$;


ALTER FUNCTION datastorage.verify_chain_summary(p_correlation_id text) OWNER TO datastorage_owner;

--
-- Name: verify_chains(text[]); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.verify_chains(p_correlation_ids text[]) RETURNS TABLE(correlation_id text, total_events bigint, valid_events bigint, broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid, head_seq bigint, head_hash text, head_matches boolean, is_valid boolean, broken jsonb, pruned_events bigint, expired boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    SET work_mem TO '64MB'
    SET parallel_setup_cost TO '100'
    SET parallel_tuple_cost TO '0.01'
    SET min_parallel_table_scan_size TO '64kB'
    SET min_parallel_index_scan_size TO '64kB'
    AS $$
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


ALTER FUNCTION datastorage.verify_chains(p_correlation_ids text[]) OWNER TO datastorage_owner;

--
-- Name: verify_one_chain(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.verify_one_chain(p_correlation_id text) RETURNS TABLE(correlation_id text, total_events bigint, valid_events bigint, broken_events bigint, first_broken_seq bigint, first_broken_event_id uuid, head_seq bigint, head_hash text, head_matches boolean, is_valid boolean, broken jsonb, pruned_events bigint, expired boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT * FROM datastorage.verify_chains(ARRAY[p_correlation_id])
$$;


ALTER FUNCTION datastorage.verify_one_chain(p_correlation_id text) OWNER TO datastorage_owner;

--
-- Name: remediation_workflow_catalog; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.remediation_workflow_catalog (
    workflow_id uuid DEFAULT gen_random_uuid() NOT NULL,
    workflow_name character varying(255) NOT NULL,
    version character varying(50) NOT NULL,
    name character varying(255) NOT NULL,
    description text NOT NULL,
    owner character varying(255),
    maintainer character varying(255),
    content text NOT NULL,
    content_hash character varying(64) NOT NULL,
    parameters jsonb,
    execution_engine text DEFAULT 'tekton'::text NOT NULL,
    container_image text,
    container_digest text,
    labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    custom_labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    detected_labels jsonb DEFAULT '{}'::jsonb NOT NULL,
    status character varying(20) DEFAULT 'active'::character varying NOT NULL,
    status_reason text,
    disabled_at timestamp with time zone,
    disabled_by character varying(255),
    disabled_reason text,
    is_latest_version boolean DEFAULT false NOT NULL,
    previous_version character varying(50),
    deprecation_notice text,
    version_notes text,
    change_summary text,
    approved_by character varying(255),
    approved_at timestamp with time zone,
    expected_success_rate numeric,
    expected_duration_seconds integer,
    actual_success_rate numeric,
    total_executions integer DEFAULT 0,
    successful_executions integer DEFAULT 0,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by character varying(255),
    updated_by character varying(255),
    CONSTRAINT workflow_actual_success_rate_range CHECK (((actual_success_rate IS NULL) OR ((actual_success_rate >= (0)::numeric) AND (actual_success_rate <= (1)::numeric)))),
    CONSTRAINT workflow_custom_labels_object CHECK ((jsonb_typeof(custom_labels) = 'object'::text)),
    CONSTRAINT workflow_detected_labels_object CHECK ((jsonb_typeof(detected_labels) = 'object'::text)),
    CONSTRAINT workflow_expected_duration_nonnegative CHECK (((expected_duration_seconds IS NULL) OR (expected_duration_seconds >= 0))),
    CONSTRAINT workflow_expected_success_rate_range CHECK (((expected_success_rate IS NULL) OR ((expected_success_rate >= (0)::numeric) AND (expected_success_rate <= (1)::numeric)))),
    CONSTRAINT workflow_labels_shape CHECK (((jsonb_typeof(labels) = 'object'::text) AND (jsonb_typeof((labels -> 'environment'::text)) = 'array'::text) AND (labels ?& ARRAY['signal_type'::text, 'severity'::text, 'component'::text, 'environment'::text, 'priority'::text]))),
    CONSTRAINT workflow_status_check CHECK (((status)::text = ANY ((ARRAY['active'::character varying, 'disabled'::character varying, 'deprecated'::character varying, 'archived'::character varying])::text[]))),
    CONSTRAINT workflow_successful_executions_range CHECK (((successful_executions >= 0) AND (successful_executions <= total_executions))),
    CONSTRAINT workflow_total_executions_nonnegative CHECK ((total_executions >= 0))
);


ALTER TABLE public.remediation_workflow_catalog OWNER TO datastorage_owner;

--
-- Name: workflow_json(public.remediation_workflow_catalog); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.workflow_json(w public.remediation_workflow_catalog) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT datastorage.jsonb_drop_null_members(jsonb_build_object(
        'workflow_id',               w.workflow_id,
        'workflow_name',             w.workflow_name,
        'version',                   w.version,
        'name',                      w.name,
        'description',               w.description,
        'owner',                     w.owner,
        'maintainer',                w.maintainer,
        'content',                   w.content,
        'content_hash',              w.content_hash,
        'parameters',                w.parameters,
        'execution_engine',          w.execution_engine,
        'container_image',           w.container_image,
        'container_digest',          w.container_digest,
        'labels',                    w.labels,
        'custom_labels',             nullif(w.custom_labels, '{}'::jsonb),
        'detected_labels',           w.detected_labels,
        'status',                    w.status,
        'status_reason',             w.status_reason,
        'disabled_at',               datastorage.rfc3339(w.disabled_at),
        'disabled_by',               w.disabled_by,
        'disabled_reason',           w.disabled_reason,
        'is_latest_version',         w.is_latest_version,
        'previous_version',          w.previous_version,
        'deprecation_notice',        w.deprecation_notice,
        'version_notes',             w.version_notes,
        'change_summary',            w.change_summary,
        'approved_by',               w.approved_by,
        'approved_at',               datastorage.rfc3339(w.approved_at),
        'expected_success_rate',     trim_scale(w.expected_success_rate),
        'expected_duration_seconds', w.expected_duration_seconds,
        'actual_success_rate',       trim_scale(w.actual_success_rate),
        'total_executions',          coalesce(w.total_executions, 0),
        'successful_executions',     coalesce(w.successful_executions, 0),
        'created_at',                datastorage.rfc3339(w.created_at),
        'updated_at',                datastorage.rfc3339(w.updated_at),
        'created_by',                w.created_by,
        'updated_by',                w.updated_by))
$$;


ALTER FUNCTION datastorage.workflow_json(w public.remediation_workflow_catalog) OWNER TO datastorage_owner;

--
-- Name: workflow_touch_updated_at(); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.workflow_touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;


ALTER FUNCTION datastorage.workflow_touch_updated_at() OWNER TO datastorage_owner;

--
-- Name: workflow_versions(text); Type: FUNCTION; Schema: datastorage; Owner: datastorage_owner
--

CREATE FUNCTION datastorage.workflow_versions(p_workflow_name text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT jsonb_build_object(
        'workflow_name', p_workflow_name,
        'versions', coalesce(jsonb_agg(datastorage.workflow_json(c)
                                       ORDER BY c.created_at DESC, c.workflow_id DESC), '[]'),
        'total', count(*))
    FROM public.remediation_workflow_catalog c
    WHERE c.workflow_name = p_workflow_name
$$;


ALTER FUNCTION datastorage.workflow_versions(p_workflow_name text) OWNER TO datastorage_owner;

--
-- Name: audit_partitions(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.audit_partitions() RETURNS SETOF regclass
    LANGUAGE sql STABLE
    AS $$
    SELECT t.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass('public.audit_events')) t
    WHERE t.level OPERATOR(pg_catalog.>) 0
$$;


ALTER FUNCTION datastorage_guard.audit_partitions() OWNER TO postgres;

--
-- Name: before_ddl(boolean); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.before_ddl(p_held boolean) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    listed boolean := NOT datastorage_guard.guards_intact();
BEGIN
    RETURN jsonb_build_object('held', CASE WHEN p_held THEN datastorage_guard.held_partitions()
                                           ELSE '[]' END,
                              'listed', listed,
                              'violations', CASE WHEN listed
                                                 THEN to_jsonb(ARRAY(SELECT datastorage_guard.violations()))
                                                 ELSE '[]' END);
END
$$;


ALTER FUNCTION datastorage_guard.before_ddl(p_held boolean) OWNER TO postgres;

--
-- Name: check_guards(jsonb); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.check_guards(p_before jsonb) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    h jsonb;
    c record;
    bad text;
BEGIN
    FOR h IN SELECT * FROM jsonb_array_elements(coalesce(p_before -> 'held', '[]')) LOOP
        SELECT x.oid, x.oid::regclass::text AS name INTO c
        FROM pg_catalog.pg_class x WHERE x.oid = (h ->> 'oid')::oid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Cannot drop %: it holds events under legal hold', h ->> 'name'
                USING ERRCODE = '23503';
        ELSIF c.name <> h ->> 'name' THEN
            RAISE EXCEPTION 'Cannot rename or move %: it holds events under legal hold', h ->> 'name'
                USING ERRCODE = '23503';
        ELSIF NOT EXISTS (SELECT 1 FROM datastorage_guard.audit_partitions() p WHERE p = c.oid) THEN
            RAISE EXCEPTION 'Cannot detach %: it holds events under legal hold', h ->> 'name'
                USING ERRCODE = '23503';
        END IF;
    END LOOP;
    SELECT v INTO bad FROM datastorage_guard.violations() v
    WHERE NOT coalesce(p_before -> 'violations', '[]') ? v
    LIMIT 1;
    IF FOUND AND coalesce((p_before ->> 'listed')::boolean, true) THEN
        RAISE EXCEPTION '%', bad USING ERRCODE = '42501';
    ELSIF FOUND THEN
        RAISE EXCEPTION '%', bad USING ERRCODE = '42501',
            HINT = 'Refused as this command''s doing. If a superuser made this change with the '
                   'event triggers off, SELECT datastorage_guard.note_guards() first.';
    END IF;
END
$$;


ALTER FUNCTION datastorage_guard.check_guards(p_before jsonb) OWNER TO postgres;

--
-- Name: ddl_end(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.ddl_end() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    before jsonb;
BEGIN
    PERFORM datastorage_guard.install_truncate_guards();
    IF datastorage_guard.is_superuser() THEN
        PERFORM datastorage_guard.forget_guards();
    ELSE
        before := coalesce(nullif(current_setting('datastorage_guard.before', true), ''), '{}')::jsonb;
        PERFORM datastorage_guard.check_guards(before);
        -- Violations were there before it: are they still?
        IF (before ->> 'listed')::boolean THEN
            PERFORM datastorage_guard.note_guards();
        END IF;
    END IF;
END
$$;


ALTER FUNCTION datastorage_guard.ddl_end() OWNER TO postgres;

--
-- Name: ddl_start(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.ddl_start() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    -- Only these commands can drop, detach, rename or move a partition; the
    -- others skip reading every partition (on a Citus cluster that read
    -- would fan out to the shards the command is about to change).
    removes boolean := TG_TAG IN ('ALTER TABLE', 'DROP TABLE', 'DROP SCHEMA', 'ALTER SCHEMA',
                                  'DROP OWNED');
BEGIN
    IF NOT datastorage_guard.is_superuser() THEN
        IF removes THEN
            PERFORM datastorage_guard.freeze_holds();
        END IF;
        -- DETACH ... CONCURRENTLY commits its first half before any end
        -- check could refuse it: not while anything is held.
        IF TG_TAG = 'ALTER TABLE' AND current_query() ~* '\mdetach\M.*\mconcurrently\M'
           AND datastorage_guard.held_partitions() <> '[]' THEN
            RAISE EXCEPTION 'DETACH PARTITION CONCURRENTLY is refused while events are under legal hold'
                USING ERRCODE = '23503', HINT = 'Detach without CONCURRENTLY.';
        END IF;
        PERFORM set_config('datastorage_guard.before', datastorage_guard.before_ddl(removes)::text, true);
    END IF;
END
$$;


ALTER FUNCTION datastorage_guard.ddl_start() OWNER TO postgres;

--
-- Name: delete_refused_when(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.delete_refused_when() RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT '(old.legal_hold OR (NOT COALESCE(((old.retention_days < ((NULLIF(current_setting('
           '''datastorage.retention_cutoff''::text, true), ''''::text))::date - old.event_date)) '
           'AND (old.retention_days < (((now() AT TIME ZONE ''UTC''::text))::date - '
           'old.event_date))), false)))'
$$;


ALTER FUNCTION datastorage_guard.delete_refused_when() OWNER TO postgres;

--
-- Name: expected_triggers(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.expected_triggers() RETURNS TABLE(rel regclass, tgname name, fn regprocedure)
    LANGUAGE sql STABLE
    AS $$
    WITH g AS MATERIALIZED (SELECT s.tbl, s.tgname, s.fn FROM datastorage_guard.guard_trigger_shapes() s)
    SELECT r.rel, g.tgname, g.fn
    FROM (SELECT 'audit_events' AS tbl, pg_catalog.to_regclass('public.audit_events') AS rel
          UNION ALL SELECT 'audit_events', p FROM datastorage_guard.audit_partitions() p
          UNION ALL SELECT 'audit_chain_heads', pg_catalog.to_regclass('public.audit_chain_heads')
          UNION ALL SELECT 'audit_legal_holds', pg_catalog.to_regclass('public.audit_legal_holds')) r
    JOIN g ON g.tbl OPERATOR(pg_catalog.=) r.tbl
$$;


ALTER FUNCTION datastorage_guard.expected_triggers() OWNER TO postgres;

--
-- Name: forget_guards(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.forget_guards() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    UPDATE datastorage_guard.ddl_state SET intact = false WHERE intact;
END
$$;


ALTER FUNCTION datastorage_guard.forget_guards() OWNER TO postgres;

--
-- Name: freeze_holds(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.freeze_holds() RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    LOCK TABLE public.audit_chain_heads IN SHARE ROW EXCLUSIVE MODE
$$;


ALTER FUNCTION datastorage_guard.freeze_holds() OWNER TO postgres;

--
-- Name: guard_chain_head(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.guard_chain_head() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.legal_hold THEN
            RAISE EXCEPTION 'Cannot delete the chain head of a held chain: correlation_id=%',
                            OLD.correlation_id USING ERRCODE = '23503';
        END IF;
        RETURN OLD;
    END IF;
    IF (NEW.legal_hold, NEW.legal_hold_reason, NEW.legal_hold_placed_by, NEW.legal_hold_placed_at)
       IS DISTINCT FROM
       (OLD.legal_hold, OLD.legal_hold_reason, OLD.legal_hold_placed_by, OLD.legal_hold_placed_at)
       AND NOT datastorage_guard.may_change_hold() THEN
        RAISE EXCEPTION 'Legal-hold columns change only through datastorage.place_legal_hold '
                        'and datastorage.release_legal_hold (correlation_id=%)', OLD.correlation_id
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;


ALTER FUNCTION datastorage_guard.guard_chain_head() OWNER TO postgres;

--
-- Name: guard_hold_history(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.guard_hold_history() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION '% of % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
            USING ERRCODE = '55000';
    END IF;
    IF NOT datastorage_guard.may_change_hold() THEN
        RAISE EXCEPTION 'The legal-hold history is written only by datastorage.place_legal_hold '
                        'and datastorage.release_legal_hold' USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;


ALTER FUNCTION datastorage_guard.guard_hold_history() OWNER TO postgres;

--
-- Name: guard_trigger_shapes(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.guard_trigger_shapes() RETURNS TABLE(tbl text, tgname name, fn regprocedure, kind smallint, cols name[], cond text)
    LANGUAGE sql STABLE
    AS $$
    SELECT v.tbl, v.tgname::name, v.fn::pg_catalog.regprocedure, v.kind::smallint, v.cols, v.cond
    FROM (VALUES ('audit_events', 'audit_events_immutable', 'datastorage_guard.refuse_audit_update()',
                  19, NULL, NULL),
                 ('audit_events', 'enforce_legal_hold', 'datastorage_guard.refuse_held_delete()',
                  11, NULL, datastorage_guard.delete_refused_when()),
                 ('audit_events', 'audit_events_no_truncate', 'datastorage_guard.refuse_truncate()',
                  34, NULL, NULL),
                 ('audit_chain_heads', 'audit_chain_heads_hold', 'datastorage_guard.guard_chain_head()',
                  19, datastorage_guard.head_hold_columns(), NULL),
                 ('audit_chain_heads', 'audit_chain_heads_held_delete', 'datastorage_guard.guard_chain_head()',
                  11, NULL, datastorage_guard.head_delete_refused_when()),
                 ('audit_chain_heads', 'audit_chain_heads_no_truncate', 'datastorage_guard.refuse_truncate()',
                  34, NULL, NULL),
                 ('audit_legal_holds', 'audit_legal_holds_append_only',
                  'datastorage_guard.guard_hold_history()', 31, NULL, NULL),
                 ('audit_legal_holds', 'audit_legal_holds_no_truncate', 'datastorage_guard.refuse_truncate()',
                  34, NULL, NULL)) AS v(tbl, tgname, fn, kind, cols, cond)
$$;


ALTER FUNCTION datastorage_guard.guard_trigger_shapes() OWNER TO postgres;

--
-- Name: guards_intact(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.guards_intact() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT coalesce((SELECT s.intact FROM datastorage_guard.ddl_state s), false)
$$;


ALTER FUNCTION datastorage_guard.guards_intact() OWNER TO postgres;

--
-- Name: head_delete_refused_when(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.head_delete_refused_when() RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT 'old.legal_hold'
$$;


ALTER FUNCTION datastorage_guard.head_delete_refused_when() OWNER TO postgres;

--
-- Name: head_hold_columns(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.head_hold_columns() RETURNS name[]
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT '{legal_hold, legal_hold_reason, legal_hold_placed_by, legal_hold_placed_at}'::name[]
$$;


ALTER FUNCTION datastorage_guard.head_hold_columns() OWNER TO postgres;

--
-- Name: held_partitions(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.held_partitions() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    rel regclass;
    out jsonb := '[]';
    n bigint;
    rels oid[];
BEGIN
    IF to_regclass('public.audit_events') IS NULL THEN
        RETURN out;
    END IF;
    IF NOT datastorage_guard.is_distributed('public.audit_events') THEN
        SELECT count(*), array_agg(DISTINCT h.rel) INTO n, rels
          FROM (SELECT e.tableoid AS rel FROM public.audit_events e WHERE e.legal_hold LIMIT 1001) h;
        IF n <= 1000 THEN
            RETURN coalesce((SELECT jsonb_agg(jsonb_build_object('oid', r, 'name', r::regclass::text)
                                              ORDER BY r)
                             FROM unnest(rels) r), '[]');
        END IF;
    END IF;
    FOR rel IN SELECT p FROM datastorage_guard.audit_partitions() p
               JOIN pg_catalog.pg_class c ON c.oid = p WHERE c.relkind = 'r'
    LOOP
        IF datastorage_guard.partition_is_held(rel) THEN
            out := out || jsonb_build_object('oid', rel::oid, 'name', rel::text);
        END IF;
    END LOOP;
    RETURN out;
END
$$;


ALTER FUNCTION datastorage_guard.held_partitions() OWNER TO postgres;

--
-- Name: install_truncate_guards(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.install_truncate_guards() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN SELECT p FROM datastorage_guard.audit_partitions() p
               WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                 WHERE t.tgrelid = p AND t.tgname = 'audit_events_no_truncate')
    LOOP
        EXECUTE format('CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate()', rel);
    END LOOP;
END
$$;


ALTER FUNCTION datastorage_guard.install_truncate_guards() OWNER TO postgres;

--
-- Name: is_distributed(regclass); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.is_distributed(rel regclass) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    distributed boolean := false;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
           INTO distributed USING rel;
    END IF;
    RETURN distributed;
END
$_$;


ALTER FUNCTION datastorage_guard.is_distributed(rel regclass) OWNER TO postgres;

--
-- Name: is_superuser(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.is_superuser() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false)
$$;


ALTER FUNCTION datastorage_guard.is_superuser() OWNER TO postgres;

--
-- Name: may_change_hold(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.may_change_hold() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT current_user = 'datastorage_hold_keeper' OR datastorage_guard.is_superuser()
$$;


ALTER FUNCTION datastorage_guard.may_change_hold() OWNER TO postgres;

--
-- Name: note_guards(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.note_guards() RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    ok boolean := NOT EXISTS (SELECT 1 FROM datastorage_guard.violations());
BEGIN
    UPDATE datastorage_guard.ddl_state SET intact = ok WHERE intact IS DISTINCT FROM ok;
    RETURN ok;
END
$$;


ALTER FUNCTION datastorage_guard.note_guards() OWNER TO postgres;

--
-- Name: partition_is_held(regclass); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.partition_is_held(rel regclass) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
    held boolean;
BEGIN
    IF datastorage_guard.is_distributed(rel) THEN
        EXECUTE $q$SELECT EXISTS (SELECT 1 FROM run_command_on_placements(
                       $1, 'SELECT EXISTS (SELECT 1 FROM %s WHERE legal_hold)') r
                   WHERE NOT r.success OR r.result = 't')$q$
           INTO held USING rel;
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE legal_hold)', rel) INTO held;
    END IF;
    RETURN held;
END
$_$;


ALTER FUNCTION datastorage_guard.partition_is_held(rel regclass) OWNER TO postgres;

--
-- Name: refuse_audit_update(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.refuse_audit_update() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    content record := NEW;
BEGIN
    -- Everything but the hold columns must stay as it was (no hand-kept
    -- column list: a column added later is covered too).
    content.legal_hold := OLD.legal_hold;
    content.legal_hold_reason := OLD.legal_hold_reason;
    content.legal_hold_placed_by := OLD.legal_hold_placed_by;
    content.legal_hold_placed_at := OLD.legal_hold_placed_at;
    IF content IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'Audit events are immutable: only legal-hold columns may change '
                        '(event_id=%, correlation_id=%)', OLD.event_id, OLD.correlation_id
            USING ERRCODE = '55000';
    END IF;
    -- The hold functions' role first: a string compare per row on their path.
    IF current_user <> 'datastorage_hold_keeper' AND NEW IS DISTINCT FROM OLD
       AND NOT datastorage_guard.is_superuser() THEN
        RAISE EXCEPTION 'Legal-hold columns change only through datastorage.place_legal_hold '
                        'and datastorage.release_legal_hold (correlation_id=%)', OLD.correlation_id
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;


ALTER FUNCTION datastorage_guard.refuse_audit_update() OWNER TO postgres;

--
-- Name: refuse_held_delete(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.refuse_held_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    IF OLD.legal_hold THEN
        RAISE EXCEPTION 'Cannot delete audit event with legal hold: event_id=%, correlation_id=%',
                        OLD.event_id, OLD.correlation_id
            USING ERRCODE = '23503',
                  HINT = 'Release legal hold before deletion via DELETE /api/v1/audit/legal-hold/{correlation_id}';
    END IF;
    RAISE EXCEPTION 'Audit events are immutable: event_id=%, correlation_id=% is not expired '
                    'and only retention removes events', OLD.event_id, OLD.correlation_id
        USING ERRCODE = '55000',
              HINT = 'Expired events are removed by datastorage.enforce_retention (docs/retention.md)';
END
$$;


ALTER FUNCTION datastorage_guard.refuse_held_delete() OWNER TO postgres;

--
-- Name: refuse_rewrite(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.refuse_rewrite() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
    rel regclass := pg_event_trigger_table_rewrite_oid();
BEGIN
    IF (rel IN (to_regclass('public.audit_events'), to_regclass('public.audit_chain_heads'),
                to_regclass('public.audit_legal_holds'), to_regclass('public.audit_event_ids'))
        OR pg_partition_root(rel) = to_regclass('public.audit_events'))
       AND NOT datastorage_guard.is_superuser() THEN
        RAISE EXCEPTION 'Rewriting % is not allowed: audit records change only through the '
                        'append, hold and retention functions', rel
            USING ERRCODE = '42501';
    END IF;
END
$$;


ALTER FUNCTION datastorage_guard.refuse_rewrite() OWNER TO postgres;

--
-- Name: refuse_truncate(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.refuse_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of % is not allowed: audit records are immutable', TG_TABLE_NAME
        USING ERRCODE = '55000';
END
$$;


ALTER FUNCTION datastorage_guard.refuse_truncate() OWNER TO postgres;

--
-- Name: violations(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.violations() RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
    parent regclass := to_regclass('public.audit_events');
    -- The parent's delete rule when it is the right one, as a node tree, and
    -- the column numbers of the columns it names. A partition's clone with
    -- the same tree over the same numbers of the same columns is the same
    -- condition, and is not deparsed again (that is what cost the most,
    -- once per partition); anything else is deparsed and compared.
    -- (A clone made after the parent's trigger carries no query positions:
    -- :location -1 throughout. Those do not change what the condition does.)
    rule_tree text;
    rule_clone text;
    rule_cols smallint[];
BEGIN
    SELECT g.tgqual::text INTO rule_tree
      FROM pg_catalog.pg_trigger g
     WHERE g.tgrelid = parent AND g.tgname = 'enforce_legal_hold'
       AND substring(pg_catalog.pg_get_triggerdef(g.oid) FROM ' WHEN \((.*)\) EXECUTE FUNCTION ')
           = datastorage_guard.delete_refused_when();
    rule_clone := regexp_replace(rule_tree, ':location -?[0-9]+', ':location -1', 'g');
    rule_cols := ARRAY(SELECT a.attnum FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = parent AND NOT a.attisdropped
                         AND a.attname IN ('legal_hold', 'retention_days', 'event_date')
                       ORDER BY a.attname);
    RETURN QUERY
    WITH e AS MATERIALIZED (SELECT x.*, s.kind, s.cols, s.cond
                            FROM datastorage_guard.expected_triggers() x
                            JOIN datastorage_guard.guard_trigger_shapes() s ON s.tgname = x.tgname
                            WHERE x.rel IS NOT NULL),
         cols AS (SELECT a.attrelid AS rel, array_agg(a.attnum ORDER BY a.attname) AS nums
                  FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid IN (SELECT e.rel FROM e) AND NOT a.attisdropped
                    AND a.attname IN ('legal_hold', 'retention_days', 'event_date')
                  GROUP BY a.attrelid)
    SELECT format('public.%s is protected: it cannot be dropped, renamed or moved', t)
    FROM unnest(ARRAY['audit_events', 'audit_chain_heads', 'audit_legal_holds']) t
    WHERE to_regclass('public.' || t) IS NULL
    UNION ALL
    -- In place, enabled, running its guard function, for its events, its
    -- columns (by name, now) or all, with exactly its WHEN condition or
    -- none (110_audit_immutability.sql).
    SELECT format('Guard trigger %s on %s must stay in place and enabled', e.tgname, e.rel)
    FROM e
    LEFT JOIN pg_catalog.pg_trigger g ON g.tgrelid = e.rel AND g.tgname = e.tgname
    LEFT JOIN cols ON cols.rel = e.rel
    WHERE g.oid IS NULL OR g.tgfoid <> e.fn OR g.tgenabled NOT IN ('O', 'A')
       OR g.tgtype <> e.kind
       -- (CASE: the column lookup only for the one trigger with columns.)
       OR CASE WHEN e.cols IS NULL THEN pg_catalog.cardinality(g.tgattr::smallint[]) <> 0
               ELSE pg_catalog.cardinality(e.cols) <> pg_catalog.cardinality(g.tgattr::smallint[])
                    OR ARRAY(SELECT a FROM unnest(g.tgattr::smallint[]) a ORDER BY a)
                       <> ARRAY(SELECT a.attnum FROM pg_catalog.pg_attribute a
                                WHERE a.attrelid = e.rel AND a.attname = ANY (e.cols)
                                  AND NOT a.attisdropped ORDER BY a.attnum)
          END
       OR CASE WHEN g.tgqual IS NULL AND e.cond IS NULL THEN false
               WHEN e.tgname = 'enforce_legal_hold' AND g.tgqual::text IN (rule_tree, rule_clone)
                    AND cols.nums = rule_cols THEN false
               ELSE substring(pg_catalog.pg_get_triggerdef(g.oid) FROM ' WHEN \((.*)\) EXECUTE FUNCTION ')
                    IS DISTINCT FROM e.cond
          END
    UNION ALL
    -- A BEFORE UPDATE (or INSTEAD OF) trigger of someone else's could
    -- rewrite a row after the guard saw it; other triggers cannot.
    SELECT format('Trigger %s on %s is not allowed: only the guard triggers may run before an '
                  'update of the audit tables', g.tgname, g.tgrelid::regclass)
    FROM pg_catalog.pg_trigger g
    WHERE g.tgrelid IN (SELECT e.rel FROM e)
      AND NOT g.tgisinternal AND (g.tgtype & (2 | 64)) <> 0 AND (g.tgtype & 16) <> 0
      AND NOT EXISTS (SELECT 1 FROM e WHERE e.rel = g.tgrelid AND e.tgname = g.tgname)
    UNION ALL
    SELECT format('Rules and row-level security are not allowed on %s', x.oid::regclass)
    FROM pg_catalog.pg_class x
    WHERE x.oid IN (SELECT e.rel FROM e)
      AND (x.relrowsecurity OR x.relforcerowsecurity
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite w WHERE w.ev_class = x.oid))
    UNION ALL
    SELECT 'The legal_hold columns of audit_events and audit_chain_heads must stay'
    WHERE (SELECT count(*) FROM pg_catalog.pg_attribute a
           WHERE a.attrelid IN (parent, to_regclass('public.audit_chain_heads'))
             AND a.attname = 'legal_hold' AND a.atttypid = 'boolean'::regtype
             AND NOT a.attisdropped) <> 2;
END
$$;


ALTER FUNCTION datastorage_guard.violations() OWNER TO postgres;

--
-- Name: warm_up(); Type: FUNCTION; Schema: datastorage_guard; Owner: postgres
--

CREATE FUNCTION datastorage_guard.warm_up() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
    PERFORM datastorage_guard.is_superuser();
    PERFORM datastorage_guard.check_guards(datastorage_guard.before_ddl(true));
EXCEPTION WHEN insufficient_privilege OR foreign_key_violation THEN
    NULL;  -- something is wrong already: the command itself will meet it
END
$$;


ALTER FUNCTION datastorage_guard.warm_up() OWNER TO postgres;

--
-- Name: chain_links(text, text); Type: AGGREGATE; Schema: datastorage; Owner: datastorage_owner
--

CREATE AGGREGATE datastorage.chain_links(text, text) (
    SFUNC = datastorage.chain_link_step,
    STYPE = text
);


ALTER AGGREGATE datastorage.chain_links(text, text) OWNER TO datastorage_owner;

--
-- Name: ddl_state; Type: TABLE; Schema: datastorage_guard; Owner: postgres
--

CREATE TABLE datastorage_guard.ddl_state (
    one boolean DEFAULT true NOT NULL,
    intact boolean NOT NULL,
    CONSTRAINT ddl_state_one_check CHECK (one)
);


ALTER TABLE datastorage_guard.ddl_state OWNER TO postgres;

--
-- Name: audit_chain_heads; Type: TABLE; Schema: public; Owner: datastorage_owner
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


ALTER TABLE public.audit_chain_heads OWNER TO datastorage_owner;

--
-- Name: audit_event_ids; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.audit_event_ids (
    event_id uuid NOT NULL,
    event_date date NOT NULL,
    correlation_id character varying(255) NOT NULL
);


ALTER TABLE public.audit_event_ids OWNER TO datastorage_owner;

--
-- Name: audit_events_default; Type: TABLE; Schema: public; Owner: datastorage_owner
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
    hash_version smallint DEFAULT 2 NOT NULL,
    CONSTRAINT audit_events_chain_seq_positive CHECK ((chain_seq > 0)),
    CONSTRAINT audit_events_event_date_utc CHECK ((event_date = ((event_timestamp AT TIME ZONE 'UTC'::text))::date))
);


ALTER TABLE public.audit_events_default OWNER TO datastorage_owner;

--
-- Name: audit_legal_holds_id_seq; Type: SEQUENCE; Schema: public; Owner: datastorage_owner
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
-- Name: audit_retention_horizons; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.audit_retention_horizons (
    correlation_id character varying(255) NOT NULL,
    first_kept_seq bigint NOT NULL,
    previous_hash text NOT NULL,
    run_id bigint NOT NULL,
    pruned_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT audit_retention_horizons_first_kept_seq_check CHECK ((first_kept_seq > 1))
);


ALTER TABLE public.audit_retention_horizons OWNER TO datastorage_owner;

--
-- Name: audit_retention_queue; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.audit_retention_queue (
    run_id bigint NOT NULL,
    correlation_id character varying(255) NOT NULL,
    upto_seq bigint NOT NULL,
    events bigint NOT NULL,
    first_date date NOT NULL,
    last_date date NOT NULL
);


ALTER TABLE public.audit_retention_queue OWNER TO datastorage_owner;

--
-- Name: audit_retention_runs_run_id_seq; Type: SEQUENCE; Schema: public; Owner: datastorage_owner
--

ALTER TABLE public.audit_retention_runs ALTER COLUMN run_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_retention_runs_run_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: notification_audit; Type: TABLE; Schema: public; Owner: datastorage_owner
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


ALTER TABLE public.notification_audit OWNER TO datastorage_owner;

--
-- Name: notification_audit_id_seq; Type: SEQUENCE; Schema: public; Owner: datastorage_owner
--

CREATE SEQUENCE public.notification_audit_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.notification_audit_id_seq OWNER TO datastorage_owner;

--
-- Name: notification_audit_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: datastorage_owner
--

ALTER SEQUENCE public.notification_audit_id_seq OWNED BY public.notification_audit.id;


--
-- Name: tlog_checkpoints; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.tlog_checkpoints (
    id bigint NOT NULL,
    tree_size bigint NOT NULL,
    root_hash bytea NOT NULL,
    note text NOT NULL,
    signed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT tlog_checkpoints_tree_size_check CHECK ((tree_size >= 0))
);


ALTER TABLE public.tlog_checkpoints OWNER TO datastorage_owner;

--
-- Name: tlog_checkpoints_id_seq; Type: SEQUENCE; Schema: public; Owner: datastorage_owner
--

ALTER TABLE public.tlog_checkpoints ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.tlog_checkpoints_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: tlog_leaves; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.tlog_leaves (
    leaf_index bigint NOT NULL,
    event_id uuid NOT NULL,
    correlation_id character varying(255) NOT NULL,
    event_hash text,
    leaf_hash bytea NOT NULL,
    integrated_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT tlog_leaves_leaf_index_check CHECK ((leaf_index >= 0))
);


ALTER TABLE public.tlog_leaves OWNER TO datastorage_owner;

--
-- Name: tlog_nodes; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.tlog_nodes (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT tlog_nodes_idx_check CHECK ((idx >= 0)),
    CONSTRAINT tlog_nodes_level_check CHECK (((level >= 1) AND (level <= 62)))
);


ALTER TABLE public.tlog_nodes OWNER TO datastorage_owner;

--
-- Name: tlog_outbox; Type: TABLE; Schema: public; Owner: datastorage_owner
--

CREATE TABLE public.tlog_outbox (
    seq bigint NOT NULL,
    event_id uuid NOT NULL,
    correlation_id character varying(255) NOT NULL,
    event_hash text
);


ALTER TABLE public.tlog_outbox OWNER TO datastorage_owner;

--
-- Name: tlog_outbox_seq_seq; Type: SEQUENCE; Schema: public; Owner: datastorage_owner
--

ALTER TABLE public.tlog_outbox ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.tlog_outbox_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: audit_events_default; Type: TABLE ATTACH; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_events ATTACH PARTITION public.audit_events_default DEFAULT;


--
-- Name: notification_audit id; Type: DEFAULT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.notification_audit ALTER COLUMN id SET DEFAULT nextval('public.notification_audit_id_seq'::regclass);


--
-- Name: ddl_state ddl_state_pkey; Type: CONSTRAINT; Schema: datastorage_guard; Owner: postgres
--

ALTER TABLE ONLY datastorage_guard.ddl_state
    ADD CONSTRAINT ddl_state_pkey PRIMARY KEY (one);


--
-- Name: audit_chain_heads audit_chain_heads_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_chain_heads
    ADD CONSTRAINT audit_chain_heads_pkey PRIMARY KEY (correlation_id);


--
-- Name: audit_event_ids audit_event_ids_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_event_ids
    ADD CONSTRAINT audit_event_ids_pkey PRIMARY KEY (event_id);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (event_id, event_date);


--
-- Name: audit_events_default audit_events_default_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_events_default
    ADD CONSTRAINT audit_events_default_pkey PRIMARY KEY (event_id, event_date);


--
-- Name: audit_events audit_events_hash_version_known; Type: CHECK CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE public.audit_events
    ADD CONSTRAINT audit_events_hash_version_known CHECK ((hash_version = ANY (ARRAY[1, 2]))) NOT VALID;


--
-- Name: audit_legal_holds audit_legal_holds_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_legal_holds
    ADD CONSTRAINT audit_legal_holds_pkey PRIMARY KEY (id);


--
-- Name: audit_retention_horizons audit_retention_horizons_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_retention_horizons
    ADD CONSTRAINT audit_retention_horizons_pkey PRIMARY KEY (correlation_id);


--
-- Name: audit_retention_queue audit_retention_queue_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_retention_queue
    ADD CONSTRAINT audit_retention_queue_pkey PRIMARY KEY (run_id, correlation_id);


--
-- Name: audit_retention_runs audit_retention_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_retention_runs
    ADD CONSTRAINT audit_retention_runs_pkey PRIMARY KEY (run_id);


--
-- Name: notification_audit notification_audit_notification_id_key; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.notification_audit
    ADD CONSTRAINT notification_audit_notification_id_key UNIQUE (notification_id);


--
-- Name: notification_audit notification_audit_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.notification_audit
    ADD CONSTRAINT notification_audit_pkey PRIMARY KEY (id);


--
-- Name: remediation_workflow_catalog remediation_workflow_catalog_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.remediation_workflow_catalog
    ADD CONSTRAINT remediation_workflow_catalog_pkey PRIMARY KEY (workflow_id);


--
-- Name: tlog_checkpoints tlog_checkpoints_note_key; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.tlog_checkpoints
    ADD CONSTRAINT tlog_checkpoints_note_key UNIQUE (note);


--
-- Name: tlog_checkpoints tlog_checkpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.tlog_checkpoints
    ADD CONSTRAINT tlog_checkpoints_pkey PRIMARY KEY (id);


--
-- Name: tlog_leaves tlog_leaves_event_id_key; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.tlog_leaves
    ADD CONSTRAINT tlog_leaves_event_id_key UNIQUE (event_id);


--
-- Name: tlog_leaves tlog_leaves_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.tlog_leaves
    ADD CONSTRAINT tlog_leaves_pkey PRIMARY KEY (leaf_index);


--
-- Name: tlog_nodes tlog_nodes_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.tlog_nodes
    ADD CONSTRAINT tlog_nodes_pkey PRIMARY KEY (level, idx);


--
-- Name: tlog_outbox tlog_outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.tlog_outbox
    ADD CONSTRAINT tlog_outbox_pkey PRIMARY KEY (seq);


--
-- Name: remediation_workflow_catalog uq_workflow_name_version; Type: CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.remediation_workflow_catalog
    ADD CONSTRAINT uq_workflow_name_version UNIQUE (workflow_name, version);


--
-- Name: idx_audit_events_correlation; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_audit_events_correlation ON ONLY public.audit_events USING btree (correlation_id, event_timestamp DESC, event_id DESC);


--
-- Name: audit_events_default_correlation_id_event_timestamp_event_i_idx; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX audit_events_default_correlation_id_event_timestamp_event_i_idx ON public.audit_events_default USING btree (correlation_id, event_timestamp DESC, event_id DESC);


--
-- Name: idx_audit_events_legal_hold; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_audit_events_legal_hold ON ONLY public.audit_events USING btree (correlation_id) WHERE legal_hold;


--
-- Name: audit_events_default_correlation_id_idx; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX audit_events_default_correlation_id_idx ON public.audit_events_default USING btree (correlation_id) WHERE legal_hold;


--
-- Name: idx_audit_events_category; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_audit_events_category ON ONLY public.audit_events USING btree (event_category, event_timestamp DESC, event_id DESC);


--
-- Name: audit_events_default_event_category_event_timestamp_event_i_idx; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX audit_events_default_event_category_event_timestamp_event_i_idx ON public.audit_events_default USING btree (event_category, event_timestamp DESC, event_id DESC);


--
-- Name: idx_audit_events_event_timestamp; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_audit_events_event_timestamp ON ONLY public.audit_events USING btree (event_timestamp DESC, event_id DESC);


--
-- Name: audit_events_default_event_timestamp_event_id_idx; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX audit_events_default_event_timestamp_event_id_idx ON public.audit_events_default USING btree (event_timestamp DESC, event_id DESC);


--
-- Name: idx_audit_events_event_type; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_audit_events_event_type ON ONLY public.audit_events USING btree (event_type, event_timestamp DESC, event_id DESC);


--
-- Name: audit_events_default_event_type_event_timestamp_event_id_idx; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX audit_events_default_event_type_event_timestamp_event_id_idx ON public.audit_events_default USING btree (event_type, event_timestamp DESC, event_id DESC);


--
-- Name: idx_audit_chain_heads_held; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_audit_chain_heads_held ON public.audit_chain_heads USING btree (legal_hold_placed_at DESC) WHERE legal_hold;


--
-- Name: idx_audit_legal_holds_correlation; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_audit_legal_holds_correlation ON public.audit_legal_holds USING btree (correlation_id, id);


--
-- Name: idx_audit_retention_runs_cutoff; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_audit_retention_runs_cutoff ON public.audit_retention_runs USING btree (cutoff DESC);


--
-- Name: idx_notification_audit_created_at; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_notification_audit_created_at ON public.notification_audit USING btree (created_at DESC);


--
-- Name: idx_notification_audit_remediation_id; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_notification_audit_remediation_id ON public.notification_audit USING btree (remediation_id);


--
-- Name: idx_tlog_checkpoints_size; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_tlog_checkpoints_size ON public.tlog_checkpoints USING btree (tree_size);


--
-- Name: idx_workflow_container_digest; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_workflow_container_digest ON public.remediation_workflow_catalog USING btree (container_digest) WHERE (container_digest IS NOT NULL);


--
-- Name: idx_workflow_created_at; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_workflow_created_at ON public.remediation_workflow_catalog USING btree (created_at DESC, workflow_id DESC);


--
-- Name: idx_workflow_custom_labels_gin; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_workflow_custom_labels_gin ON public.remediation_workflow_catalog USING gin (custom_labels jsonb_path_ops);


--
-- Name: idx_workflow_labels_gin; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_workflow_labels_gin ON public.remediation_workflow_catalog USING gin (labels jsonb_path_ops);


--
-- Name: idx_workflow_search_labels; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_workflow_search_labels ON public.remediation_workflow_catalog USING btree (((labels ->> 'signal_type'::text)), ((labels ->> 'severity'::text)), ((labels ->> 'priority'::text)), ((labels ->> 'component'::text))) WHERE is_latest_version;


--
-- Name: idx_workflow_status; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE INDEX idx_workflow_status ON public.remediation_workflow_catalog USING btree (status);


--
-- Name: uq_workflow_latest_per_name; Type: INDEX; Schema: public; Owner: datastorage_owner
--

CREATE UNIQUE INDEX uq_workflow_latest_per_name ON public.remediation_workflow_catalog USING btree (workflow_name) WHERE is_latest_version;


--
-- Name: audit_events_default_correlation_id_event_timestamp_event_i_idx; Type: INDEX ATTACH; Schema: public; Owner: datastorage_owner
--

ALTER INDEX public.idx_audit_events_correlation ATTACH PARTITION public.audit_events_default_correlation_id_event_timestamp_event_i_idx;


--
-- Name: audit_events_default_correlation_id_idx; Type: INDEX ATTACH; Schema: public; Owner: datastorage_owner
--

ALTER INDEX public.idx_audit_events_legal_hold ATTACH PARTITION public.audit_events_default_correlation_id_idx;


--
-- Name: audit_events_default_event_category_event_timestamp_event_i_idx; Type: INDEX ATTACH; Schema: public; Owner: datastorage_owner
--

ALTER INDEX public.idx_audit_events_category ATTACH PARTITION public.audit_events_default_event_category_event_timestamp_event_i_idx;


--
-- Name: audit_events_default_event_timestamp_event_id_idx; Type: INDEX ATTACH; Schema: public; Owner: datastorage_owner
--

ALTER INDEX public.idx_audit_events_event_timestamp ATTACH PARTITION public.audit_events_default_event_timestamp_event_id_idx;


--
-- Name: audit_events_default_event_type_event_timestamp_event_id_idx; Type: INDEX ATTACH; Schema: public; Owner: datastorage_owner
--

ALTER INDEX public.idx_audit_events_event_type ATTACH PARTITION public.audit_events_default_event_type_event_timestamp_event_id_idx;


--
-- Name: audit_events_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: datastorage_owner
--

ALTER INDEX public.audit_events_pkey ATTACH PARTITION public.audit_events_default_pkey;


--
-- Name: workflow_label_stats; Type: STATISTICS; Schema: public; Owner: datastorage_owner
--

CREATE STATISTICS public.workflow_label_stats ON (labels ->> 'signal_type'::text), (labels ->> 'severity'::text), (labels ->> 'priority'::text), (labels ->> 'component'::text) FROM public.remediation_workflow_catalog;


ALTER STATISTICS public.workflow_label_stats OWNER TO datastorage_owner;

--
-- Name: audit_chain_heads audit_chain_heads_held_delete; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_chain_heads_held_delete BEFORE DELETE ON public.audit_chain_heads FOR EACH ROW WHEN (old.legal_hold) EXECUTE FUNCTION datastorage_guard.guard_chain_head();


--
-- Name: audit_chain_heads audit_chain_heads_hold; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_chain_heads_hold BEFORE UPDATE OF legal_hold, legal_hold_reason, legal_hold_placed_by, legal_hold_placed_at ON public.audit_chain_heads FOR EACH ROW EXECUTE FUNCTION datastorage_guard.guard_chain_head();


--
-- Name: audit_chain_heads audit_chain_heads_no_truncate; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON public.audit_chain_heads FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();


--
-- Name: audit_events audit_events_immutable; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_events_immutable BEFORE UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION datastorage_guard.refuse_audit_update();


--
-- Name: audit_events audit_events_no_truncate; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();


--
-- Name: audit_events_default audit_events_no_truncate; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events_default FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();


--
-- Name: audit_events audit_events_tlog_capture; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_events_tlog_capture AFTER INSERT ON public.audit_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION datastorage.tlog_capture();


--
-- Name: audit_legal_holds audit_legal_holds_append_only; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_legal_holds_append_only BEFORE INSERT OR DELETE OR UPDATE ON public.audit_legal_holds FOR EACH ROW EXECUTE FUNCTION datastorage_guard.guard_hold_history();


--
-- Name: audit_legal_holds audit_legal_holds_no_truncate; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER audit_legal_holds_no_truncate BEFORE TRUNCATE ON public.audit_legal_holds FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();


--
-- Name: audit_events enforce_legal_hold; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER enforce_legal_hold BEFORE DELETE ON public.audit_events FOR EACH ROW WHEN ((old.legal_hold OR (NOT COALESCE(((old.retention_days < ((NULLIF(current_setting('datastorage.retention_cutoff'::text, true), ''::text))::date - old.event_date)) AND (old.retention_days < (((now() AT TIME ZONE 'UTC'::text))::date - old.event_date))), false)))) EXECUTE FUNCTION datastorage_guard.refuse_held_delete();


--
-- Name: tlog_checkpoints tlog_checkpoints_append_only; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER tlog_checkpoints_append_only BEFORE DELETE OR UPDATE ON public.tlog_checkpoints FOR EACH ROW EXECUTE FUNCTION datastorage.tlog_refuse_change();


--
-- Name: tlog_checkpoints tlog_checkpoints_no_truncate; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER tlog_checkpoints_no_truncate BEFORE TRUNCATE ON public.tlog_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();


--
-- Name: tlog_leaves tlog_leaves_append_only; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER tlog_leaves_append_only BEFORE DELETE OR UPDATE ON public.tlog_leaves FOR EACH ROW EXECUTE FUNCTION datastorage.tlog_refuse_change();


--
-- Name: tlog_leaves tlog_leaves_no_truncate; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER tlog_leaves_no_truncate BEFORE TRUNCATE ON public.tlog_leaves FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();


--
-- Name: tlog_nodes tlog_nodes_append_only; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER tlog_nodes_append_only BEFORE DELETE OR UPDATE ON public.tlog_nodes FOR EACH ROW EXECUTE FUNCTION datastorage.tlog_refuse_change();


--
-- Name: tlog_nodes tlog_nodes_no_truncate; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER tlog_nodes_no_truncate BEFORE TRUNCATE ON public.tlog_nodes FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();


--
-- Name: remediation_workflow_catalog workflow_touch_updated_at; Type: TRIGGER; Schema: public; Owner: datastorage_owner
--

CREATE TRIGGER workflow_touch_updated_at BEFORE UPDATE ON public.remediation_workflow_catalog FOR EACH ROW EXECUTE FUNCTION datastorage.workflow_touch_updated_at();


--
-- Name: audit_retention_horizons audit_retention_horizons_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_retention_horizons
    ADD CONSTRAINT audit_retention_horizons_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.audit_retention_runs(run_id);


--
-- Name: audit_retention_queue audit_retention_queue_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: datastorage_owner
--

ALTER TABLE ONLY public.audit_retention_queue
    ADD CONSTRAINT audit_retention_queue_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.audit_retention_runs(run_id);


--
-- Name: SCHEMA datastorage; Type: ACL; Schema: -; Owner: datastorage_owner
--

GRANT USAGE ON SCHEMA datastorage TO datastorage_app;
GRANT USAGE ON SCHEMA datastorage TO datastorage_auditor;
GRANT ALL ON SCHEMA datastorage TO datastorage_hold_keeper;
GRANT USAGE ON SCHEMA datastorage TO datastorage_maintenance;


--
-- Name: SCHEMA datastorage_guard; Type: ACL; Schema: -; Owner: postgres
--

GRANT USAGE ON SCHEMA datastorage_guard TO PUBLIC;


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner
--

GRANT ALL ON SCHEMA public TO datastorage_owner;
GRANT USAGE ON SCHEMA public TO datastorage_hold_keeper;
GRANT USAGE ON SCHEMA public TO datastorage_auditor;


--
-- Name: FUNCTION append_audit_events(p_events jsonb); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.append_audit_events(p_events jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.append_audit_events(p_events jsonb) TO datastorage_app;


--
-- Name: FUNCTION append_chain_events(p_correlation_id text, p_events jsonb); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.append_chain_events(p_correlation_id text, p_events jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.append_chain_events(p_correlation_id text, p_events jsonb) TO datastorage_app;


--
-- Name: TABLE audit_events; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.audit_events TO datastorage_auditor;
GRANT SELECT ON TABLE public.audit_events TO datastorage_hold_keeper;


--
-- Name: COLUMN audit_events.legal_hold; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT UPDATE(legal_hold) ON TABLE public.audit_events TO datastorage_hold_keeper;


--
-- Name: COLUMN audit_events.legal_hold_reason; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT UPDATE(legal_hold_reason) ON TABLE public.audit_events TO datastorage_hold_keeper;


--
-- Name: COLUMN audit_events.legal_hold_placed_by; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT UPDATE(legal_hold_placed_by) ON TABLE public.audit_events TO datastorage_hold_keeper;


--
-- Name: COLUMN audit_events.legal_hold_placed_at; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT UPDATE(legal_hold_placed_at) ON TABLE public.audit_events TO datastorage_hold_keeper;


--
-- Name: FUNCTION canonical_event(e public.audit_events); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.canonical_event(e public.audit_events) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.canonical_event(e public.audit_events) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.canonical_event(e public.audit_events) TO datastorage_auditor;


--
-- Name: FUNCTION canonical_event_v2(e public.audit_events); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.canonical_event_v2(e public.audit_events) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.canonical_event_v2(e public.audit_events) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.canonical_event_v2(e public.audit_events) TO datastorage_auditor;


--
-- Name: FUNCTION canonical_fields(p_span_id text, p_event_version text, p_actor_id text, p_actor_ip inet, p_event_id uuid, p_severity text, p_trace_id text, p_chain_seq bigint, p_namespace text, p_actor_type text, p_error_code text, p_event_data jsonb, p_event_date date, p_event_type text, p_duration_ms integer, p_resource_id text, p_cluster_name text, p_event_action text, p_is_sensitive boolean, p_error_message text, p_event_outcome text, p_resource_name text, p_resource_type text, p_correlation_id text, p_event_category text, p_event_metadata jsonb, p_retention_days integer, p_event_timestamp timestamp with time zone, p_parent_event_id uuid, p_parent_event_date date); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.canonical_fields(p_span_id text, p_event_version text, p_actor_id text, p_actor_ip inet, p_event_id uuid, p_severity text, p_trace_id text, p_chain_seq bigint, p_namespace text, p_actor_type text, p_error_code text, p_event_data jsonb, p_event_date date, p_event_type text, p_duration_ms integer, p_resource_id text, p_cluster_name text, p_event_action text, p_is_sensitive boolean, p_error_message text, p_event_outcome text, p_resource_name text, p_resource_type text, p_correlation_id text, p_event_category text, p_event_metadata jsonb, p_retention_days integer, p_event_timestamp timestamp with time zone, p_parent_event_id uuid, p_parent_event_date date) FROM PUBLIC;


--
-- Name: FUNCTION canonical_fields_v2(p_span_id text, p_event_version text, p_actor_id text, p_actor_ip inet, p_event_id uuid, p_severity text, p_trace_id text, p_chain_seq bigint, p_namespace text, p_actor_type text, p_error_code text, p_event_data jsonb, p_event_date date, p_event_type text, p_duration_ms integer, p_resource_id text, p_cluster_name text, p_event_action text, p_is_sensitive boolean, p_error_message text, p_event_outcome text, p_resource_name text, p_resource_type text, p_correlation_id text, p_event_category text, p_event_metadata jsonb, p_retention_days integer, p_event_timestamp timestamp with time zone, p_parent_event_id uuid, p_parent_event_date date); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.canonical_fields_v2(p_span_id text, p_event_version text, p_actor_id text, p_actor_ip inet, p_event_id uuid, p_severity text, p_trace_id text, p_chain_seq bigint, p_namespace text, p_actor_type text, p_error_code text, p_event_data jsonb, p_event_date date, p_event_type text, p_duration_ms integer, p_resource_id text, p_cluster_name text, p_event_action text, p_is_sensitive boolean, p_error_message text, p_event_outcome text, p_resource_name text, p_resource_type text, p_correlation_id text, p_event_category text, p_event_metadata jsonb, p_retention_days integer, p_event_timestamp timestamp with time zone, p_parent_event_id uuid, p_parent_event_date date) FROM PUBLIC;


--
-- Name: FUNCTION canonical_members(e public.audit_events); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.canonical_members(e public.audit_events) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.canonical_members(e public.audit_events) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.canonical_members(e public.audit_events) TO datastorage_auditor;


--
-- Name: FUNCTION chain_hash(previous_hash text, e public.audit_events); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.chain_hash(previous_hash text, e public.audit_events) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.chain_hash(previous_hash text, e public.audit_events) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.chain_hash(previous_hash text, e public.audit_events) TO datastorage_auditor;


--
-- Name: FUNCTION chain_head_matches(p_correlation_id text, p_last_seq bigint, p_last_hash text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.chain_head_matches(p_correlation_id text, p_last_seq bigint, p_last_hash text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.chain_head_matches(p_correlation_id text, p_last_seq bigint, p_last_hash text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.chain_head_matches(p_correlation_id text, p_last_seq bigint, p_last_hash text) TO datastorage_auditor;


--
-- Name: FUNCTION chain_link_step(p_state text, p_start text, p_canonical text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.chain_link_step(p_state text, p_start text, p_canonical text) FROM PUBLIC;


--
-- Name: FUNCTION chain_sizes(p_correlation_ids text[]); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.chain_sizes(p_correlation_ids text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.chain_sizes(p_correlation_ids text[]) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.chain_sizes(p_correlation_ids text[]) TO datastorage_auditor;


--
-- Name: FUNCTION chain_verdicts(p_correlation_ids text[], p_with_members boolean); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.chain_verdicts(p_correlation_ids text[], p_with_members boolean) FROM PUBLIC;


--
-- Name: FUNCTION chains_distributed(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.chains_distributed() FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.chains_distributed() TO datastorage_app;


--
-- Name: FUNCTION check_page(p_limit integer, p_offset bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.check_page(p_limit integer, p_offset bigint) FROM PUBLIC;


--
-- Name: FUNCTION console_overview(p_until timestamp with time zone); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.console_overview(p_until timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.console_overview(p_until timestamp with time zone) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.console_overview(p_until timestamp with time zone) TO datastorage_auditor;


--
-- Name: FUNCTION console_trail(p_correlation_id text, p_offset bigint, p_limit integer); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.console_trail(p_correlation_id text, p_offset bigint, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.console_trail(p_correlation_id text, p_offset bigint, p_limit integer) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.console_trail(p_correlation_id text, p_offset bigint, p_limit integer) TO datastorage_auditor;


--
-- Name: FUNCTION create_workflow(p_workflow jsonb, p_workflow_id uuid, p_event jsonb); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.create_workflow(p_workflow jsonb, p_workflow_id uuid, p_event jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.create_workflow(p_workflow jsonb, p_workflow_id uuid, p_event jsonb) TO datastorage_app;


--
-- Name: FUNCTION csv_cell(v text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.csv_cell(v text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.csv_cell(v text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.csv_cell(v text) TO datastorage_auditor;


--
-- Name: FUNCTION enforce_retention(p_now timestamp with time zone, p_dry_run boolean); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.enforce_retention(p_now timestamp with time zone, p_dry_run boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.enforce_retention(p_now timestamp with time zone, p_dry_run boolean) TO datastorage_maintenance;


--
-- Name: FUNCTION ensure_audit_partitions(months_back integer, months_ahead integer, anchor timestamp with time zone); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.ensure_audit_partitions(months_back integer, months_ahead integer, anchor timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.ensure_audit_partitions(months_back integer, months_ahead integer, anchor timestamp with time zone) TO datastorage_app;


--
-- Name: FUNCTION event_json(e anyelement); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.event_json(e anyelement) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.event_json(e anyelement) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.event_json(e anyelement) TO datastorage_auditor;


--
-- Name: FUNCTION export_audit_events(p_format text, p_start_time timestamp with time zone, p_end_time timestamp with time zone, p_correlation_id text, p_event_category text, p_limit integer, p_offset bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.export_audit_events(p_format text, p_start_time timestamp with time zone, p_end_time timestamp with time zone, p_correlation_id text, p_event_category text, p_limit integer, p_offset bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.export_audit_events(p_format text, p_start_time timestamp with time zone, p_end_time timestamp with time zone, p_correlation_id text, p_event_category text, p_limit integer, p_offset bigint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.export_audit_events(p_format text, p_start_time timestamp with time zone, p_end_time timestamp with time zone, p_correlation_id text, p_event_category text, p_limit integer, p_offset bigint) TO datastorage_auditor;


--
-- Name: FUNCTION export_csv_columns(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.export_csv_columns() FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.export_csv_columns() TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.export_csv_columns() TO datastorage_auditor;


--
-- Name: FUNCTION export_event_csv(e public.audit_events, verdict text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.export_event_csv(e public.audit_events, verdict text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.export_event_csv(e public.audit_events, verdict text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.export_event_csv(e public.audit_events, verdict text) TO datastorage_auditor;


--
-- Name: FUNCTION export_event_json(canonical_members text, event_hash text, previous_event_hash text, verdict text, legal_hold boolean, hash_version smallint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.export_event_json(canonical_members text, event_hash text, previous_event_hash text, verdict text, legal_hold boolean, hash_version smallint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.export_event_json(canonical_members text, event_hash text, previous_event_hash text, verdict text, legal_hold boolean, hash_version smallint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.export_event_json(canonical_members text, event_hash text, previous_event_hash text, verdict text, legal_hold boolean, hash_version smallint) TO datastorage_auditor;


--
-- Name: FUNCTION first_occurrences(p_rows public.audit_events[]); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.first_occurrences(p_rows public.audit_events[]) FROM PUBLIC;


--
-- Name: FUNCTION get_workflow(p_workflow_id uuid); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.get_workflow(p_workflow_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.get_workflow(p_workflow_id uuid) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.get_workflow(p_workflow_id uuid) TO datastorage_auditor;


--
-- Name: FUNCTION go_duration_parse(s text, OUT nanos numeric, OUT error text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.go_duration_parse(s text, OUT nanos numeric, OUT error text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.go_duration_parse(s text, OUT nanos numeric, OUT error text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.go_duration_parse(s text, OUT nanos numeric, OUT error text) TO datastorage_auditor;


--
-- Name: FUNCTION go_duration_text(nanos numeric); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.go_duration_text(nanos numeric) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.go_duration_text(nanos numeric) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.go_duration_text(nanos numeric) TO datastorage_auditor;


--
-- Name: FUNCTION go_quote(s text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.go_quote(s text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.go_quote(s text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.go_quote(s text) TO datastorage_auditor;


--
-- Name: FUNCTION jsonb_drop_null_members(doc jsonb); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.jsonb_drop_null_members(doc jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.jsonb_drop_null_members(doc jsonb) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.jsonb_drop_null_members(doc jsonb) TO datastorage_auditor;


--
-- Name: TABLE audit_legal_holds; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.audit_legal_holds TO datastorage_auditor;
GRANT SELECT,INSERT ON TABLE public.audit_legal_holds TO datastorage_hold_keeper;


--
-- Name: FUNCTION legal_hold_history(p_correlation_id text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.legal_hold_history(p_correlation_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.legal_hold_history(p_correlation_id text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.legal_hold_history(p_correlation_id text) TO datastorage_auditor;


--
-- Name: FUNCTION link_hash(previous_hash text, canonical text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.link_hash(previous_hash text, canonical text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.link_hash(previous_hash text, canonical text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.link_hash(previous_hash text, canonical text) TO datastorage_auditor;


--
-- Name: FUNCTION list_legal_holds(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.list_legal_holds() FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.list_legal_holds() TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.list_legal_holds() TO datastorage_auditor;


--
-- Name: FUNCTION list_workflows(p_status text, p_environment text, p_priority text, p_component text, p_workflow_name text, p_custom_labels jsonb, p_limit integer, p_offset bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.list_workflows(p_status text, p_environment text, p_priority text, p_component text, p_workflow_name text, p_custom_labels jsonb, p_limit integer, p_offset bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.list_workflows(p_status text, p_environment text, p_priority text, p_component text, p_workflow_name text, p_custom_labels jsonb, p_limit integer, p_offset bigint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.list_workflows(p_status text, p_environment text, p_priority text, p_component text, p_workflow_name text, p_custom_labels jsonb, p_limit integer, p_offset bigint) TO datastorage_auditor;


--
-- Name: FUNCTION maintain(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.maintain() FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.maintain() TO datastorage_app;


--
-- Name: FUNCTION place_legal_hold(p_correlation_id text, p_reason text, p_placed_by text); Type: ACL; Schema: datastorage; Owner: datastorage_hold_keeper
--

REVOKE ALL ON FUNCTION datastorage.place_legal_hold(p_correlation_id text, p_reason text, p_placed_by text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.place_legal_hold(p_correlation_id text, p_reason text, p_placed_by text) TO datastorage_app;


--
-- Name: FUNCTION query_audit_events(p_correlation_id text, p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.query_audit_events(p_correlation_id text, p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.query_audit_events(p_correlation_id text, p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.query_audit_events(p_correlation_id text, p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruct_remediation_request(correlation_id text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruct_remediation_request(correlation_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruct_remediation_request(correlation_id text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruct_remediation_request(correlation_id text) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruction_is_datetime(s text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruction_is_datetime(s text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruction_is_datetime(s text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruction_is_datetime(s text) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruction_payload_problem(data jsonb, shape_name text, path text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruction_payload_problem(data jsonb, shape_name text, path text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruction_payload_problem(data jsonb, shape_name text, path text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruction_payload_problem(data jsonb, shape_name text, path text) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruction_safe_id(id text, label boolean, max_len integer); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruction_safe_id(id text, label boolean, max_len integer) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruction_safe_id(id text, label boolean, max_len integer) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruction_safe_id(id text, label boolean, max_len integer) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruction_shape(name text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruction_shape(name text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruction_shape(name text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruction_shape(name text) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruction_shape_check(shape_name text, at text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruction_shape_check(shape_name text, at text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruction_shape_check(shape_name text, at text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruction_shape_check(shape_name text, at text) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruction_shape_path(shape_name text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruction_shape_path(shape_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruction_shape_path(shape_name text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruction_shape_path(shape_name text) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruction_timeouts(tc jsonb, OUT config jsonb, OUT error text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruction_timeouts(tc jsonb, OUT config jsonb, OUT error text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruction_timeouts(tc jsonb, OUT config jsonb, OUT error text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruction_timeouts(tc jsonb, OUT config jsonb, OUT error text) TO datastorage_auditor;


--
-- Name: FUNCTION reconstruction_value_problem(v jsonb, kind text, path text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.reconstruction_value_problem(v jsonb, kind text, path text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.reconstruction_value_problem(v jsonb, kind text, path text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.reconstruction_value_problem(v jsonb, kind text, path text) TO datastorage_auditor;


--
-- Name: FUNCTION record_notification(p jsonb); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.record_notification(p jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.record_notification(p jsonb) TO datastorage_app;


--
-- Name: FUNCTION release_legal_hold(p_correlation_id text, p_release_reason text, p_released_by text); Type: ACL; Schema: datastorage; Owner: datastorage_hold_keeper
--

REVOKE ALL ON FUNCTION datastorage.release_legal_hold(p_correlation_id text, p_release_reason text, p_released_by text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.release_legal_hold(p_correlation_id text, p_release_reason text, p_released_by text) TO datastorage_app;


--
-- Name: FUNCTION retention_begin(p_now timestamp with time zone, p_started_by text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_begin(p_now timestamp with time zone, p_started_by text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.retention_begin(p_now timestamp with time zone, p_started_by text) TO datastorage_maintenance;


--
-- Name: FUNCTION retention_chain_plan(p_cutoff date); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_chain_plan(p_cutoff date) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.retention_chain_plan(p_cutoff date) TO datastorage_maintenance;
GRANT ALL ON FUNCTION datastorage.retention_chain_plan(p_cutoff date) TO datastorage_auditor;


--
-- Name: FUNCTION retention_detach(p_run bigint, rel regclass, cids text[], lo date, hi date, OUT events bigint, OUT chains bigint, OUT locked_ms numeric); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_detach(p_run bigint, rel regclass, cids text[], lo date, hi date, OUT events bigint, OUT chains bigint, OUT locked_ms numeric) FROM PUBLIC;


--
-- Name: FUNCTION retention_detached(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_detached() FROM PUBLIC;


--
-- Name: FUNCTION retention_finish(p_run bigint, p_error text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_finish(p_run bigint, p_error text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.retention_finish(p_run bigint, p_error text) TO datastorage_maintenance;


--
-- Name: FUNCTION retention_lock(rels regclass[]); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_lock(rels regclass[]) FROM PUBLIC;


--
-- Name: FUNCTION retention_lock_heads(p_cids text[]); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_lock_heads(p_cids text[]) FROM PUBLIC;


--
-- Name: FUNCTION retention_lock_key(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_lock_key() FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.retention_lock_key() TO datastorage_maintenance;
GRANT ALL ON FUNCTION datastorage.retention_lock_key() TO datastorage_auditor;


--
-- Name: FUNCTION retention_partition_plan(p_cutoff date, p_cids text[], p_upto bigint[]); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_partition_plan(p_cutoff date, p_cids text[], p_upto bigint[]) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.retention_partition_plan(p_cutoff date, p_cids text[], p_upto bigint[]) TO datastorage_maintenance;
GRANT ALL ON FUNCTION datastorage.retention_partition_plan(p_cutoff date, p_cids text[], p_upto bigint[]) TO datastorage_auditor;


--
-- Name: FUNCTION retention_plan(p_now timestamp with time zone); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_plan(p_now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.retention_plan(p_now timestamp with time zone) TO datastorage_maintenance;
GRANT ALL ON FUNCTION datastorage.retention_plan(p_now timestamp with time zone) TO datastorage_auditor;


--
-- Name: FUNCTION retention_prune_chains(p_run bigint, p_cids text[], p_except regclass, p_lo date, p_hi date, OUT deleted bigint, OUT chains bigint, OUT kept_held bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_prune_chains(p_run bigint, p_cids text[], p_except regclass, p_lo date, p_hi date, OUT deleted bigint, OUT chains bigint, OUT kept_held bigint) FROM PUBLIC;


--
-- Name: FUNCTION retention_record_horizons(p_run bigint, p_cids text[], p_first_kept bigint[], p_hashes text[]); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_record_horizons(p_run bigint, p_cids text[], p_first_kept bigint[], p_hashes text[]) FROM PUBLIC;


--
-- Name: TABLE audit_retention_runs; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.audit_retention_runs TO datastorage_auditor;
GRANT SELECT ON TABLE public.audit_retention_runs TO datastorage_maintenance;


--
-- Name: FUNCTION retention_run_json(r public.audit_retention_runs); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_run_json(r public.audit_retention_runs) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.retention_run_json(r public.audit_retention_runs) TO datastorage_maintenance;
GRANT ALL ON FUNCTION datastorage.retention_run_json(r public.audit_retention_runs) TO datastorage_auditor;


--
-- Name: FUNCTION retention_step(p_run bigint, p_batch integer); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.retention_step(p_run bigint, p_batch integer) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.retention_step(p_run bigint, p_batch integer) TO datastorage_maintenance;


--
-- Name: FUNCTION rfc3339(ts timestamp with time zone); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.rfc3339(ts timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.rfc3339(ts timestamp with time zone) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.rfc3339(ts timestamp with time zone) TO datastorage_auditor;
GRANT ALL ON FUNCTION datastorage.rfc3339(ts timestamp with time zone) TO datastorage_hold_keeper;


--
-- Name: FUNCTION rfc3339_micro(ts timestamp with time zone); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.rfc3339_micro(ts timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.rfc3339_micro(ts timestamp with time zone) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.rfc3339_micro(ts timestamp with time zone) TO datastorage_auditor;
GRANT ALL ON FUNCTION datastorage.rfc3339_micro(ts timestamp with time zone) TO datastorage_hold_keeper;


--
-- Name: PROCEDURE run_retention(IN p_now timestamp with time zone, IN p_started_by text, IN p_batch integer, INOUT p_result jsonb); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON PROCEDURE datastorage.run_retention(IN p_now timestamp with time zone, IN p_started_by text, IN p_batch integer, INOUT p_result jsonb) FROM PUBLIC;
GRANT ALL ON PROCEDURE datastorage.run_retention(IN p_now timestamp with time zone, IN p_started_by text, IN p_batch integer, INOUT p_result jsonb) TO datastorage_maintenance;


--
-- Name: FUNCTION search_audit_events(p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint, p_chain text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.search_audit_events(p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint, p_chain text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.search_audit_events(p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint, p_chain text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.search_audit_events(p_event_type text, p_event_category text, p_event_outcome text, p_severity text, p_since timestamp with time zone, p_until timestamp with time zone, p_limit integer, p_offset bigint, p_chain text) TO datastorage_auditor;


--
-- Name: FUNCTION search_workflows(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.search_workflows(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.search_workflows(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.search_workflows(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean) TO datastorage_auditor;


--
-- Name: FUNCTION search_workflows_rendered(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean, OUT workflows text, OUT total_matches bigint, OUT returned integer, OUT audit_results text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.search_workflows_rendered(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean, OUT workflows text, OUT total_matches bigint, OUT returned integer, OUT audit_results text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.search_workflows_rendered(p_filters jsonb, p_top_k integer, p_min_score numeric, p_include_disabled boolean, OUT workflows text, OUT total_matches bigint, OUT returned integer, OUT audit_results text) TO datastorage_app;


--
-- Name: FUNCTION set_workflow_status(p_workflow_id uuid, p_status text, p_disabled_by text, p_disabled_reason text, p_actor text, p_event jsonb); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.set_workflow_status(p_workflow_id uuid, p_status text, p_disabled_by text, p_disabled_reason text, p_actor text, p_event jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.set_workflow_status(p_workflow_id uuid, p_status text, p_disabled_by text, p_disabled_reason text, p_actor text, p_event jsonb) TO datastorage_app;


--
-- Name: FUNCTION tlog_capture(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_capture() FROM PUBLIC;


--
-- Name: FUNCTION tlog_check_size(p_name text, p_size bigint, p_min bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_check_size(p_name text, p_size bigint, p_min bigint) FROM PUBLIC;


--
-- Name: FUNCTION tlog_consistency(p_first bigint, p_second bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_consistency(p_first bigint, p_second bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_consistency(p_first bigint, p_second bigint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_consistency(p_first bigint, p_second bigint) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_consistency_proof(p_first bigint, p_second bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_consistency_proof(p_first bigint, p_second bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_consistency_proof(p_first bigint, p_second bigint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_consistency_proof(p_first bigint, p_second bigint) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_entry_bundle(p_index bigint, p_width integer); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_entry_bundle(p_index bigint, p_width integer) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_entry_bundle(p_index bigint, p_width integer) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_entry_bundle(p_index bigint, p_width integer) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_event_proof(p_event_id uuid, p_tree_size bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_event_proof(p_event_id uuid, p_tree_size bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_event_proof(p_event_id uuid, p_tree_size bigint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_event_proof(p_event_id uuid, p_tree_size bigint) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_export_proofs(p_event_ids uuid[]); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_export_proofs(p_event_ids uuid[]) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_export_proofs(p_event_ids uuid[]) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_export_proofs(p_event_ids uuid[]) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_head(OUT tree_size bigint, OUT root_hash bytea); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_head(OUT tree_size bigint, OUT root_hash bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_head(OUT tree_size bigint, OUT root_hash bytea) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_head(OUT tree_size bigint, OUT root_hash bytea) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_inclusion_proof(p_leaf_index bigint, p_tree_size bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_inclusion_proof(p_leaf_index bigint, p_tree_size bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_inclusion_proof(p_leaf_index bigint, p_tree_size bigint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_inclusion_proof(p_leaf_index bigint, p_tree_size bigint) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_integrate(p_max_batch integer); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_integrate(p_max_batch integer) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_integrate(p_max_batch integer) TO datastorage_app;


--
-- Name: FUNCTION tlog_latest_checkpoint(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_latest_checkpoint() FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_latest_checkpoint() TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_latest_checkpoint() TO datastorage_auditor;


--
-- Name: FUNCTION tlog_leaf(p_event_id uuid, p_event_hash text, p_correlation_id text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_leaf(p_event_id uuid, p_event_hash text, p_correlation_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_leaf(p_event_id uuid, p_event_hash text, p_correlation_id text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_leaf(p_event_id uuid, p_event_hash text, p_correlation_id text) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_leaf_hash(p_event_id uuid, p_event_hash text, p_correlation_id text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_leaf_hash(p_event_id uuid, p_event_hash text, p_correlation_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_leaf_hash(p_event_id uuid, p_event_hash text, p_correlation_id text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_leaf_hash(p_event_id uuid, p_event_hash text, p_correlation_id text) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_node_hash(p_left bytea, p_right bytea); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_node_hash(p_left bytea, p_right bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_node_hash(p_left bytea, p_right bytea) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_node_hash(p_left bytea, p_right bytea) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_record_checkpoint(p_tree_size bigint, p_root_hash bytea, p_note text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_record_checkpoint(p_tree_size bigint, p_root_hash bytea, p_note text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_record_checkpoint(p_tree_size bigint, p_root_hash bytea, p_note text) TO datastorage_app;


--
-- Name: FUNCTION tlog_refuse_change(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_refuse_change() FROM PUBLIC;


--
-- Name: FUNCTION tlog_root(p_tree_size bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_root(p_tree_size bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_root(p_tree_size bigint) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_root(p_tree_size bigint) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_size(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_size() FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_size() TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_size() TO datastorage_auditor;


--
-- Name: FUNCTION tlog_split(n bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_split(n bigint) FROM PUBLIC;


--
-- Name: FUNCTION tlog_subtree(p_lo bigint, p_hi bigint); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_subtree(p_lo bigint, p_hi bigint) FROM PUBLIC;


--
-- Name: FUNCTION tlog_take(s bigint, p_max_batch integer); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_take(s bigint, p_max_batch integer) FROM PUBLIC;


--
-- Name: FUNCTION tlog_tile(p_level integer, p_index bigint, p_width integer); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_tile(p_level integer, p_index bigint, p_width integer) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.tlog_tile(p_level integer, p_index bigint, p_width integer) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.tlog_tile(p_level integer, p_index bigint, p_width integer) TO datastorage_auditor;


--
-- Name: FUNCTION tlog_tile_check(p_level integer, p_index bigint, p_width integer); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.tlog_tile_check(p_level integer, p_index bigint, p_width integer) FROM PUBLIC;


--
-- Name: FUNCTION verify_chain(p_correlation_id text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.verify_chain(p_correlation_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.verify_chain(p_correlation_id text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.verify_chain(p_correlation_id text) TO datastorage_auditor;


--
-- Name: FUNCTION verify_chain_summary(p_correlation_id text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.verify_chain_summary(p_correlation_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.verify_chain_summary(p_correlation_id text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.verify_chain_summary(p_correlation_id text) TO datastorage_auditor;


--
-- Name: FUNCTION verify_chains(p_correlation_ids text[]); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.verify_chains(p_correlation_ids text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.verify_chains(p_correlation_ids text[]) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.verify_chains(p_correlation_ids text[]) TO datastorage_auditor;


--
-- Name: FUNCTION verify_one_chain(p_correlation_id text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.verify_one_chain(p_correlation_id text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.verify_one_chain(p_correlation_id text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.verify_one_chain(p_correlation_id text) TO datastorage_auditor;


--
-- Name: TABLE remediation_workflow_catalog; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.remediation_workflow_catalog TO datastorage_auditor;


--
-- Name: FUNCTION workflow_json(w public.remediation_workflow_catalog); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.workflow_json(w public.remediation_workflow_catalog) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.workflow_json(w public.remediation_workflow_catalog) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.workflow_json(w public.remediation_workflow_catalog) TO datastorage_auditor;


--
-- Name: FUNCTION workflow_touch_updated_at(); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.workflow_touch_updated_at() FROM PUBLIC;


--
-- Name: FUNCTION workflow_versions(p_workflow_name text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.workflow_versions(p_workflow_name text) FROM PUBLIC;
GRANT ALL ON FUNCTION datastorage.workflow_versions(p_workflow_name text) TO datastorage_app;
GRANT ALL ON FUNCTION datastorage.workflow_versions(p_workflow_name text) TO datastorage_auditor;


--
-- Name: FUNCTION chain_links(text, text); Type: ACL; Schema: datastorage; Owner: datastorage_owner
--

REVOKE ALL ON FUNCTION datastorage.chain_links(text, text) FROM PUBLIC;


--
-- Name: TABLE audit_chain_heads; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.audit_chain_heads TO datastorage_auditor;
GRANT SELECT ON TABLE public.audit_chain_heads TO datastorage_hold_keeper;


--
-- Name: COLUMN audit_chain_heads.legal_hold; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT UPDATE(legal_hold) ON TABLE public.audit_chain_heads TO datastorage_hold_keeper;


--
-- Name: COLUMN audit_chain_heads.legal_hold_reason; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT UPDATE(legal_hold_reason) ON TABLE public.audit_chain_heads TO datastorage_hold_keeper;


--
-- Name: COLUMN audit_chain_heads.legal_hold_placed_by; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT UPDATE(legal_hold_placed_by) ON TABLE public.audit_chain_heads TO datastorage_hold_keeper;


--
-- Name: COLUMN audit_chain_heads.legal_hold_placed_at; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT UPDATE(legal_hold_placed_at) ON TABLE public.audit_chain_heads TO datastorage_hold_keeper;


--
-- Name: TABLE audit_event_ids; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.audit_event_ids TO datastorage_auditor;


--
-- Name: TABLE audit_events_default; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.audit_events_default TO datastorage_auditor;


--
-- Name: TABLE audit_retention_horizons; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.audit_retention_horizons TO datastorage_auditor;
GRANT SELECT ON TABLE public.audit_retention_horizons TO datastorage_maintenance;


--
-- Name: TABLE audit_retention_queue; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.audit_retention_queue TO datastorage_auditor;


--
-- Name: TABLE notification_audit; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.notification_audit TO datastorage_auditor;


--
-- Name: TABLE tlog_checkpoints; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.tlog_checkpoints TO datastorage_auditor;


--
-- Name: TABLE tlog_leaves; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.tlog_leaves TO datastorage_auditor;


--
-- Name: TABLE tlog_nodes; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.tlog_nodes TO datastorage_auditor;


--
-- Name: TABLE tlog_outbox; Type: ACL; Schema: public; Owner: datastorage_owner
--

GRANT SELECT ON TABLE public.tlog_outbox TO datastorage_auditor;


--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: datastorage; Owner: datastorage_owner
--

ALTER DEFAULT PRIVILEGES FOR ROLE datastorage_owner IN SCHEMA datastorage GRANT SELECT ON TABLES  TO datastorage_auditor;


--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public; Owner: datastorage_owner
--

ALTER DEFAULT PRIVILEGES FOR ROLE datastorage_owner IN SCHEMA public GRANT SELECT ON TABLES  TO datastorage_auditor;


--
-- Name: DEFAULT PRIVILEGES FOR FUNCTIONS; Type: DEFAULT ACL; Schema: -; Owner: datastorage_owner
--

ALTER DEFAULT PRIVILEGES FOR ROLE datastorage_owner REVOKE ALL ON FUNCTIONS  FROM PUBLIC;


--
-- Name: datastorage_guard_end; Type: EVENT TRIGGER; Schema: -; Owner: postgres
--

CREATE EVENT TRIGGER datastorage_guard_end ON ddl_command_end
   EXECUTE FUNCTION datastorage_guard.ddl_end();


ALTER EVENT TRIGGER datastorage_guard_end OWNER TO postgres;

--
-- Name: datastorage_guard_rewrite; Type: EVENT TRIGGER; Schema: -; Owner: postgres
--

CREATE EVENT TRIGGER datastorage_guard_rewrite ON table_rewrite
   EXECUTE FUNCTION datastorage_guard.refuse_rewrite();


ALTER EVENT TRIGGER datastorage_guard_rewrite OWNER TO postgres;

--
-- Name: datastorage_guard_start; Type: EVENT TRIGGER; Schema: -; Owner: postgres
--

CREATE EVENT TRIGGER datastorage_guard_start ON ddl_command_start
   EXECUTE FUNCTION datastorage_guard.ddl_start();


ALTER EVENT TRIGGER datastorage_guard_start OWNER TO postgres;

--
-- PostgreSQL database dump complete
--
