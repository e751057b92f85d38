-- Rule: every audit event is linked into the hash chain of its correlation id.
--
--   event_hash = hex(sha256(previous_event_hash || canonical_event(row)))
--
-- Chains are ordered by chain_seq, assigned under the chain-head row lock
-- (never by timestamp: clients send old, equal and out-of-order timestamps).
-- The first event's previous_event_hash is ''. canonical_event() covers every
-- stored field except the hash columns, hash_version and the mutable
-- legal-hold columns; docs/hash-chain.md specifies its bytes for independent
-- verifiers. The row's hash_version says which canonical form its hash
-- covers: 1 (canonical_fields, the jsonb-text object) for events stored
-- before migration 0070, 2 (canonical_fields_v2) for every event appended
-- since. Every verifier dispatches on it per event.

-- Version 1: the canonical text is exactly what jsonb_build_object(<the 30 members>)::text
-- renders: members sorted by key (byte length, then bytes), ", " and ": "
-- separators, strings escaped as PostgreSQL's escape_json does, numbers and
-- nested jsonb as jsonb prints them, NULL as null. It is assembled by
-- concatenation in that fixed order because jsonb_build_object costs ~3x as
-- much per event; tests/db/test_canonical_property.py holds both renderings
-- (and the Python one in app/canonical.py) to the same bytes.
-- canonical_members() is the text between the braces: exports splice other
-- members in front of it without cutting (character-wise) into long text.
-- canonical_fields() renders the members from the column values (in member
-- order), so the append renders a row it has not built yet; canonical_members()
-- is the same for a stored row. Both are inlined by the planner.
CREATE OR REPLACE FUNCTION datastorage.canonical_fields(
    p_span_id text,
    p_event_version text,
    p_actor_id text,
    p_actor_ip inet,
    p_event_id uuid,
    p_severity text,
    p_trace_id text,
    p_chain_seq bigint,
    p_namespace text,
    p_actor_type text,
    p_error_code text,
    p_event_data jsonb,
    p_event_date date,
    p_event_type text,
    p_duration_ms integer,
    p_resource_id text,
    p_cluster_name text,
    p_event_action text,
    p_is_sensitive boolean,
    p_error_message text,
    p_event_outcome text,
    p_resource_name text,
    p_resource_type text,
    p_correlation_id text,
    p_event_category text,
    p_event_metadata jsonb,
    p_retention_days integer,
    p_event_timestamp timestamptz,
    p_parent_event_id uuid,
    p_parent_event_date date)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
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

-- Version 2: the same 30 values for a fraction of the cost (docs/hash-chain.md
-- section 7). Three lines joined by a newline: a compact JSON array of "2"
-- and the 28 scalar columns as strings (or null), event_data's jsonb text,
-- event_metadata's jsonb text (or null). array_to_json() renders the strings
-- with one type lookup per array where to_json() pays one per value, and the
-- array carries no member names. Every rendering is fixed: to_char with a
-- literal pattern for instants (in UTC) and dates, host() for inet, the
-- output functions of uuid, integers and booleans (none reads a session
-- setting).
CREATE OR REPLACE FUNCTION datastorage.canonical_fields_v2(
    p_span_id text,
    p_event_version text,
    p_actor_id text,
    p_actor_ip inet,
    p_event_id uuid,
    p_severity text,
    p_trace_id text,
    p_chain_seq bigint,
    p_namespace text,
    p_actor_type text,
    p_error_code text,
    p_event_data jsonb,
    p_event_date date,
    p_event_type text,
    p_duration_ms integer,
    p_resource_id text,
    p_cluster_name text,
    p_event_action text,
    p_is_sensitive boolean,
    p_error_message text,
    p_event_outcome text,
    p_resource_name text,
    p_resource_type text,
    p_correlation_id text,
    p_event_category text,
    p_event_metadata jsonb,
    p_retention_days integer,
    p_event_timestamp timestamptz,
    p_parent_event_id uuid,
    p_parent_event_date date)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
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

