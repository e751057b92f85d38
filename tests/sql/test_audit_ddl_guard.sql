-- Rule: the DDL guard belongs to the superuser, gives every partition its
-- TRUNCATE guard, and refuses (as the owner) DDL that would take a hold away
-- while leaving partitions without held rows free. The attacks one by one,
-- by a real login: tests/db/test_owner_attacks.py.
BEGIN;
SELECT plan(8);
SELECT is((SELECT bool_and(r.rolsuper) FROM pg_event_trigger e JOIN pg_roles r ON r.oid = e.evtowner
           WHERE e.evtname LIKE 'datastorage_guard_%'), true, 'the event triggers belong to a superuser');
SELECT is((SELECT r.rolsuper FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
           WHERE n.nspname = 'datastorage_guard'), true, 'so does the guard schema');
SELECT is((SELECT r.rolsuper AND c.relacl IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner)
           FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
           WHERE c.oid = 'datastorage_guard.ddl_state'::regclass), true,
          'and its state table, which grants nothing to anyone');
SELECT is((SELECT count(*) FROM pg_auth_members WHERE roleid = 'datastorage_owner'::regrole), 0::bigint,
          'nobody is granted datastorage_owner');
SELECT datastorage.append_audit_events(jsonb_build_array(jsonb_build_object(
    'event_id', 'f0000000-0000-4000-8000-000000000001', 'event_timestamp', '2095-03-03T00:00:00Z',
    'event_type', 't', 'event_category', 'gateway', 'event_action', 'a', 'event_outcome', 'success',
    'actor_type', 's', 'actor_id', 'x', 'resource_type', 'r', 'resource_id', 'r',
    'correlation_id', 'guard-1', 'event_data', '{}'::jsonb)));
SELECT datastorage.place_legal_hold('guard-1', 'case', 'legal');
SET LOCAL ROLE datastorage_owner;
CREATE TABLE public.audit_events_2094_01 PARTITION OF public.audit_events
    FOR VALUES FROM ('2094-01-01') TO ('2094-02-01');
SELECT ok(EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'public.audit_events_2094_01'::regclass
                  AND tgname = 'audit_events_no_truncate'), 'a partition made by hand gets its TRUNCATE guard');
SELECT throws_ok($$ ALTER TABLE public.audit_events_default RENAME TO x $$, '23503', NULL,
                 'the partition holding held rows cannot be renamed');
SELECT throws_ok($$ ALTER TABLE public.audit_events_2094_01 DISABLE TRIGGER audit_events_no_truncate $$,
                 '42501', NULL, 'a guard trigger cannot be disabled, even on a partition without holds');
SELECT lives_ok($$ DROP TABLE public.audit_events_2094_01 $$, 'a partition without held rows can be dropped');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
