-- Rule: the workflow catalog's writes (sql/functions/200_workflow_catalog.sql):
-- the latest-version rule, unique versions, the handler checks, status
-- changes, the audit event committed with the change, listing, and who may
-- call what.
BEGIN;
SELECT plan(53);

CREATE FUNCTION pg_temp.body(p_name text, p_version text, p_extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'workflow_name', p_name, 'version', p_version, 'name', 'Title ' || p_name,
        'description', 'restarts things', 'content', 'steps: []', 'content_hash', repeat('a', 64),
        'execution_engine', 'tekton', 'status', 'active',
        'labels', '{"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
                    "environment": ["production"], "priority": "P1"}'::jsonb) || p_extra
$$;
-- An audit row as app/events.py builds it.
CREATE FUNCTION pg_temp.event(p_id uuid, p_type text, p_data jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_array(jsonb_build_object(
        'event_id', gen_random_uuid(), 'event_version', '1.0', 'event_timestamp', now(),
        'event_type', p_type, 'event_category', 'workflow', 'event_action', 'create',
        'event_outcome', 'success', 'correlation_id', p_id, 'actor_type', 'service',
        'actor_id', 'datastorage', 'resource_type', 'Workflow', 'resource_id', p_id,
        'retention_days', 90, 'event_data', p_data || jsonb_build_object('event_type', p_type)))
$$;
CREATE FUNCTION pg_temp.latest(p_name text) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(version ORDER BY version) FROM remediation_workflow_catalog
    WHERE workflow_name = p_name AND is_latest_version
$$;

-- ---- create returns the stored row -----------------------------------------
CREATE TEMP TABLE made AS SELECT datastorage.create_workflow(
    pg_temp.body('wf', '1.0.0', '{"total_executions": 7, "created_at": "2001-01-01T00:00:00Z",
                                  "is_latest_version": false, "workflow_id": "00000000-0000-0000-0000-000000000001",
                                  "parameters": {"replicas": null}, "custom_labels": {}}'),
    '11111111-1111-1111-1111-111111111111') AS doc;
SELECT is((SELECT doc ->> 'workflow_id' FROM made), '11111111-1111-1111-1111-111111111111',
          'the caller-chosen id is used, the body''s workflow_id ignored');
SELECT is((SELECT (doc -> 'is_latest_version')::boolean FROM made), true, 'a new version is the latest, whatever the body says');
SELECT is((SELECT (doc ->> 'total_executions')::int FROM made), 0, 'server-managed fields are not taken from the body');
SELECT ok((SELECT (doc ->> 'created_at')::timestamptz BETWEEN now() AND clock_timestamp()
                  AND doc ->> 'created_at' = doc ->> 'updated_at' FROM made),
          'created_at is the real insert time');
SELECT is((SELECT doc -> 'parameters' FROM made), '{"replicas": null}'::jsonb, 'nulls inside parameters are kept');
SELECT ok((SELECT NOT doc ? 'custom_labels' AND doc -> 'detected_labels' = '{}' AND NOT doc ? 'owner' FROM made),
          'custom_labels {} and NULL columns are omitted; detected_labels is always present');

-- ---- the latest-version rule ------------------------------------------------
SELECT datastorage.create_workflow(pg_temp.body('wf', '1.1.0'));
SELECT datastorage.create_workflow(pg_temp.body('wf', '2.0.0'));
SELECT is(pg_temp.latest('wf'), ARRAY['2.0.0'], 'the newest version is the only latest one');
SELECT datastorage.create_workflow(pg_temp.body('wf', '1.0.1'));
SELECT is(pg_temp.latest('wf'), ARRAY['1.0.1'], '"latest" means most recently created, not highest version');
SELECT datastorage.set_workflow_status((SELECT workflow_id FROM remediation_workflow_catalog
                                         WHERE workflow_name = 'wf' AND version = '1.0.1'), 'disabled');
SELECT datastorage.create_workflow(pg_temp.body('wf', '3.0.0'));
SELECT is(pg_temp.latest('wf'), ARRAY['3.0.0'], 'a disabled latest version is demoted too');
SELECT throws_ok($$ UPDATE remediation_workflow_catalog SET is_latest_version = true
                     WHERE workflow_name = 'wf' AND version = '1.0.0' $$,
                 '23505', NULL, 'the database refuses a second latest version of a name');
SELECT is(pg_temp.latest('other'), NULL, 'other names are untouched');

-- ---- duplicate versions -------------------------------------------------------
SELECT throws_ok($$ SELECT datastorage.create_workflow(pg_temp.body('wf', '2.0.0'),
                        '22222222-2222-2222-2222-222222222222',
                        pg_temp.event('22222222-2222-2222-2222-222222222222',
                                      'datastorage.workflow.created', '{}')) $$,
                 'DS409', 'Workflow ''wf'' version ''2.0.0'' already exists', 'a duplicate version is DS409');
SELECT is(pg_temp.latest('wf'), ARRAY['3.0.0'], 'a refused duplicate demotes nothing');
SELECT is((SELECT count(*) FROM audit_events WHERE correlation_id = '22222222-2222-2222-2222-222222222222'),
          0::bigint, 'a refused create leaves no audit event');

-- ---- the original's handler checks, first failure wins -------------------------
SELECT throws_ok($$ SELECT datastorage.create_workflow(pg_temp.body('', '')) $$,
                 'DS400', 'workflow_name is required', 'empty workflow_name');
SELECT throws_ok($$ SELECT datastorage.create_workflow(pg_temp.body('x', '')) $$,
                 'DS400', 'version is required', 'empty version');
SELECT throws_ok($$ SELECT datastorage.create_workflow(pg_temp.body('x', '1', '{"name": ""}')) $$,
                 'DS400', 'name is required', 'empty name');
SELECT throws_ok($$ SELECT datastorage.create_workflow(pg_temp.body('x', '1', '{"description": ""}')) $$,
                 'DS400', 'description is required', 'empty description');
SELECT throws_ok($$ SELECT datastorage.create_workflow(pg_temp.body('x', '1', '{"content": ""}')) $$,
                 'DS400', 'content is required', 'empty content');
SELECT throws_ok($$ SELECT datastorage.create_workflow(pg_temp.body('x', '1',
                        '{"labels": {"signal_type": "", "severity": "high", "component": "pod",
                                     "environment": ["test"], "priority": "P1"}}')) $$,
                 'DS400', 'labels are required (signal_type, severity, component, environment, priority)',
                 'empty label');
SELECT throws_ok($$ SELECT datastorage.create_workflow(pg_temp.body('x', '1', '{"status": "retired"}')) $$,
                 '23514', NULL, 'an unknown status is refused by the table');

-- ---- the audit event commits with the change ------------------------------------
SELECT datastorage.create_workflow(pg_temp.body('audited', '1.0.0'), '33333333-3333-3333-3333-333333333333',
       pg_temp.event('33333333-3333-3333-3333-333333333333', 'datastorage.workflow.created',
                     '{"workflow_id": "33333333-3333-3333-3333-333333333333"}'));
SELECT is((SELECT count(*) FROM audit_events WHERE correlation_id = '33333333-3333-3333-3333-333333333333'
             AND event_type = 'datastorage.workflow.created' AND event_hash IS NOT NULL),
          1::bigint, 'the created event is stored, hashed, in the same transaction');
SELECT datastorage.set_workflow_status('33333333-3333-3333-3333-333333333333', NULL, NULL, NULL, NULL,
       pg_temp.event('33333333-3333-3333-3333-333333333333', 'datastorage.workflow.updated',
                     '{"workflow_id": "33333333-3333-3333-3333-333333333333", "updated_fields": {}}'));
SELECT is((SELECT event_data #>> '{updated_fields,status}' FROM audit_events
            WHERE correlation_id = '33333333-3333-3333-3333-333333333333' AND chain_seq = 2),
          'active', 'an update event without a status gets the effective status');
SELECT is((SELECT is_valid FROM datastorage.verify_chain_summary('33333333-3333-3333-3333-333333333333')),
          true, 'the workflow''s audit chain verifies');
SELECT throws_ok($$ SELECT datastorage.set_workflow_status('44444444-4444-4444-4444-444444444444', 'disabled',
                        NULL, NULL, NULL, pg_temp.event('44444444-4444-4444-4444-444444444444',
                        'datastorage.workflow.updated', '{"updated_fields": {}}')) $$,
                 'DS404', 'Workflow not found: 44444444-4444-4444-4444-444444444444', 'unknown id is DS404');
SELECT is((SELECT count(*) FROM audit_events WHERE correlation_id = '44444444-4444-4444-4444-444444444444'),
          0::bigint, 'no event for a refused update');

-- ---- status changes ---------------------------------------------------------------
CREATE TEMP TABLE dis AS SELECT datastorage.set_workflow_status('33333333-3333-3333-3333-333333333333',
    'disabled', 'alice', 'CVE-1', 'proxy-user') AS doc;
SELECT is((SELECT doc ->> 'status' || '|' || (doc ->> 'disabled_by') || '|' || (doc ->> 'disabled_reason')
                  || '|' || (doc ->> 'updated_by') FROM dis),
          'disabled|alice|CVE-1|proxy-user', 'disabling records who, why, and the acting user');
SELECT is((SELECT doc ->> 'disabled_at' FROM dis), datastorage.rfc3339(now()), 'disabled_at is set');
CREATE TEMP TABLE keep AS SELECT datastorage.set_workflow_status('33333333-3333-3333-3333-333333333333') AS doc;
SELECT is((SELECT doc ->> 'status' || '|' || (doc ->> 'disabled_by') FROM keep), 'disabled|alice',
          'no status: nothing about the disablement changes');
CREATE TEMP TABLE react AS SELECT datastorage.set_workflow_status('33333333-3333-3333-3333-333333333333', 'active') AS doc;
SELECT ok((SELECT doc ->> 'status' = 'active' AND NOT doc ?| ARRAY['disabled_at', 'disabled_by', 'disabled_reason', 'status_reason']
             FROM react), 're-activating clears the disabled_* fields');
SELECT is((SELECT doc ->> 'updated_by' FROM react), 'proxy-user', 'updated_by is kept when no actor is given');
SELECT throws_ok($$ SELECT datastorage.set_workflow_status('33333333-3333-3333-3333-333333333333', 'retired') $$,
                 'DS400', NULL, 'an unknown status is DS400');
UPDATE remediation_workflow_catalog SET updated_at = '2000-01-01' WHERE workflow_name = 'audited';
SELECT is((SELECT updated_at FROM remediation_workflow_catalog WHERE workflow_name = 'audited'), now(),
          'updated_at follows every update');

-- ---- get, versions, list -------------------------------------------------------------
SELECT is(datastorage.get_workflow('11111111-1111-1111-1111-111111111111') ->> 'version', '1.0.0', 'get by id');
SELECT throws_ok($$ SELECT datastorage.get_workflow('55555555-5555-5555-5555-555555555555') $$,
                 'DS404', 'Workflow not found: 55555555-5555-5555-5555-555555555555', 'get of an unknown id is DS404');
UPDATE remediation_workflow_catalog c SET created_at = now() - o.hours * interval '1 hour'
  FROM (VALUES ('1.0.0', 5), ('1.1.0', 4), ('2.0.0', 3), ('1.0.1', 2), ('3.0.0', 1)) o(v, hours)
 WHERE c.workflow_name = 'wf' AND c.version = o.v;
SELECT is((SELECT array_agg(v ->> 'version') FROM jsonb_array_elements(datastorage.workflow_versions('wf') -> 'versions') v),
          ARRAY['3.0.0', '1.0.1', '2.0.0', '1.1.0', '1.0.0'], 'versions are listed newest first');
SELECT is(datastorage.workflow_versions('nope'), '{"workflow_name": "nope", "versions": [], "total": 0}'::jsonb,
          'an unknown name has an empty list, not null');

SELECT datastorage.create_workflow(pg_temp.body('l-any', '1', '{"labels": {"signal_type": "S", "severity": "low",
        "component": "*", "environment": ["*"], "priority": "*"}, "custom_labels": {"team": ["*"]}}'));
SELECT datastorage.create_workflow(pg_temp.body('l-pay', '1', '{"labels": {"signal_type": "S", "severity": "low",
        "component": "node", "environment": ["staging"], "priority": "P2"}, "custom_labels": {"team": ["payments", "o''brien"]}}'));
SELECT datastorage.create_workflow(pg_temp.body('l-none', '1', '{"status": "archived", "labels": {"signal_type": "S",
        "severity": "low", "component": "pod", "environment": ["test"], "priority": "P3"}}'));
CREATE FUNCTION pg_temp.names(p_list jsonb) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(v ->> 'workflow_name' ORDER BY v ->> 'workflow_name'), '{}')
    FROM jsonb_array_elements(p_list -> 'workflows') v WHERE v ->> 'workflow_name' LIKE 'l-%'
