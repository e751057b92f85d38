-- Rule: label search over the workflow catalog, scored in one function
-- (spec/workflow-catalog.md §10; docs/workflow-scoring.md walks an example).
--
-- Hard filters (a row failing one is not scored):
--   latest version only; status in the requested set (below); signal_type
--   and severity exact; component, environment and priority equal to the
--   query's or '*' on the workflow's side; filters.workflow_name exact when given.
-- Score, exact decimals throughout:
--   detected = sum of the detected-label weights matched (at most 0.39)
--   custom   = per query custom value: 0.05 exact, 0.03 workflow '*', else 0
--   penalty  = 0.10 gitOpsManaged wanted but absent
--            + 0.10 gitOps tool wanted (argocd|flux) but absent or different
--   label_boost = least(detected + custom, 0.39)      -- the contract's bound
--   final_score = confidence = (5.0 + label_boost - penalty) / 10.0
-- so label_boost is in [0, 0.39], label_penalty in [0, 0.20] and the score in
-- [0.48, 0.539]. Order: final_score, then the uncapped score (custom labels
-- past the cap still separate otherwise tied rows), newest created_at,
-- workflow_id. Rows below min_score are dropped before ranking and counting.
--
-- Status set: filters.status when non-empty; else active plus disabled when
-- include_disabled; else active only (the original ignored filters.status and
-- with include_disabled returned deprecated and archived rows too).
-- Query-side detected labels named in failed_detections are ignored (a
-- failed gitOpsManaged detection also voids gitOpsTool, detected with it).
-- Every query value is bound; custom-label keys are looked up verbatim.

CREATE OR REPLACE FUNCTION datastorage.search_workflows(
    p_filters jsonb, p_top_k integer DEFAULT 10, p_min_score numeric DEFAULT 0,
    p_include_disabled boolean DEFAULT false)
RETURNS TABLE (rank integer, workflow_id uuid, workflow_name text, version text, title text,
               description text, signal_type text, container_image text,
               container_digest text, custom_labels jsonb, detected_labels jsonb,
               detected_label_boost numeric, custom_label_boost numeric, label_boost numeric,
               label_penalty numeric, final_score numeric, confidence numeric,
               total_matches bigint, created_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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

GRANT EXECUTE ON FUNCTION datastorage.search_workflows(jsonb, integer, numeric, boolean)
    TO datastorage_app, datastorage_auditor;

-- The search as the service answers it, rendered in the same call: the
-- `workflows` array of the response body and the `results.workflows` array
-- of the search's audit event, as JSON text, plus the counts both need.
-- The service embeds the text verbatim, so this is where the wire format of
-- a result lives: members in the order below; container_image,
-- container_digest and an empty custom_labels left out; scores as the exact
-- decimals search_workflows returns (0.5, 0.539, 0); custom_labels and
-- detected_labels in jsonb's own text form. The audit copy cuts each
-- description to 2048 characters (a search event names up to 100
-- workflows; one huge description must not make it unstorable).
-- PL/pgSQL, not SQL: a SQL function's query is planned again on every call
-- (~250 µs here); PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION datastorage.search_workflows_rendered(
    p_filters jsonb, p_top_k integer DEFAULT 10, p_min_score numeric DEFAULT 0,
    p_include_disabled boolean DEFAULT false,
    OUT workflows text, OUT total_matches bigint, OUT returned integer, OUT audit_results text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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

GRANT EXECUTE ON FUNCTION datastorage.search_workflows_rendered(jsonb, integer, numeric, boolean)
    TO datastorage_app;
