-- Rule: the console's aggregates. console_overview counts the 24 hours that
-- end with the hour of `until` (per hour, per category, per outcome);
-- console_trail pages a chain in chain order and judges every event over the
-- WHOLE chain, so a page boundary is never a break and a tampered event is
-- named whatever page it is on. Both run as the owner with a pinned
-- search_path, for the service role and auditors only.
BEGIN;
SELECT plan(27);

CREATE FUNCTION pg_temp.ev(cid text, n int, at timestamptz, category text, outcome text)
RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_id', gen_random_uuid(), 'event_timestamp', at,
        'event_type', category || '.event', 'event_category', category, 'event_action', 'act',
        'event_outcome', outcome, 'actor_type', 'service', 'actor_id', 'svc',
        'resource_type', 'r', 'resource_id', cid, 'correlation_id', cid, 'event_version', '1.0',
        'severity', 'info', 'duration_ms', n * 10, 'event_data', jsonb_build_object('n', n))
$$;

-- A fixed "now" (not the clock): 2026-01-15 12:30 UTC. The window is
-- [2026-01-14 13:00, 2026-01-15 13:00).
CREATE TEMP TABLE t AS SELECT timestamptz '2026-01-15 12:30:00+00' AS until;

-- console-a: 6 events in the window (hours 12:xx x3, 11:xx x2, 13:xx the day
-- before x1) and one just before it; console-b: 3 events, one a failure.
SELECT datastorage.append_audit_events(jsonb_build_array(
    pg_temp.ev('console-a', 1, '2026-01-14 12:59:59+00', 'gateway', 'success'),
    pg_temp.ev('console-a', 2, '2026-01-14 13:00:00+00', 'gateway', 'success'),
    pg_temp.ev('console-a', 3, '2026-01-15 11:10:00+00', 'gateway', 'success'),
    pg_temp.ev('console-a', 4, '2026-01-15 11:20:00+00', 'analysis', 'success'),
    pg_temp.ev('console-a', 5, '2026-01-15 12:00:00+00', 'analysis', 'pending'),
    pg_temp.ev('console-a', 6, '2026-01-15 12:10:00+00', 'workflow', 'success'),
    pg_temp.ev('console-a', 7, '2026-01-15 12:29:59+00', 'workflow', 'success')));
SELECT datastorage.append_audit_events(jsonb_build_array(
    pg_temp.ev('console-b', 1, '2026-01-15 09:00:00+00', 'gateway', 'failure'),
    pg_temp.ev('console-b', 2, '2026-01-15 09:00:01+00', 'gateway', 'success'),
    pg_temp.ev('console-b', 3, '2026-01-15 09:59:59.999+00', 'gateway', 'success')));

CREATE TEMP TABLE o AS SELECT datastorage.console_overview((SELECT until FROM t)) AS d;

SELECT is((SELECT d ->> 'from' FROM o), '2026-01-14T13:00:00Z', 'window starts 23 hours before the current hour');
SELECT is((SELECT d ->> 'until' FROM o), '2026-01-15T13:00:00Z', 'window ends with the current hour');
SELECT is((SELECT jsonb_array_length(d -> 'hours') FROM o), 24, '24 hourly buckets');
SELECT is((SELECT (d ->> 'total')::int FROM o), 9, 'the event one second before the window is left out');
SELECT is((SELECT (d ->> 'chains')::int FROM o), 2, 'chains active in the window');
SELECT is((SELECT array_agg((h ->> 'count')::int ORDER BY ord) FROM o,
                  jsonb_array_elements(d -> 'hours') WITH ORDINALITY AS x(h, ord)
           WHERE (h ->> 'count')::int > 0),
          ARRAY[1, 3, 2, 3], 'events land in their hour (first hour, 09:xx, 11:xx, 12:xx)');
SELECT is((SELECT d -> 'hours' -> 20 FROM o), '{"count": 3, "start": "2026-01-15T09:00:00Z"}'::jsonb,
          'a bucket names its hour; 09:59:59.999 is still 09:xx');
SELECT is((SELECT d -> 'by_category' FROM o),
          '[{"key": "gateway", "count": 5}, {"key": "analysis", "count": 2}, {"key": "workflow", "count": 2}]'::jsonb,
          'by category, largest first, ties by name');
SELECT is((SELECT d -> 'by_outcome' FROM o),
          '[{"key": "success", "count": 7}, {"key": "failure", "count": 1}, {"key": "pending", "count": 1}]'::jsonb,
          'by outcome, largest first, ties by name');
