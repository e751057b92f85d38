-- Rule: an insert never fails for want of a partition; months ahead exist.
-- Months are UTC months of event_date, whatever the session's time zone.
BEGIN;
SELECT plan(17);

CREATE FUNCTION pg_temp.ev(id int, ts timestamptz) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_id', format('d0000000-0000-4000-8000-%s', lpad(id::text, 12, '0')),
        'event_timestamp', datastorage.rfc3339_micro(ts), 'event_type', 't',
        'event_category', 'gateway', 'event_action', 'a',
        'event_outcome', 'success', 'actor_type', 's', 'actor_id', 'x', 'resource_type', 'r',
        'resource_id', 'r', 'correlation_id', 'part-' || id, 'event_data', '{}'::jsonb)
$$;
CREATE FUNCTION pg_temp.home(id int) RETURNS text LANGUAGE sql AS $$
    SELECT tableoid::regclass::text || ' ' || event_date FROM audit_events
     WHERE correlation_id = 'part-' || id
$$;
CREATE FUNCTION pg_temp.months(y int) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(substr(relname, 14), ',' ORDER BY relname) FROM pg_class
     WHERE relname LIKE 'audit\_events\_' || y || '\_%' AND relkind = 'r'
$$;

-- The daily upkeep (every migrate runs it too): even when this run started
-- in the previous month, the months around today exist afterwards.
SELECT lives_ok($$ SELECT datastorage.maintain() $$, 'partition upkeep is idempotent');
SELECT has_table('public', 'audit_events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'),
                 'this month has a partition');
SELECT has_table('public', 'audit_events_' || to_char((now() AT TIME ZONE 'UTC') + interval '3 months', 'YYYY_MM'),
                 'three months ahead have a partition');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(1, '1999-01-01T00:00:00Z'))), 1,
          'an event 27 years in the past is stored');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(2, '2099-12-31T23:59:59Z'))), 1,
          'an event in 2099 is stored');
SELECT is((SELECT count(*) FROM audit_events_default), 2::bigint, 'both landed in the DEFAULT partition');

-- Calendar edges, at fixed dates far from today's partitions. East of UTC
-- the last minute of 2040 is already 2041 locally; the months must not move.
SET LOCAL timezone = 'Pacific/Kiritimati';
SELECT is(datastorage.ensure_audit_partitions(1, 3, '2040-12-31T23:59:59.999999Z'), 5,
          'upkeep on the last instant of a year creates five months');
SELECT is(pg_temp.months(2040) || ';' || pg_temp.months(2041), '2040_11,2040_12;2041_01,2041_02,2041_03',
          'counted from the UTC month, not the session''s');
SELECT is(datastorage.ensure_audit_partitions(1, 3, '2040-12-31T23:59:59.999999Z'), 0,
          'a second run creates nothing');
SELECT is(datastorage.append_audit_events(jsonb_build_array(
              pg_temp.ev(3, '2040-12-31T23:59:59.999999Z'), pg_temp.ev(4, '2041-01-01T00:00:00Z'))), 2,
          'events either side of the new year are stored');
SELECT is(pg_temp.home(3), 'audit_events_2040_12 2040-12-31', 'the last microsecond of a year stays in December');
SELECT is(pg_temp.home(4), 'audit_events_2041_01 2041-01-01', 'the first of the new year lands in January');

-- West of UTC the first minutes of a month are still the previous day locally.
SET LOCAL timezone = 'America/Los_Angeles';
SELECT is(datastorage.ensure_audit_partitions(0, 0, '2044-03-01T00:30:00Z'), 1,
          'upkeep in the first minutes of a month creates that month');
SELECT is(pg_temp.months(2044), '2044_03', 'March, not February');

-- 29 February: a month of 29 days, and months counted across it.
SELECT is(datastorage.ensure_audit_partitions(1, 1, '2048-02-29T23:59:59Z'), 3,
          'upkeep on a leap day creates January to March');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(5, '2048-02-29T23:59:59.5Z'))), 1,
          'an event on 29 February is stored');
SELECT is(pg_temp.home(5), 'audit_events_2048_02 2048-02-29', 'it lands in February, dated the 29th');

SELECT * FROM finish();
ROLLBACK;
