-- Rule: label scoring of datastorage.search_workflows (spec/workflow-catalog.md
-- §10.3, §11; docs/workflow-scoring.md): every weight, every penalty, the
-- bound on label_boost, literal custom labels, and the worked examples to
-- the digit. Each group uses its own signal_type so groups cannot interfere.
BEGIN;
SELECT plan(50);

-- A workflow in the catalog through the real create path; labels default to
-- critical/deployment/[production]/P0 and may be overridden.
CREATE FUNCTION pg_temp.mk(p_name text, p_signal text, p_detected jsonb DEFAULT '{}',
                           p_custom jsonb DEFAULT '{}', p_labels jsonb DEFAULT '{}')
RETURNS uuid LANGUAGE sql AS $$
    SELECT (datastorage.create_workflow(jsonb_build_object(
        'workflow_name', p_name, 'version', '1.0.0', 'name', p_name, 'description', 'd ' || p_name,
        'content', 'steps: []', 'content_hash', repeat('0', 64), 'execution_engine', 'tekton',
        'status', 'active',
        'labels', jsonb_build_object('signal_type', p_signal, 'severity', 'critical',
                                     'component', 'deployment', 'environment', '["production"]'::jsonb,
                                     'priority', 'P0') || p_labels,
        'detected_labels', p_detected, 'custom_labels', p_custom)) ->> 'workflow_id')::uuid
$$;
-- The query filters for a signal type, plus extra members.
CREATE FUNCTION pg_temp.q(p_signal text, p_extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('signal_type', p_signal, 'severity', 'critical',
                              'component', 'deployment', 'environment', 'production',
                              'priority', 'P0') || p_extra
$$;
-- One row's (label_boost, label_penalty, final_score) as text "b/p/f".
CREATE FUNCTION pg_temp.s(p_filters jsonb, p_title text) RETURNS text LANGUAGE sql AS $$
    SELECT label_boost || '/' || label_penalty || '/' || final_score
    FROM datastorage.search_workflows(p_filters, 100) WHERE title = p_title
$$;

-- ---- detected-label weights (one workflow per field, signal W) -----------
SELECT pg_temp.mk('w-managed', 'W', '{"gitOpsManaged": true}');
SELECT pg_temp.mk('w-argocd', 'W', '{"gitOpsTool": "argocd"}');
SELECT pg_temp.mk('w-flux', 'W', '{"gitOpsTool": "flux"}');
SELECT pg_temp.mk('w-pdb', 'W', '{"pdbProtected": true}');
SELECT pg_temp.mk('w-istio', 'W', '{"serviceMesh": "istio"}');
SELECT pg_temp.mk('w-linkerd', 'W', '{"serviceMesh": "linkerd"}');
SELECT pg_temp.mk('w-netpol', 'W', '{"networkIsolated": true}');
SELECT pg_temp.mk('w-helm', 'W', '{"helmManaged": true}');
SELECT pg_temp.mk('w-stateful', 'W', '{"stateful": true}');
SELECT pg_temp.mk('w-hpa', 'W', '{"hpaEnabled": true}');
SELECT pg_temp.mk('w-plain', 'W');
SELECT pg_temp.mk('w-all', 'W', '{"gitOpsManaged": true, "gitOpsTool": "argocd", "pdbProtected": true,
                                 "serviceMesh": "istio", "networkIsolated": true, "helmManaged": true,
                                 "stateful": true, "hpaEnabled": true}');

SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"gitOpsManaged": true}}'), 'w-managed'),
          '0.1/0/0.51', 'gitOpsManaged match weighs 0.10');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"gitOpsTool": "argocd"}}'), 'w-argocd'),
          '0.1/0/0.51', 'gitOpsTool exact match weighs 0.10');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"gitOpsTool": "*"}}'), 'w-flux'),
          '0.05/0/0.505', 'gitOpsTool query wildcard matches any tool at 0.05');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"pdbProtected": true}}'), 'w-pdb'),
          '0.05/0/0.505', 'pdbProtected weighs 0.05 (e.g. 0.505 vs 0.5)');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"serviceMesh": "istio"}}'), 'w-istio'),
          '0.05/0/0.505', 'serviceMesh exact match weighs 0.05');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"serviceMesh": "istio"}}'), 'w-linkerd'),
          '0/0/0.5', 'serviceMesh other mesh: no boost, no penalty');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"serviceMesh": "*"}}'), 'w-linkerd'),
          '0.03/0/0.503', 'serviceMesh query wildcard weighs 0.03 (two-decimal half weight)');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"serviceMesh": "*"}}'), 'w-plain'),
          '0/0/0.5', 'serviceMesh wildcard needs a mesh on the workflow');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"networkIsolated": true}}'), 'w-netpol'),
          '0.03/0/0.503', 'networkIsolated weighs 0.03');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"helmManaged": true}}'), 'w-helm'),
          '0.02/0/0.502', 'helmManaged weighs 0.02');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"stateful": true}}'), 'w-stateful'),
          '0.02/0/0.502', 'stateful weighs 0.02');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"hpaEnabled": true}}'), 'w-hpa'),
          '0.02/0/0.502', 'hpaEnabled weighs 0.02');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd",
              "pdbProtected": true, "serviceMesh": "istio", "networkIsolated": true, "helmManaged": true,
              "stateful": true, "hpaEnabled": true}}'), 'w-all'),
          '0.39/0/0.539', 'all eight detected labels: nominal maximum 0.39, score 0.539');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"pdbProtected": true}}'), 'w-hpa'),
          '0/0/0.5', 'a field the workflow lacks adds nothing');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"gitOpsManaged": false, "pdbProtected": false}}'), 'w-managed'),
          '0/0/0.5', 'false query booleans are unset: no boost, no penalty');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"pdbProtected": true, "failed_detections": ["pdbProtected"]}}'), 'w-pdb'),
          '0/0/0.5', 'a field named in failed_detections is ignored');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd",
              "failed_detections": ["gitOpsManaged"]}}'), 'w-plain'),
          '0/0/0.5', 'a failed gitOpsManaged detection voids gitOpsManaged and gitOpsTool (no penalty)');

