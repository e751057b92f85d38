-- Rules of the workflow catalog (spec/workflow-catalog.md §2-§8):
--
--   * latest version: creating a version makes it the one latest row of its
--     workflow_name ("latest" = most recently created, as the original), the
--     previous latest is demoted in the same transaction; creates of one name
--     are serialised by a transaction-scoped advisory lock, and a partial
--     unique index makes a second latest row impossible; created_at is read
--     after the lock, so within a name the latest row is also the newest;
--   * (workflow_name, version) is unique: a duplicate is DS409 and changes
--     nothing;
--   * the service's own audit event for a create or a status change is
--     appended in the SAME transaction through append_audit_events (hash
--     chained like every client event): a catalog change and its audit
--     record commit together or not at all;
--   * a status change re-reads the row it returns; leaving `disabled` clears
--     disabled_at/by/reason (they describe the current disablement only; the
--     audit trail keeps the history).
--
-- Errors: DS400 with HINT 'bad-request' for the original's handler-level
-- checks, DS404 for an unknown id, DS409 (HINT 'workflow-exists') for a
-- duplicate version.

-- updated_at follows every UPDATE.
CREATE OR REPLACE FUNCTION datastorage.workflow_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER workflow_touch_updated_at
    BEFORE UPDATE ON public.remediation_workflow_catalog
    FOR EACH ROW EXECUTE FUNCTION datastorage.workflow_touch_updated_at();

-- Top-level members whose value is JSON null removed; nested values untouched
-- (jsonb_strip_nulls would also rewrite parameters and labels).
CREATE OR REPLACE FUNCTION datastorage.jsonb_drop_null_members(doc jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT doc - coalesce((SELECT array_agg(key) FROM jsonb_each(doc)
                           WHERE jsonb_typeof(value) = 'null'), '{}')
$$;

-- One workflow as the API returns it (RemediationWorkflow, spec §3): optional
-- columns only when not NULL, custom_labels only when not {}.
CREATE OR REPLACE FUNCTION datastorage.workflow_json(w public.remediation_workflow_catalog)
RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $$
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

-- Create a version. p_workflow carries the insertable members of a
-- RemediationWorkflow body (others, e.g. created_at or total_executions, are
-- ignored as by the original); p_workflow_id lets the caller fix the id its
-- audit event names (NULL: generated); p_event is a JSON array of audit rows
-- (app/events.py shape) appended in this transaction, or NULL.
CREATE OR REPLACE FUNCTION datastorage.create_workflow(
    p_workflow jsonb, p_workflow_id uuid DEFAULT NULL, p_event jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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

-- Change the lifecycle status of one workflow (PATCH and PATCH .../disable).
--   p_status NULL        status unchanged; only updated_by may change;
--   p_status 'disabled'  disabled_at = now(), disabled_by/reason = the given
--                        values ('' when NULL), status_reason = the reason;
--   any other status     disabled_at/by/reason and status_reason cleared.
-- updated_by = p_actor, else the disabling user, else unchanged.
-- p_event (JSON array of one audit row) is appended in this transaction; when
-- its updated_fields has no status, the effective status is filled in.
CREATE OR REPLACE FUNCTION datastorage.set_workflow_status(
    p_workflow_id uuid, p_status text DEFAULT NULL, p_disabled_by text DEFAULT NULL,
    p_disabled_reason text DEFAULT NULL, p_actor text DEFAULT NULL, p_event jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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

CREATE OR REPLACE FUNCTION datastorage.get_workflow(p_workflow_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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

-- Every version of one name, newest first (the original's by-name route).
CREATE OR REPLACE FUNCTION datastorage.workflow_versions(p_workflow_name text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object(
        'workflow_name', p_workflow_name,
        'versions', coalesce(jsonb_agg(datastorage.workflow_json(c)
                                       ORDER BY c.created_at DESC, c.workflow_id DESC), '[]'),
        'total', count(*))
    FROM public.remediation_workflow_catalog c
    WHERE c.workflow_name = p_workflow_name
$$;

-- GET /api/v1/workflows. Filters are optional (NULL = not filtered):
--   status, workflow_name   exact;
--   environment, component, priority
--                           the workflow's own value or its '*' wildcard (as
--                           search matches them; the original's list ignored
--                           wildcards for component and priority);
--   custom_labels           {"key": ["v1", "v2"], ...}: for every key, the
--                           workflow's array holds one of the values or '*'
--                           (the original parsed these and ignored them).
-- All versions and statuses are listed, newest first; `total` counts every
-- match (same snapshot as the page).
CREATE OR REPLACE FUNCTION datastorage.list_workflows(
    p_status text DEFAULT NULL, p_environment text DEFAULT NULL, p_priority text DEFAULT NULL,
    p_component text DEFAULT NULL, p_workflow_name text DEFAULT NULL,
    p_custom_labels jsonb DEFAULT NULL, p_limit integer DEFAULT 100, p_offset bigint DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
$$;

GRANT EXECUTE ON FUNCTION
    datastorage.create_workflow(jsonb, uuid, jsonb),
    datastorage.set_workflow_status(uuid, text, text, text, text, jsonb)
    TO datastorage_app;
GRANT EXECUTE ON FUNCTION
    datastorage.jsonb_drop_null_members(jsonb),
    datastorage.workflow_json(public.remediation_workflow_catalog),
    datastorage.get_workflow(uuid),
    datastorage.workflow_versions(text),
    datastorage.list_workflows(text, text, text, text, text, jsonb, integer, bigint)
    TO datastorage_app, datastorage_auditor;