CREATE OR REPLACE FUNCTION datastorage.canonical_members(e public.audit_events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT datastorage.canonical_fields(e.span_id, e.event_version, e.actor_id, e.actor_ip, e.event_id, e.severity, e.trace_id, e.chain_seq, e.namespace, e.actor_type, e.error_code, e.event_data, e.event_date, e.event_type, e.duration_ms, e.resource_id, e.cluster_name, e.event_action, e.is_sensitive, e.error_message, e.event_outcome, e.resource_name, e.resource_type, e.correlation_id, e.event_category, e.event_metadata, e.retention_days, e.event_timestamp, e.parent_event_id, e.parent_event_date)
$$;

CREATE OR REPLACE FUNCTION datastorage.canonical_event_v2(e public.audit_events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT datastorage.canonical_fields_v2(e.span_id, e.event_version, e.actor_id, e.actor_ip, e.event_id, e.severity, e.trace_id, e.chain_seq, e.namespace, e.actor_type, e.error_code, e.event_data, e.event_date, e.event_type, e.duration_ms, e.resource_id, e.cluster_name, e.event_action, e.is_sensitive, e.error_message, e.event_outcome, e.resource_name, e.resource_type, e.correlation_id, e.event_category, e.event_metadata, e.retention_days, e.event_timestamp, e.parent_event_id, e.parent_event_date)
$$;

-- The canonical text of a stored event in the form its hash_version names
-- (NULL for a version this code does not know: its hash then never matches).
CREATE OR REPLACE FUNCTION datastorage.canonical_event(e public.audit_events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE e.hash_version WHEN 2 THEN datastorage.canonical_event_v2(e)
                               WHEN 1 THEN '{' || datastorage.canonical_members(e) || '}' END
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

-- The running link of a chain, as a window aggregate over the chain's new
-- events in order: each row's value is the previous event's hash (the chain
-- head's hash, possibly '', for the first) followed by the event's own,
-- link_hash(previous, canonical): 64 hex digits each, so right(value, 64)
-- is the event hash and left(value, -64) the previous one. Carrying both
-- spares the append a lag() window over its wide rows. PL/pgSQL because a
-- transition function is never inlined, and a RETURN expression is
-- PL/pgSQL's cheapest call.
CREATE OR REPLACE FUNCTION datastorage.chain_link_step(p_state text, p_start text, p_canonical text)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    -- Qualified throughout instead of a SET search_path clause, which
    -- would cost a configuration change on every call (every event).
    prev text := coalesce(pg_catalog.right(p_state, 64), p_start);
BEGIN
    RETURN prev OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
        prev OPERATOR(pg_catalog.||) p_canonical, 'UTF8')), 'hex');
END
$$;

CREATE OR REPLACE AGGREGATE datastorage.chain_links(text, text) (
    SFUNC = datastorage.chain_link_step, STYPE = text);

-- The first occurrence of each event id in a parsed batch, sorted by id
-- (the order ids are claimed in), with its position in the array. Inlined
-- by the planner into each statement that reads it.
CREATE OR REPLACE FUNCTION datastorage.first_occurrences(p_rows public.audit_events[])
RETURNS TABLE (event_id uuid, event_date date, correlation_id text, ordinality bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT DISTINCT ON (e.event_id) e.event_id, (e.event_timestamp AT TIME ZONE 'UTC')::date,
           e.correlation_id, e.ordinality
    FROM unnest(p_rows) WITH ORDINALITY AS e
    ORDER BY e.event_id, e.ordinality
$$;

-- Append events (a JSON array of objects keyed by column name, ids and
-- defaults already assigned by the caller) in one transaction.
--   * chains are locked in sorted correlation-id order: concurrent batches
--     cannot deadlock;
--   * within a chain, events link in array order;
--   * an event_id already stored is skipped, whatever its timestamp
--     (replays are idempotent); a repeated id within the array counts once;
--     on a Citus cluster "already stored" means in the same chain;
--   * events of a chain under legal hold are held on arrival;
--   * parent_event_id must name a stored event (or one earlier in the array).
-- Returns the number of events inserted (the rest were already stored).
--
-- Set-based, four statements whatever the batch size: (1) parse the array
-- once into typed rows (a PL/pgSQL array that the later statements unnest:
-- parsing costs ~5 us per event, unnesting ~0.3) and lock the chain heads;
-- (2) claim the new ids in audit_event_ids (one B-tree, not one probe per
-- partition); (3) number, hash and insert the claimed events, one sort of
-- each chain's rows; (4) move the heads. Ids are claimed in sorted order, so
-- two replays of overlapping batches wait for each other without
-- deadlocking. A replay, or an array repeating an id, costs one more
-- statement, which lists the positions to append.
--
-- Plans: generic, made once per session, because a custom plan costs a
-- planning per call (the head update was re-planned on every call of a few
-- events: ~60 us of the ~550 a one-event call costs). A generic plan is
-- kept until its tables' statistics change, so one made while a table was
-- small could scan the whole table later (the head update did, once the
-- heads had grown within one session: 1.6 ms per call): enable_seqscan = off
-- keeps every read of a table an index lookup, which is what a batch of
-- any size wants. sql/citus/30_functions.sql resets both on a cluster,
-- where Citus plans with the parameters' values.
CREATE OR REPLACE FUNCTION datastorage.append_audit_events(p_events jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
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
$$;

-- Append events of one chain: the single-chain entry point. It names its
-- chain, so on a Citus cluster the call is delegated to the shard holding
-- that chain (sql/citus/40_delegate.sql); on one node it is the same append.
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

-- Whether the chains live on Citus shards (the audit tables distributed by
-- sql/citus/): the spool's drainer then replays each chain's records through
-- the single-chain entry point (app/writes.py). Citus's catalog is read only
-- where it exists.
CREATE OR REPLACE FUNCTION datastorage.chains_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
$$;

GRANT EXECUTE ON FUNCTION datastorage.append_audit_events(jsonb),
                          datastorage.append_chain_events(text, jsonb),
                          datastorage.chains_distributed() TO datastorage_app;
GRANT EXECUTE ON FUNCTION datastorage.canonical_event(public.audit_events),
                          datastorage.canonical_event_v2(public.audit_events),
                          datastorage.canonical_members(public.audit_events),
                          datastorage.chain_hash(text, public.audit_events),
                          datastorage.link_hash(text, text)
    TO datastorage_app, datastorage_auditor;