-- ---- penalties (signal P) -------------------------------------------------
SELECT pg_temp.mk('p-none', 'P');
SELECT pg_temp.mk('p-flux', 'P', '{"gitOpsManaged": true, "gitOpsTool": "flux"}');
SELECT pg_temp.mk('p-star', 'P', '{"gitOpsTool": "*"}');
SELECT is(pg_temp.s(pg_temp.q('P', '{"detected_labels": {"gitOpsManaged": true}}'), 'p-none'),
          '0/0.1/0.49', 'gitOpsManaged wanted but absent: penalty 0.10');
SELECT is(pg_temp.s(pg_temp.q('P', '{"detected_labels": {"gitOpsTool": "argocd"}}'), 'p-flux'),
          '0/0.1/0.49', 'gitOpsTool argocd wanted, workflow flux: penalty 0.10');
SELECT is(pg_temp.s(pg_temp.q('P', '{"detected_labels": {"gitOpsTool": "argocd"}}'), 'p-none'),
          '0/0.1/0.49', 'gitOpsTool wanted, workflow has none: penalty 0.10');
SELECT is(pg_temp.s(pg_temp.q('P', '{"detected_labels": {"gitOpsTool": "argocd"}}'), 'p-star'),
          '0/0.1/0.49', 'workflow-side gitOpsTool * is penalised against a specific tool (original rule)');
SELECT is(pg_temp.s(pg_temp.q('P', '{"detected_labels": {"gitOpsTool": "*"}}'), 'p-none'),
          '0/0/0.5', 'gitOpsTool * wanted: never a penalty');
