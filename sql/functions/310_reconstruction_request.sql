-- Rule: a RemediationRequest can be rebuilt from its audit trail alone
-- (BR-AUDIT-006, spec/reconstruction.md). One call,
--
--     SELECT datastorage.reconstruct_remediation_request('rr-demo-1');
--
-- reads the five relevant event types of the correlation id oldest first,
-- merges them (later events win; labels and annotations are united key by
-- key), and returns the Kubernetes JSON form of the object together with its
-- validation result:
--
--     {"correlation_id": ..., "remediation_request": {apiVersion, kind,
--      metadata, spec, status}, "validation": {is_valid, completeness,
--      errors, warnings}}
--
-- Completeness counts nine items equally: floor(present * 100 / 9). Refusals
-- are raised with the HTTP status in the SQLSTATE and the problem type slug
-- in HINT, so psql shows the same verdict as the API:
--   DS404 audit/correlation-not-found         no relevant event at all
--   DS400 reconstruction/no-parseable-events  every relevant event unusable
--   DS400 reconstruction/missing-gateway-event no gateway.signal.received
--   DS400 reconstruction/invalid-duration     a timeout that Go cannot parse
--   DS400 reconstruction/incomplete-data      completeness below 50
-- DETAIL carries a JSON object with what was found so far (the problem's
-- extension members; no `errors` member when there are none). A stored payload
-- that does not decode as its event type's schema is never fatal: the event
-- is skipped and named in validation.errors (so is_valid becomes false).

-- The payload schemas of the contract as far as decoding goes: required
-- members and the JSON type of every known member (enums are not checked,
-- unknown members are ignored). A kind starting with '@' is a nested shape.
CREATE OR REPLACE FUNCTION datastorage.reconstruction_shape(name text) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
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

-- RFC 3339 as Go's time.Parse(time.RFC3339) accepts it: upper-case T, a
-- zone (Z or ±hh:mm), optional fraction, every field in range.
CREATE OR REPLACE FUNCTION datastorage.reconstruction_is_datetime(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce((
        SELECT m[2]::int BETWEEN 1 AND 12
           AND m[3]::int BETWEEN 1 AND extract(day FROM make_date(2000 + m[1]::int % 400, m[2]::int, 1)
                                                   + interval '1 month - 1 day')::int
           AND m[4]::int <= 23 AND m[5]::int <= 59 AND m[6]::int <= 59
           AND coalesce(m[7]::int, 0) <= 23 AND coalesce(m[8]::int, 0) <= 59
        FROM (SELECT regexp_match(s, '^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?'
                                     '(?:Z|[+-](\d{2}):(\d{2}))$') AS m) r
        WHERE m IS NOT NULL AND m[2]::int BETWEEN 1 AND 12), false)
$$;

-- Why one JSON value does not decode as `kind`, or NULL when it does.
CREATE OR REPLACE FUNCTION datastorage.reconstruction_value_problem(v jsonb, kind text, path text)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
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

-- Why a payload does not decode as the named shape (first problem found:
-- missing required members in schema order, then wrongly typed members), or
-- NULL when it decodes.
CREATE OR REPLACE FUNCTION datastorage.reconstruction_payload_problem(
    data jsonb, shape_name text, path text DEFAULT '') RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
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

-- The same decoding rules as one jsonpath predicate, evaluated in C: true
-- means the payload certainly decodes (the common case), so the slow
-- explanation above only runs for payloads that may not. Deliberately a
-- little stricter than the rules (days 29-31 take the slow path).
CREATE OR REPLACE FUNCTION datastorage.reconstruction_shape_check(shape_name text, at text DEFAULT '$')
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
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
$$;

CREATE OR REPLACE FUNCTION datastorage.reconstruction_shape_path(shape_name text) RETURNS jsonpath
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT datastorage.reconstruction_shape_check(shape_name)::jsonpath
$$;

-- A Kubernetes-safe rendering of a correlation id when the raw one is not:
-- lower-case alphanumerics and '-' (or also '.', '_' and upper case for
-- label values), at most `max_len` characters, ending in 8 hex digits of its
-- SHA-256 so that different ids stay different.
CREATE OR REPLACE FUNCTION datastorage.reconstruction_safe_id(id text, label boolean, max_len integer)
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN slug = '' THEN h ELSE slug || '-' || h END
    FROM (SELECT left(encode(sha256(convert_to(id, 'UTF8')), 'hex'), 8) AS h,
                 regexp_replace(left(regexp_replace(regexp_replace(
                     CASE WHEN label THEN id ELSE lower(id) END,
                     CASE WHEN label THEN '[^A-Za-z0-9._-]+' ELSE '[^a-z0-9]+' END, '-', 'g'),
                     '^[^A-Za-z0-9]+', ''), max_len - 9), '[^A-Za-z0-9]+$', '') AS slug) s
$$;

-- A timeout_config as status.timeoutConfig: each non-empty member parsed as
-- a Go duration and written in Go's canonical form, empty members left out;
-- `error` is the original's message for the first member (in the order
-- global, processing, analyzing, executing) that does not parse.
CREATE OR REPLACE FUNCTION datastorage.reconstruction_timeouts(tc jsonb, OUT config jsonb, OUT error text)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
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

-- plan_cache_mode: the trail query's generic plan (an index scan on
-- correlation_id in every partition) is right for any id; re-planning it
-- for each call would cost more than running it.
CREATE OR REPLACE FUNCTION datastorage.reconstruct_remediation_request(correlation_id text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
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
$$;

GRANT EXECUTE ON FUNCTION datastorage.reconstruct_remediation_request(text)
    TO datastorage_app, datastorage_auditor;
GRANT EXECUTE ON FUNCTION datastorage.reconstruction_shape(text),
                          datastorage.reconstruction_is_datetime(text),
                          datastorage.reconstruction_value_problem(jsonb, text, text),
                          datastorage.reconstruction_payload_problem(jsonb, text, text),
                          datastorage.reconstruction_shape_check(text, text),
                          datastorage.reconstruction_shape_path(text),
                          datastorage.reconstruction_timeouts(jsonb),
                          datastorage.reconstruction_safe_id(text, boolean, integer)
    TO datastorage_app, datastorage_auditor;
