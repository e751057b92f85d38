-- Rule: hard filters and ordering of datastorage.search_workflows
-- (spec/workflow-catalog.md §10.2, §10.4): exact labels, workflow-side
-- wildcards, environment arrays, lifecycle status, latest version only,
-- workflow_name, min_score/top_k/total, and deterministic order on ties.
BEGIN;
SELECT plan(28);

CREATE FUNCTION pg_temp.mk(p_name text, p_signal text, p_labels jsonb DEFAULT '{}',
                           p_status text DEFAULT 'active', p_version text DEFAULT '1.0.0')
RETURNS uuid LANGUAGE sql AS $$
    SELECT (datastorage.create_workflow(jsonb_build_object(
        'workflow_name', p_name, 'version', p_version, 'name', p_name || ' ' || p_version,
        'description', 'd', 'content', 'steps: []', 'content_hash', repeat('0', 64),
        'execution_engine', 'tekton', 'status', p_status,
        'labels', jsonb_build_object('signal_type', p_signal, 'severity', 'critical',
                                     'component', 'deployment', 'environment', '["production"]'::jsonb,
                                     'priority', 'P0') || p_labels)) ->> 'workflow_id')::uuid
$$;
CREATE FUNCTION pg_temp.q(p_signal text, p_extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('signal_type', p_signal, 'severity', 'critical',
                              'component', 'deployment', 'environment', 'production',
                              'priority', 'P0') || p_extra
$$;
-- Titles found, in rank order.
CREATE FUNCTION pg_temp.found(p_filters jsonb, p_top_k integer DEFAULT 100,
                              p_min numeric DEFAULT 0, p_disabled boolean DEFAULT false)
RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(title ORDER BY rank), '{}')
    FROM datastorage.search_workflows(p_filters, p_top_k, p_min, p_disabled)
$$;

-- ---- exact labels ----------------------------------------------------------
SELECT pg_temp.mk('s-oom', 'OOMKilled');
SELECT pg_temp.mk('s-star', '*');
SELECT pg_temp.mk('s-high', 'OOMKilled', '{"severity": "high"}');
SELECT is(pg_temp.found(pg_temp.q('OOMKilled')), ARRAY['s-oom 1.0.0'], 'signal_type and severity match exactly');
SELECT is(pg_temp.found(pg_temp.q('oomkilled')), '{}'::text[], 'signal_type is case-sensitive; no match is an empty result');
SELECT is(pg_temp.found(pg_temp.q('OOMKilled', '{"severity": "high"}')), ARRAY['s-high 1.0.0'], 'severity selects');

-- ---- component wildcard (workflow side only) -------------------------------
SELECT pg_temp.mk('c-any', 'CMP', '{"component": "*"}');
SELECT pg_temp.mk('c-deploy', 'CMP');
SELECT set_eq($$ SELECT unnest(pg_temp.found(pg_temp.q('CMP'))) $$, ARRAY['c-deploy 1.0.0', 'c-any 1.0.0'],
              'component * and exact both match deployment');
SELECT is(pg_temp.found(pg_temp.q('CMP', '{"component": "unknown-component"}')), ARRAY['c-any 1.0.0'],
          'only the * workflow matches an unknown component');
SELECT is(pg_temp.found(pg_temp.q('CMP', '{"component": "*"}')), ARRAY['c-any 1.0.0'],
          'a query * is a literal: it matches only * workflows');

-- ---- environment arrays ----------------------------------------------------
SELECT pg_temp.mk('e-prod', 'ENV');
SELECT pg_temp.mk('e-staging', 'ENV', '{"environment": ["staging"]}');
SELECT pg_temp.mk('e-both', 'ENV', '{"environment": ["staging", "production"]}');
SELECT pg_temp.mk('e-dev', 'ENV', '{"environment": ["development"]}');
SELECT pg_temp.mk('e-star', 'ENVSTAR', '{"environment": ["*"]}');
SELECT set_eq($$ SELECT unnest(pg_temp.found(pg_temp.q('ENV'))) $$, ARRAY['e-prod 1.0.0', 'e-both 1.0.0'],
              'production finds [production] and [staging, production], not [staging]');
SELECT set_eq($$ SELECT unnest(pg_temp.found(pg_temp.q('ENV', '{"environment": "staging"}'))) $$,
              ARRAY['e-staging 1.0.0', 'e-both 1.0.0'], 'staging finds both workflows that list it');
SELECT is(pg_temp.found(pg_temp.q('ENV', '{"environment": "development"}')), ARRAY['e-dev 1.0.0'], 'development matches');
SELECT is(pg_temp.found(pg_temp.q('ENVSTAR')), ARRAY['e-star 1.0.0'], 'environment * matches production');
SELECT is(pg_temp.found(pg_temp.q('ENVSTAR', '{"environment": "staging"}')), ARRAY['e-star 1.0.0'], 'environment * matches staging');

-- ---- priority wildcard (honoured; the original never matched it) -----------
SELECT pg_temp.mk('p-any', 'PRI', '{"priority": "*"}');
SELECT pg_temp.mk('p-p1', 'PRI', '{"priority": "P1"}');
SELECT is(pg_temp.found(pg_temp.q('PRI', '{"priority": "P2"}')), ARRAY['p-any 1.0.0'], 'priority * matches P2, P1 does not');
SELECT set_eq($$ SELECT unnest(pg_temp.found(pg_temp.q('PRI', '{"priority": "P1"}'))) $$,
              ARRAY['p-any 1.0.0', 'p-p1 1.0.0'], 'P1 finds the P1 and the * workflow');