SELECT is(pg_temp.s(pg_temp.q('P', '{"detected_labels": {"gitOpsTool": "*"}}'), 'p-star'),
          '0.05/0/0.505', 'gitOpsTool * wanted, workflow *: boost 0.05');
SELECT is(pg_temp.s(pg_temp.q('P', '{"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd"}}'), 'p-none'),
          '0/0.2/0.48', 'both penalties: 0.20, the minimum score 0.48');
SELECT is(pg_temp.s(pg_temp.q('P', '{"detected_labels": {"pdbProtected": true, "stateful": true, "hpaEnabled": true}}'), 'p-none'),
          '0/0/0.5', 'no penalty for any other missing field');

-- ---- custom labels (signal C) ---------------------------------------------
SELECT pg_temp.mk('c-exact', 'C', '{}', '{"constraint": ["cost-constrained"], "team": ["payments"]}');
SELECT pg_temp.mk('c-star', 'C', '{}', '{"constraint": ["*"]}');
SELECT pg_temp.mk('c-none', 'C');
SELECT is(pg_temp.s(pg_temp.q('C', '{"custom_labels": {"constraint": ["cost-constrained"]}}'), 'c-exact'),
          '0.05/0/0.505', 'custom exact value weighs 0.05');
SELECT is(pg_temp.s(pg_temp.q('C', '{"custom_labels": {"constraint": ["a", "b"]}}'), 'c-star'),
          '0.06/0/0.506', 'custom workflow * weighs 0.03 per query value');
SELECT is(pg_temp.s(pg_temp.q('C', '{"custom_labels": {"constraint": ["cost-constrained"]}}'), 'c-none'),
          '0/0/0.5', 'custom key missing on the workflow: 0');
SELECT is(pg_temp.s(pg_temp.q('C', '{"custom_labels": {"constraint": []}}'), 'c-star'),
          '0/0/0.5', 'a custom key with no values is skipped');
SELECT is(pg_temp.s(pg_temp.q('C', '{"custom_labels": {"Constraint": ["cost-constrained"]}}'), 'c-exact'),
          '0/0/0.5', 'custom keys are compared exactly (case-sensitive)');