SELECT is((SELECT (d ->> 'chains_total')::int FROM o), 2, 'chains in total');
SELECT throws_ok($$ SELECT datastorage.console_overview('infinity') $$, 'DS400', NULL,
                 'an infinite until is refused');

-- A 25-event chain, tampered at chain_seq 23 (on the third page of 10).
SELECT datastorage.append_audit_events(
    (SELECT jsonb_agg(pg_temp.ev('console-long', i, timestamptz '2026-01-15 10:00:00+00'
                                 + make_interval(secs => i * 1.5), 'gateway', 'success') ORDER BY i)
     FROM generate_series(1, 25) i));
CREATE TEMP TABLE p1 AS SELECT datastorage.console_trail('console-long', 0, 10) AS d;

SELECT is((SELECT jsonb_agg((e ->> 'chain_seq')::int) FROM p1, jsonb_array_elements(d -> 'events') e),
          '[1,2,3,4,5,6,7,8,9,10]'::jsonb, 'first page in chain order');
SELECT is((SELECT array_agg(DISTINCT e ->> 'verdict') FROM p1, jsonb_array_elements(d -> 'events') e),
          ARRAY['ok'], 'untouched events are ok');
SELECT is((SELECT d -> 'events' -> 1 ->> 'since_previous_ms' FROM p1), '1500.000',
          'milliseconds since the previous event');
SELECT is((SELECT d -> 'events' -> 0 ->> 'event_data_pretty' FROM p1), jsonb_pretty('{"n": 1}'),
          'the event carries its event_data, indented');
SELECT is((SELECT (d -> 'chain' ->> 'is_valid')::boolean FROM p1), true, 'the whole chain verifies');
SELECT is((SELECT jsonb_agg((e ->> 'chain_seq')::int)
           FROM jsonb_array_elements(datastorage.console_trail('console-long', 20, 10) -> 'events') e),
          '[21,22,23,24,25]'::jsonb, 'last page is short');
SELECT is(datastorage.console_trail('console-long', 30, 10) -> 'events', '[]'::jsonb,
          'past the end: no events, no error');

SET LOCAL session_replication_role = replica;
UPDATE audit_events SET event_data = '{"n": 999}' WHERE correlation_id = 'console-long' AND chain_seq = 23;
SET LOCAL session_replication_role = origin;

CREATE TEMP TABLE p1t AS SELECT datastorage.console_trail('console-long', 0, 10) AS d;
SELECT is((SELECT (d -> 'chain' ->> 'is_valid')::boolean FROM p1t), false,
          'the first page shows the chain broken although its own events are fine');
SELECT is((SELECT d -> 'chain' -> 'broken' FROM p1t),
          (SELECT jsonb_build_array(jsonb_build_object('position', 22, 'chain_seq', 23,
                                                       'event_id', event_id, 'verdict', 'content_mismatch'))
           FROM audit_events WHERE correlation_id = 'console-long' AND chain_seq = 23),
          'the chain verdict names the tampered event, its position and why');
SELECT is((SELECT array_agg(e ->> 'verdict' ORDER BY (e ->> 'chain_seq')::int)
           FROM jsonb_array_elements(datastorage.console_trail('console-long', 20, 10) -> 'events') e),
          ARRAY['ok', 'ok', 'content_mismatch', 'ok', 'ok'], 'the page holding it flags that event only');

-- Legal hold state and history.
SELECT datastorage.place_legal_hold('console-a', 'litigation <b>', 'legal@example.com');
SELECT is((SELECT d -> 'hold' ->> 'reason' FROM (SELECT datastorage.console_trail('console-a', 0, 5) d) x),
          'litigation <b>', 'the hold reason, verbatim (escaping is the page''s job)');
SELECT is((SELECT jsonb_array_length(d -> 'hold_history')
           FROM (SELECT datastorage.console_trail('console-a', 0, 5) d) x), 1, 'hold history');

SELECT is(datastorage.console_trail('console-none', 0, 10) ->> 'found', 'false',
          'a chain nobody wrote is not found');
SELECT throws_ok($$ SELECT datastorage.console_trail('console-a', 0, 0) $$, 'DS400', NULL,
                 'limit below 1 is refused');

SELECT ok((SELECT bool_and(p.prosecdef AND 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig))
           FROM pg_proc p WHERE p.proname IN ('console_overview', 'console_trail')),
          'security definer with a pinned search_path');

SET LOCAL ROLE datastorage_app;
SELECT lives_ok($$ SELECT datastorage.console_trail('console-a', 0, 5) $$, 'the service role may read trails');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
