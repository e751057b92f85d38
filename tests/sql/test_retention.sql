-- Rule: retention removes exactly the expired, unheld prefix of each chain,
-- drops whole partitions that hold nothing else, records a horizon that every
-- verification accepts (and nothing else), and is refused to the app role.
-- Every date is explicit (2020): nothing depends on today.
BEGIN;
SELECT plan(48);
-- The literals below carry no zone: they mean UTC, whatever the session's
-- TimeZone (the pinned-date runs use zones east and west of UTC).
SET LOCAL TimeZone = 'UTC';

-- A month that retention can drop whole, and a month that stays mixed
-- (created by the owner, as datastorage.ensure_audit_partitions does).
SET LOCAL ROLE datastorage_owner;
CREATE TABLE audit_events_2020_01 PARTITION OF audit_events FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE audit_events_2020_02 PARTITION OF audit_events FOR VALUES FROM ('2020-02-01') TO ('2020-03-01');
RESET ROLE;

CREATE FUNCTION pg_temp.ev(cid text, n int, ts timestamptz, days int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_id', md5(cid || n)::uuid, 'event_timestamp', ts,
        'event_type', 't', 'event_category', 'gateway', 'event_action', 'a', 'event_outcome', 'success',
        'actor_type', 's', 'actor_id', 'x', 'resource_type', 'r', 'resource_id', 'r',
        'correlation_id', cid, 'event_data', jsonb_build_object('n', n), 'retention_days', days)
$$;
CREATE FUNCTION pg_temp.chain(cid text, first timestamptz, n int, days int) RETURNS integer LANGUAGE sql AS $$
    SELECT datastorage.append_audit_events(jsonb_agg(pg_temp.ev(cid, i, first + make_interval(hours => i), days)
                                                     ORDER BY i))
    FROM generate_series(1, n) i
$$;
CREATE FUNCTION pg_temp.ids(cid text) RETURNS bigint[] LANGUAGE sql AS $$
    SELECT array_agg(chain_seq ORDER BY chain_seq) FROM audit_events WHERE correlation_id = cid
$$;

-- January: three chains, 10 days' retention, all expired by 2020-02-15.
SELECT is(pg_temp.chain('jan-a', '2020-01-03', 5, 10), 5, 'jan-a stored');
SELECT is(pg_temp.chain('jan-b', '2020-01-05', 5, 10), 5, 'jan-b stored');
-- Spans both months: its January part is a prefix, its February part unexpired.
SELECT is(pg_temp.chain('mix', '2020-01-30', 4, 10), 4, 'mix stored');
SELECT is(datastorage.append_audit_events(jsonb_build_array(
          pg_temp.ev('mix', 5, '2020-02-10', 10), pg_temp.ev('mix', 6, '2020-02-12', 10))), 2, 'mix continues');
-- Boundary: event_date 2020-02-04 + 10 days = 2020-02-14 (expired on 2020-02-15);
-- 2020-02-05 + 10 = 2020-02-15 (not before the cutoff: kept).
SELECT is(datastorage.append_audit_events(jsonb_build_array(
          pg_temp.ev('edge', 1, '2020-02-04 23:59:59+00', 10), pg_temp.ev('edge', 2, '2020-02-05 00:00:00+00', 10))),
          2, 'edge stored');
-- Held: expired in February but under hold; one more event arrives while held.
SELECT is(pg_temp.chain('held', '2020-02-01', 3, 1), 3, 'held stored');
SELECT lives_ok($$ SELECT datastorage.place_legal_hold('held', 'litigation', 'alice') $$, 'hold placed');
SELECT is(pg_temp.chain('held2', '2020-02-02', 1, 1), 1, 'a second chain in February');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev('held', 9, '2020-02-03', 1))), 1,
          'event arrives while held');
-- Out of order: seq 2 expired, seq 1 not (retention_days differs): nothing leaves yet.
SELECT is(datastorage.append_audit_events(jsonb_build_array(
          pg_temp.ev('order', 1, '2020-02-02', 365), pg_temp.ev('order', 2, '2020-02-02', 1))), 2, 'order stored');

-- The app role may neither run nor plan retention, nor delete.
SET LOCAL ROLE datastorage_app;
SELECT throws_ok($$ SELECT datastorage.enforce_retention('2020-02-15', false) $$, '42501', NULL,
                 'app role cannot run retention');
SELECT throws_ok($$ SELECT datastorage.retention_begin('2020-02-15', 'x') $$, '42501', NULL,
                 'app role cannot begin a run');
SELECT throws_ok($$ CALL datastorage.run_retention('2020-02-15') $$, '42501', NULL,
                 'app role cannot call the procedure');
RESET ROLE;

-- Plain DELETE stays refused, even of an expired unheld event; so does a
-- drop of a partition holding a held event, and TRUNCATE.
SELECT throws_ok($$ DELETE FROM audit_events WHERE correlation_id = 'jan-a' $$, '55000', NULL,
                 'plain DELETE of an expired unheld event is refused');
SET LOCAL ROLE datastorage_owner;  -- (a superuser passes every guard: docs/sql-api.md)
SELECT throws_like($$ DROP TABLE audit_events_2020_02 $$, '%', 'a partition holding a held event cannot be dropped');
RESET ROLE;
SELECT throws_ok($$ TRUNCATE audit_events $$, '55000', NULL, 'TRUNCATE refused');
-- Setting retention's flag by hand lets through nothing retention would not remove.
SELECT throws_ok($$ SELECT set_config('datastorage.retention_cutoff', '2020-02-15', true);
                    DELETE FROM audit_events WHERE correlation_id = 'edge' AND chain_seq = 2 $$,
                 '55000', NULL, 'a hand-set flag does not remove an unexpired event');