-- Literal matching: quotes, backslashes, unicode, SQL, dots and slashes in
-- keys are data, never syntax, and never rewritten.
SELECT pg_temp.mk('c-odd', 'C', '{}', jsonb_build_object(
    'kubernaut.io/team', jsonb_build_array('pay"ments', 'back\slash', 'ünï€ødé ✓',
                                           $v$'); DROP TABLE remediation_workflow_catalog; --$v$)));
SELECT is(pg_temp.s(pg_temp.q('C', jsonb_build_object('custom_labels', jsonb_build_object(
              'kubernaut.io/team', jsonb_build_array('pay"ments', 'back\slash', 'ünï€ødé ✓',
                   $v$'); DROP TABLE remediation_workflow_catalog; --$v$)))), 'c-odd'),
          '0.2/0/0.52', 'quotes, backslashes, unicode and SQL fragments match literally');
SELECT is(pg_temp.s(pg_temp.q('C', '{"custom_labels": {"kubernaut.ioteam": ["pay\"ments"]}}'), 'c-odd'),
          '0/0/0.5', 'keys are not sanitised (kubernaut.ioteam is another key)');
SELECT is(pg_temp.s(pg_temp.q('C', '{"custom_labels": {"kubernaut.io/team": ["pay\\\"ments", "back\\\\slash"]}}'), 'c-odd'),
          '0/0/0.5', 'near misses (extra escapes) do not match');
SELECT has_table('public', 'remediation_workflow_catalog', 'the catalog table survived the SQL fragment');

-- ---- the bound on label_boost (signal B) ----------------------------------
SELECT pg_temp.mk('b-many', 'B', '{"gitOpsManaged": true, "pdbProtected": true}',
                  '{"k": ["1", "2", "3", "4", "5", "6", "7", "8"]}');
SELECT pg_temp.mk('b-fewer', 'B', '{"gitOpsManaged": true, "pdbProtected": true}',
                  '{"k": ["1", "2", "3", "4", "5", "6"]}');
-- b-many is older: only the uncapped score can rank it above b-fewer.
UPDATE remediation_workflow_catalog SET created_at = now() - interval '1 hour' WHERE workflow_name = 'b-many';
SELECT pg_temp.mk('b-penalised', 'B', '{"pdbProtected": true}',
                  '{"k": ["1", "2", "3", "4", "5", "6", "7", "8"]}');
SELECT is(pg_temp.s(pg_temp.q('B', '{"detected_labels": {"gitOpsManaged": true, "pdbProtected": true},
                                     "custom_labels": {"k": ["1", "2", "3", "4", "5", "6", "7", "8"]}}'), 'b-many'),
          '0.39/0/0.539', 'detected 0.15 + custom 0.40 is capped at label_boost 0.39');
SELECT is((SELECT detected_label_boost || '+' || custom_label_boost
             FROM datastorage.search_workflows(pg_temp.q('B', '{"detected_labels": {"gitOpsManaged": true, "pdbProtected": true},
                                     "custom_labels": {"k": ["1", "2", "3", "4", "5", "6", "7", "8"]}}'))
            WHERE title = 'b-many'), '0.15+0.4', 'the uncapped parts stay visible to a DBA');
SELECT is(pg_temp.s(pg_temp.q('B', '{"detected_labels": {"gitOpsManaged": true, "pdbProtected": true},
                                     "custom_labels": {"k": ["1", "2", "3", "4", "5", "6", "7", "8"]}}'), 'b-penalised'),
          '0.39/0.1/0.529', 'the cap applies before the penalty');
SELECT results_eq($$ SELECT title FROM datastorage.search_workflows(pg_temp.q('B', '{"detected_labels": {"gitOpsManaged": true, "pdbProtected": true},
                                     "custom_labels": {"k": ["1", "2", "3", "4", "5", "6", "7", "8"]}}')) ORDER BY rank $$,
                  ARRAY['b-many', 'b-fewer', 'b-penalised'],
                  'equal capped scores are ordered by the uncapped score');
SELECT is((SELECT max(final_score) <= 1 AND max(label_boost) <= 0.39 AND max(label_penalty) <= 0.20
                  AND min(final_score) >= 0
             FROM datastorage.search_workflows(pg_temp.q('B', jsonb_build_object('custom_labels',
                  jsonb_build_object('k', (SELECT jsonb_agg(i::text) FROM generate_series(1, 1000) i)))), 100)),
          true, '1000 custom values cannot push a score past the contract bounds');

-- ---- worked examples (spec §11) -------------------------------------------
-- Example 1: mandatory labels only.
SELECT pg_temp.mk('e1', 'E1');
SELECT is(pg_temp.s(pg_temp.q('E1'), 'e1'), '0/0/0.5', 'example 1: every match starts at 0.5');
-- Example 2: GitOps boost vs penalty.
SELECT pg_temp.mk('e2-gitops', 'E2', '{"gitOpsManaged": true}');
SELECT pg_temp.mk('e2-manual', 'E2');
SELECT results_eq($$ SELECT title, label_boost, label_penalty, final_score, rank
                     FROM datastorage.search_workflows(pg_temp.q('E2', '{"detected_labels": {"gitOpsManaged": true}}')) $$,
                  $$ VALUES ('e2-gitops', 0.1, 0::numeric, 0.51, 1), ('e2-manual', 0, 0.1, 0.49, 2) $$,
                  'example 2: gitops 0.51 rank 1, manual 0.49 rank 2');
-- Example 3: mixed labels with wildcards.
SELECT pg_temp.mk('e3-A', 'E3', '{"gitOpsManaged": true, "gitOpsTool": "argocd", "pdbProtected": true}');
SELECT pg_temp.mk('e3-B', 'E3', '{"gitOpsManaged": true, "gitOpsTool": "flux", "pdbProtected": true}',
                  '{"constraint": ["*"]}');
SELECT pg_temp.mk('e3-C', 'E3', '{"gitOpsTool": "*", "serviceMesh": "istio"}',
                  '{"constraint": ["cost-constrained"], "team": ["payments"]}');
SELECT pg_temp.mk('e3-D', 'E3', '{}', '{}', '{"priority": "*"}');
SELECT results_eq($$ SELECT title, detected_label_boost, custom_label_boost, label_penalty, final_score, label_boost, rank
                     FROM datastorage.search_workflows(pg_temp.q('E3',
                          '{"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd", "pdbProtected": true},
                            "custom_labels": {"constraint": ["cost-constrained"]}}')) WHERE rank <= 3 $$,
                  $$ VALUES ('e3-A', 0.25, 0::numeric, 0::numeric, 0.525, 0.25, 1),
                            ('e3-B', 0.15, 0.03, 0.1, 0.508, 0.18, 2),
                            ('e3-C', 0::numeric, 0.05, 0.2, 0.485, 0.05, 3) $$,
                  'example 3: A 0.525, B 0.508, C 0.485 in that order');
-- D (priority *) was invisible to the original; this catalog honours the
-- wildcard, so D is found, last, with both GitOps penalties.
SELECT is((SELECT rank || ':' || final_score FROM datastorage.search_workflows(pg_temp.q('E3',
                '{"detected_labels": {"gitOpsManaged": true, "gitOpsTool": "argocd", "pdbProtected": true},
                  "custom_labels": {"constraint": ["cost-constrained"]}}')) WHERE title = 'e3-D'),
          '4:0.48', 'example 3: D (priority *) ranks 4th at 0.48 (the original excluded it)');
-- Example 4: custom labels.
SELECT pg_temp.mk('e4-both', 'E4', '{}', '{"team": ["payments"], "constraint": ["cost-sensitive"]}');
SELECT pg_temp.mk('e4-team', 'E4', '{}', '{"team": ["payments"]}');
SELECT results_eq($$ SELECT title, label_boost, final_score FROM datastorage.search_workflows(pg_temp.q('E4',
                          '{"custom_labels": {"team": ["payments"], "constraint": ["cost-sensitive"]}}')) $$,
                  $$ VALUES ('e4-both', 0.1, 0.51), ('e4-team', 0.05, 0.505) $$,
                  'example 4: two custom labels 0.51 above one 0.505');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"pdbProtected": true}}'), 'w-plain'),
          '0/0/0.5', 'example 4: plain workflow stays at 0.5 next to PDB 0.505');
SELECT is(pg_temp.s(pg_temp.q('W', '{"detected_labels": {"serviceMesh": "*"}}'), 'w-istio'),
          '0.03/0/0.503', 'example 4: wildcard mesh on istio 0.503');

-- ---- the function refuses what the API refuses ---------------------------
SELECT throws_ok($$ SELECT * FROM datastorage.search_workflows(pg_temp.q('X', '{"signal_type": ""}')) $$,
                 'DS400', 'filters.signal_type is required', 'empty signal_type refused');
SELECT throws_ok($$ SELECT * FROM datastorage.search_workflows(pg_temp.q('X', '{"priority": null}')) $$,
                 'DS400', 'filters.priority is required', 'missing priority refused');
SELECT throws_ok($$ SELECT * FROM datastorage.search_workflows(pg_temp.q('X'), 101) $$,
                 'DS400', 'top_k must be between 1 and 100', 'top_k above 100 refused');
SELECT throws_ok($$ SELECT * FROM datastorage.search_workflows(pg_temp.q('X'), 10, 1.5) $$,
                 'DS400', 'min_score must be between 0 and 1', 'min_score above 1 refused');

SELECT * FROM finish();
ROLLBACK;
