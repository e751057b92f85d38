-- Rule: a hold covers every event of its correlation id, including events
-- appended later; release records who and why; partitions holding held rows
-- cannot be dropped or detached; counts are of that correlation id only.
BEGIN;
SELECT plan(16);

CREATE FUNCTION pg_temp.ev(id int, cid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_id', format('e0000000-0000-4000-8000-%s', lpad(id::text, 12, '0')),
        'event_timestamp', now(), 'event_type', 't', 'event_category', 'gateway', 'event_action', 'a',
        'event_outcome', 'success', 'actor_type', 's', 'actor_id', 'x', 'resource_type', 'r',
        'resource_id', 'r', 'correlation_id', cid, 'event_data', '{}'::jsonb)
$$;

SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(1, 'lh-a'), pg_temp.ev(2, 'lh-a'),
                                                            pg_temp.ev(3, 'lh-b'))), 3, 'events stored');
SELECT throws_ok($$ SELECT datastorage.place_legal_hold('lh-none', 'r', 'alice') $$, 'DS404',
                 'No events found for correlation_id: lh-none', 'unknown correlation id is 404');
SELECT is((datastorage.place_legal_hold('lh-a', 'litigation', 'alice'))->>'events_affected', '2',
          'events_affected counts only lh-a');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(4, 'lh-a'))), 1, 'appended after the hold');
SELECT is((SELECT legal_hold FROM audit_events WHERE event_id = 'e0000000-0000-4000-8000-000000000004'), true,
          'an event appended after the hold is held');
SELECT is((SELECT legal_hold FROM audit_events WHERE correlation_id = 'lh-b'), false, 'other chains untouched');
SELECT is((datastorage.list_legal_holds())->'holds'->0->>'events_affected', '3', 'list counts the held events');
SELECT is((datastorage.list_legal_holds())->>'total', '1', 'one active hold');
-- As the tables' owner (a superuser passes every guard, docs/sql-api.md).
SET LOCAL ROLE datastorage_owner;
SELECT throws_ok(format('DROP TABLE %I', 'audit_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')),
                 '23503', NULL, 'a partition with held rows cannot be dropped');
SELECT throws_ok(format('ALTER TABLE audit_events DETACH PARTITION %I',
                        'audit_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')), '23503', NULL,
                 'a partition with held rows cannot be detached');
CREATE TABLE audit_events_2098_01 PARTITION OF audit_events FOR VALUES FROM ('2098-01-01') TO ('2098-02-01');
SELECT lives_ok($$ DROP TABLE audit_events_2098_01 $$,
                'a partition without held rows can be dropped while a hold is active elsewhere');
RESET ROLE;
SELECT throws_ok($$ SELECT datastorage.release_legal_hold('lh-b', 'x', 'bob') $$, 'DS404',
                 'No legal hold found for correlation_id: lh-b', 'release without a hold is 404');
SELECT is((datastorage.release_legal_hold('lh-a', 'settled', 'bob'))->>'events_released', '3',
          'release counts the held events');
SELECT results_eq($$ SELECT action, reason, actor FROM datastorage.legal_hold_history('lh-a') $$,
                  $$ VALUES ('place', 'litigation', 'alice'), ('release', 'settled', 'bob') $$,
                  'history records who placed and who released, and why');
SELECT is((SELECT legal_hold_reason FROM audit_events WHERE event_id = 'e0000000-0000-4000-8000-000000000001'),
          'litigation [Released: settled]', 'release reason appended to the row');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(5, 'lh-a'))) ,1, 'append after release')
;

SELECT * FROM finish();
ROLLBACK;