$$;
SELECT is(pg_temp.names(datastorage.list_workflows(p_component => 'node')), ARRAY['l-any', 'l-pay'],
          'list component filter honours the * wildcard');
SELECT is(pg_temp.names(datastorage.list_workflows(p_environment => 'staging', p_priority => 'P2')),
          ARRAY['l-any', 'l-pay'], 'list environment and priority filters honour *');
SELECT is(pg_temp.names(datastorage.list_workflows(p_status => 'archived')), ARRAY['l-none'], 'list status filter');
SELECT is(pg_temp.names(datastorage.list_workflows(p_custom_labels => '{"team": ["o''brien"]}')),
          ARRAY['l-any', 'l-pay'], 'list custom-label filter: the value or *, matched literally');
SELECT is(pg_temp.names(datastorage.list_workflows(p_custom_labels => '{"team": ["x"], "tier": ["gold"]}')),
          '{}'::text[], 'list custom-label filter: every key must match');
SELECT is((SELECT (l ->> 'total')::int || '/' || jsonb_array_length(l -> 'workflows') || '/' || (l ->> 'limit')
             FROM datastorage.list_workflows(p_limit => 2, p_offset => 1) l),
          (SELECT count(*) FROM remediation_workflow_catalog) || '/2/2', 'total counts all rows; the page has limit rows');