SELECT throws_ok($$ SELECT set_config('datastorage.retention_cutoff', '2020-02-15', true);
                    DELETE FROM audit_events WHERE correlation_id = 'held' $$,
                 '23503', NULL, 'a hand-set flag does not remove a held event');
SELECT set_config('datastorage.retention_cutoff', '', true);

-- Dry run: a plan, and nothing changes.
CREATE TEMP TABLE before AS SELECT event_id FROM audit_events;
SELECT is((datastorage.enforce_retention('2020-02-15', true))->'partitions_to_drop', '["audit_events_2020_01"]',
          'dry run: January is droppable, February is not');
SELECT is(((datastorage.enforce_retention('2020-02-15', true))->>'events_to_delete')::int, 5 + 5 + 4 + 1 + 1,
          'dry run counts jan-a, jan-b, mix''s January part, held2 and the edge event');
SELECT is(((datastorage.retention_plan('2020-02-15'))->>'kept_held_events')::int, 4,
          'dry run: four expired events kept because held');
SELECT is((SELECT count(*) FROM audit_events), (SELECT count(*) FROM before), 'dry run deleted nothing');
SELECT is((SELECT count(*) FROM audit_retention_runs), 0::bigint, 'dry run recorded no run');
SELECT is((SELECT count(*) FROM audit_retention_horizons), 0::bigint, 'dry run wrote no horizon');

-- A date ahead of the database clock is refused.
SELECT throws_ok($$ SELECT datastorage.enforce_retention(now() + interval '1 day') $$, 'DS400', NULL,
                 'a run ahead of the database clock is refused');

-- The run (as the maintenance role).
SET LOCAL ROLE datastorage_maintenance;
CREATE TEMP TABLE run AS SELECT datastorage.enforce_retention('2020-02-15') AS r;
RESET ROLE;
SELECT is((SELECT r->>'status' FROM run), 'succeeded', 'the run succeeded');
SELECT is((SELECT r->'partitions_detached' FROM run), '["audit_events_2020_01"]', 'January was detached');
SELECT is((SELECT r->'partitions_dropped' FROM run), '["audit_events_2020_01"]', 'January was dropped');
SELECT is(to_regclass('public.audit_events_2020_01'), NULL, 'the January table is gone');
SELECT is((SELECT (r->>'events_deleted')::int FROM run), 16, 'events deleted');
SELECT is((SELECT (r->>'kept_held_events')::int FROM run), 4, 'held events counted as kept');
SELECT is(pg_temp.ids('mix'), ARRAY[5, 6]::bigint[], 'a chain across months keeps its unexpired part');
SELECT is(pg_temp.ids('held2'), NULL, 'mixed partition: an expired chain in it went row by row');
SELECT is(pg_temp.ids('edge'), ARRAY[2::bigint], 'boundary: the day-before event went, the cutoff-day one stayed');
SELECT is(pg_temp.ids('held'), ARRAY[1, 2, 3, 4]::bigint[], 'held chain keeps every event, the late one too');
SELECT is(pg_temp.ids('order'), ARRAY[1, 2]::bigint[], 'an expired event behind an unexpired one waits');
SELECT results_eq($$ SELECT correlation_id::text, first_kept_seq FROM audit_retention_horizons ORDER BY 1 $$,
                  $$ VALUES ('edge', 2::bigint), ('held2', 2), ('jan-a', 6), ('jan-b', 6), ('mix', 5) $$,
                  'a horizon per pruned chain');

-- Verification accepts the recorded horizon; a fully pruned chain is expired, not broken.
SELECT results_eq($$ SELECT correlation_id, total_events, is_valid, pruned_events, expired
                     FROM datastorage.verify_chains(ARRAY['edge', 'jan-a', 'held']) $$,
                  $$ VALUES ('edge'::text, 1::bigint, true, 1::bigint, false), ('jan-a', 0, true, 5, true),
                            ('held', 4, true, 0, false) $$,
                  'pruned chains verify; jan-a is expired');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev('jan-a', 1, '2020-01-03 01:00', 10))),
          0, 'a pruned event sent again is not stored again (its id is remembered)');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev('jan-a', 100, '2020-02-20', 10))),
          1, 'a pruned chain can continue');
SELECT is((SELECT is_valid FROM datastorage.verify_chain_summary('jan-a')), true,
          'its new event links to the horizon');
-- Any other gap is still a gap: remove the first kept event of 'edge' by hand.
SET LOCAL session_replication_role = replica;
DELETE FROM audit_events WHERE correlation_id = 'jan-a';
UPDATE audit_retention_horizons SET previous_hash = repeat('0', 64) WHERE correlation_id = 'held2';
SET LOCAL session_replication_role = origin;
SELECT is((SELECT is_valid FROM datastorage.verify_chain_summary('jan-a')), false,
          'a chain whose kept event vanished is broken (head past the horizon)');
SELECT is((SELECT head_matches FROM datastorage.verify_chain_summary('held2')), false,
          'a horizon that does not match the chain is reported');

-- Release: the held chain's expired events go at the next run; an earlier cutoff is refused.
SELECT lives_ok($$ SELECT datastorage.release_legal_hold('held', 'settled', 'bob') $$, 'hold released');
SELECT throws_ok($$ SELECT datastorage.enforce_retention('2020-02-14') $$, 'DS400', NULL,
                 'a cutoff before the last run''s is refused');
SELECT is((datastorage.enforce_retention('2020-02-16'))->>'events_deleted', '5',
          'next day: the four released events and the edge event that expired since');
SELECT is(pg_temp.ids('held'), NULL, 'the released chain is gone');
SELECT is((SELECT expired FROM datastorage.verify_chains(ARRAY['held'])), true, 'and reported expired');

SELECT * FROM finish();
ROLLBACK;
