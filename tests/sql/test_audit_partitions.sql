-- Rule: an insert never fails for want of a partition; months ahead exist.
BEGIN;
SELECT plan(6);

CREATE FUNCTION pg_temp.ev(id int, ts timestamptz) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_id', format('d0000000-0000-4000-8000-%s', lpad(id::text, 12, '0')),
        'event_timestamp', ts, 'event_type', 't', 'event_category', 'gateway', 'event_action', 'a',
        'event_outcome', 'success', 'actor_type', 's', 'actor_id', 'x', 'resource_type', 'r',
        'resource_id', 'r', 'correlation_id', 'part-' || id, 'event_data', '{}'::jsonb)
$$;

SELECT has_table('public', 'audit_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'),
                 'this month has a partition');
SELECT has_table('public', 'audit_events_' || to_char((now() AT TIME ZONE 'UTC') + interval '3 months', 'YYYY_MM'),
                 'three months ahead have a partition');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(1, '1999-01-01T00:00:00Z'))), 1,
          'an event 27 years in the past is stored');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(2, '2099-12-31T23:59:59Z'))), 1,
          'an event in 2099 is stored');
SELECT is((SELECT count(*) FROM audit_events_default), 2::bigint, 'both landed in the DEFAULT partition');
SELECT lives_ok($$ SELECT datastorage.ensure_audit_partitions(1, 3) $$,
                'partition upkeep is idempotent');

SELECT * FROM finish();
ROLLBACK;
