-- Rule: the app role can only EXECUTE API functions; it cannot read or change
-- a table directly. The auditor reads. The owner owns tables and functions.
BEGIN;
SELECT plan(16);

SELECT has_role('datastorage_owner');
SELECT has_role('datastorage_app');
SELECT has_role('datastorage_auditor');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'datastorage_app'), false, 'app role is NOLOGIN');

SELECT table_owner_is('public', 'audit_events', 'datastorage_owner', 'owner owns audit_events');
SELECT table_owner_is('public', 'notification_audit', 'datastorage_owner', 'owner owns notification_audit');

SELECT table_privs_are('public', 'audit_events', 'datastorage_app', ARRAY[]::text[],
                       'app has no privilege on audit_events');
SELECT table_privs_are('public', 'audit_chain_heads', 'datastorage_app', ARRAY[]::text[],
                       'app has no privilege on chain heads');
SELECT table_privs_are('public', 'audit_events', 'datastorage_auditor', ARRAY['SELECT'],
                       'auditor may only read audit_events');
SELECT function_privs_are('datastorage', 'append_audit_events', ARRAY['jsonb'], 'datastorage_app',
                          ARRAY['EXECUTE'], 'app may append');
SELECT function_privs_are('datastorage', 'append_audit_events', ARRAY['jsonb'], 'datastorage_auditor',
                          ARRAY[]::text[], 'auditor may not append');
SELECT is_definer('datastorage', 'append_audit_events', ARRAY['jsonb'], 'append runs as owner');

-- Every SECURITY DEFINER function pins its search_path to pg_catalog, pg_temp
-- (nothing anyone can create objects in is searched).
SELECT is_empty($$
    SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('datastorage', 'datastorage_guard') AND p.prosecdef
      AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c = 'search_path=pg_catalog, pg_temp')
$$, 'security definer functions pin search_path to pg_catalog, pg_temp');

SET LOCAL ROLE datastorage_app;
SELECT throws_ok($$ SELECT count(*) FROM public.audit_events $$, '42501', NULL,
                 'app cannot SELECT audit_events');
SELECT throws_ok($$ DELETE FROM public.audit_events $$, '42501', NULL,
                 'app cannot DELETE audit_events');
SELECT throws_ok($$ INSERT INTO public.notification_audit (remediation_id) VALUES ('x') $$, '42501', NULL,
                 'app cannot INSERT directly');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