SELECT throws_ok($$ SELECT datastorage.list_workflows(p_limit => 1001) $$, 'DS400',
                 'limit must be between 1 and 1000', 'limit above 1000 refused');

-- ---- who may call what -----------------------------------------------------------
SELECT function_privs_are('datastorage', 'create_workflow', ARRAY['jsonb', 'uuid', 'jsonb'], 'datastorage_app',
                          ARRAY['EXECUTE'], 'the service may create');
SELECT function_privs_are('datastorage', 'create_workflow', ARRAY['jsonb', 'uuid', 'jsonb'], 'datastorage_auditor',
                          ARRAY[]::text[], 'the auditor may not create');
SELECT function_privs_are('datastorage', 'search_workflows', ARRAY['jsonb', 'integer', 'numeric', 'boolean'],
                          'datastorage_auditor', ARRAY['EXECUTE'], 'the auditor may search');
SELECT function_privs_are('datastorage', 'search_workflows_rendered', ARRAY['jsonb', 'integer', 'numeric', 'boolean'],
                          'datastorage_app', ARRAY['EXECUTE'], 'the service may search, rendered');
SELECT function_privs_are('datastorage', 'search_workflows_rendered', ARRAY['jsonb', 'integer', 'numeric', 'boolean'],
                          'datastorage_auditor', ARRAY[]::text[], 'the rendered search is the service''s alone');
SELECT table_privs_are('public', 'remediation_workflow_catalog', 'datastorage_app', ARRAY[]::text[],
                       'the service has no direct access to the catalog table');
SELECT table_privs_are('public', 'remediation_workflow_catalog', 'datastorage_auditor', ARRAY['SELECT'],
                       'the auditor reads the catalog table');

-- ---- what search relies on -------------------------------------------------------
SELECT is((SELECT pg_get_indexdef('idx_workflow_search_labels'::regclass) LIKE
                  '%((labels ->> ''signal_type''::text)), ((labels ->> ''severity''::text)), ((labels ->> ''priority''::text)), ((labels ->> ''component''::text))) WHERE is_latest_version'),
          true, 'search index: the four equality labels, latest versions only');
SELECT ok(EXISTS (SELECT 1 FROM pg_statistic_ext WHERE stxname = 'workflow_label_stats'),
          'extended statistics give the planner the label selectivities');

SELECT * FROM finish();
ROLLBACK;