-- ---- lifecycle status --------------------------------------------------------
SELECT pg_temp.mk('st-active', 'ST');
SELECT pg_temp.mk('st-disabled', 'ST', '{}', 'disabled');
SELECT pg_temp.mk('st-deprecated', 'ST', '{}', 'deprecated');
SELECT pg_temp.mk('st-archived', 'ST', '{}', 'archived');
SELECT is(pg_temp.found(pg_temp.q('ST')), ARRAY['st-active 1.0.0'], 'only active by default');
SELECT set_eq($$ SELECT unnest(pg_temp.found(pg_temp.q('ST'), 100, 0, true)) $$,
              ARRAY['st-active 1.0.0', 'st-disabled 1.0.0'],
              'include_disabled adds disabled, not deprecated or archived');
SELECT is(pg_temp.found(pg_temp.q('ST', '{"status": ["deprecated"]}'), 100, 0, true), ARRAY['st-deprecated 1.0.0'],
          'filters.status selects exactly the statuses named');
SELECT set_eq($$ SELECT unnest(pg_temp.found(pg_temp.q('ST', '{"status": ["archived", "active"]}'))) $$,
              ARRAY['st-active 1.0.0', 'st-archived 1.0.0'], 'filters.status with several values');
SELECT is(pg_temp.found(pg_temp.q('ST', '{"status": []}')), ARRAY['st-active 1.0.0'], 'an empty filters.status is no filter');

-- ---- latest version only; workflow_name --------------------------------------
SELECT pg_temp.mk('lv', 'LV', '{}', 'active', '1.0.0');
SELECT pg_temp.mk('lv', 'LV', '{}', 'active', '2.0.0');
SELECT pg_temp.mk('lv-other', 'LV');
SELECT set_eq($$ SELECT unnest(pg_temp.found(pg_temp.q('LV'))) $$, ARRAY['lv 2.0.0', 'lv-other 1.0.0'],
              'only the latest version of a name is scored');
SELECT is(pg_temp.found(pg_temp.q('LV', '{"workflow_name": "lv"}')), ARRAY['lv 2.0.0'],
          'filters.workflow_name restricts to one name');
SELECT datastorage.set_workflow_status((SELECT workflow_id FROM remediation_workflow_catalog
                                         WHERE workflow_name = 'lv' AND version = '2.0.0'), 'disabled');
SELECT is(pg_temp.found(pg_temp.q('LV', '{"workflow_name": "lv"}')), '{}'::text[],
          'disabling the latest version hides the name: no fallback to an older version');

-- ---- ordering, ties, top_k, min_score, total -----------------------------------
SELECT pg_temp.mk('t-old', 'TIE');
SELECT pg_temp.mk('t-mid', 'TIE');
SELECT pg_temp.mk('t-new', 'TIE');
UPDATE remediation_workflow_catalog SET created_at = now() - interval '2 hours' WHERE workflow_name = 't-old';
UPDATE remediation_workflow_catalog SET created_at = now() - interval '1 hour' WHERE workflow_name = 't-mid';
SELECT is(pg_temp.found(pg_temp.q('TIE')), ARRAY['t-new 1.0.0', 't-mid 1.0.0', 't-old 1.0.0'],
          'equal scores: newest created_at first');
SELECT is(pg_temp.found(pg_temp.q('TIE'), 1), ARRAY['t-new 1.0.0'], 'top_k 1 returns the newest of the tied');
SELECT pg_temp.mk('u-1', 'SAME');
SELECT pg_temp.mk('u-2', 'SAME');
SELECT pg_temp.mk('u-3', 'SAME');
UPDATE remediation_workflow_catalog SET created_at = now() WHERE labels ->> 'signal_type' = 'SAME';
SELECT is(pg_temp.found(pg_temp.q('SAME')),
          (SELECT array_agg(name ORDER BY workflow_id) FROM remediation_workflow_catalog
            WHERE labels ->> 'signal_type' = 'SAME')::text[],
          'equal scores and equal created_at: workflow_id ascending');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM datastorage.search_workflows(pg_temp.q('SAME'))),
          ARRAY[1, 2, 3], 'ranks are 1..n');
SELECT is((SELECT DISTINCT total_matches FROM datastorage.search_workflows(pg_temp.q('SAME'), 2)),
          3::bigint, 'total_matches counts every match, not the top_k page');

SELECT pg_temp.mk('m-gitops', 'MIN');
UPDATE remediation_workflow_catalog SET detected_labels = '{"gitOpsManaged": true}' WHERE workflow_name = 'm-gitops';
SELECT pg_temp.mk('m-manual', 'MIN');
SELECT is(pg_temp.found(pg_temp.q('MIN', '{"detected_labels": {"gitOpsManaged": true}}'), 100, 0.5),
          ARRAY['m-gitops 1.0.0'], 'min_score 0.5 drops the 0.49 row');
SELECT is((SELECT total_matches FROM datastorage.search_workflows(
              pg_temp.q('MIN', '{"detected_labels": {"gitOpsManaged": true}}'), 100, 0.51)),
          1::bigint, 'min_score is inclusive and total_matches counts only rows above it');

SELECT * FROM finish();
ROLLBACK;
