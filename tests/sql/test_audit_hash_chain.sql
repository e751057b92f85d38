-- Rule: every event is linked into its correlation id's chain, in append
-- order, by chain_seq; batches link each chain in array order; replays of a
-- stored event_id store nothing; the chain verifies end to end.
BEGIN;
SELECT plan(26);

CREATE FUNCTION pg_temp.ev(id int, cid text, ts timestamptz DEFAULT now()) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_id', format('b0000000-0000-4000-8000-%s', lpad(id::text, 12, '0')),
        'event_timestamp', ts, 'event_type', 'test.event', 'event_category', 'gateway',
        'event_action', 'act', 'event_outcome', 'success', 'actor_type', 'service',
        'actor_id', 'gateway-service', 'resource_type', 'gateway', 'resource_id', cid,
        'correlation_id', cid, 'event_version', '1.0', 'severity', 'info',
        'event_data', jsonb_build_object('n', id, 'text', 'é "quoted" \ slash'))
$$;

-- A chain of three, the second with an OLDER timestamp: order is append order.
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(1, 'hc-a'))), 1, 'first append');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(2, 'hc-a', now() - interval '1 day'))), 1, 'older timestamp appended');
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(3, 'hc-a', now() - interval '1 day'))), 1, 'equal timestamp appended');

SELECT results_eq($$ SELECT chain_seq FROM audit_events WHERE correlation_id = 'hc-a' ORDER BY chain_seq $$,
                  ARRAY[1::bigint, 2, 3], 'sequence numbers are 1..3');
SELECT is((SELECT previous_event_hash FROM audit_events WHERE correlation_id = 'hc-a' AND chain_seq = 1), '',
          'first event links to the empty hash');
SELECT is((SELECT count(*) FROM audit_events a JOIN audit_events b
             ON b.correlation_id = a.correlation_id AND b.chain_seq = a.chain_seq + 1
           WHERE a.correlation_id = 'hc-a' AND b.previous_event_hash = a.event_hash), 2::bigint,
          'each event links to its predecessor''s hash');
SELECT ok((SELECT bool_and(event_hash ~ '^[0-9a-f]{64}$') FROM audit_events WHERE correlation_id = 'hc-a'),
          'hashes are 64 lowercase hex digits');
SELECT is((SELECT is_valid FROM datastorage.verify_chain_summary('hc-a')), true, 'the chain verifies');

-- Replay: the same event ids again store nothing.
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(1, 'hc-a'), pg_temp.ev(3, 'hc-a'))), 0,
          'replayed event ids are not stored twice');
SELECT is((SELECT count(*) FROM audit_events WHERE correlation_id = 'hc-a'), 3::bigint, 'still three events');

-- The same id twice in one array: stored once, at its first position.
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(4, 'hc-a'), pg_temp.ev(4, 'hc-b'))), 1,
          'an id repeated within the array is stored once');
SELECT is((SELECT correlation_id::text FROM audit_events WHERE event_id = 'b0000000-0000-4000-8000-000000000004'), 'hc-a',
          'the first occurrence wins');
-- On one node an id is stored once whatever chain names it again (on a
-- Citus cluster: once per chain, tests/citus/test_cluster_rules.py).
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(1, 'hc-elsewhere'))), 0,
          'a stored id replayed under another chain stores nothing');
SELECT is((SELECT count(*) FROM audit_events WHERE correlation_id = 'hc-elsewhere'), 0::bigint,
          'the other chain stays empty');
-- Stored ids are registered with their date and chain (one index answers "stored?").
SELECT is((SELECT count(*) FROM audit_events e JOIN audit_event_ids i USING (event_id, event_date, correlation_id)),
          (SELECT count(*) FROM audit_event_ids), 'every registered id names a stored event of that date and chain');

-- Replayed, repeated and new ids in one array: only the new ones are
-- numbered, densely, after the stored tail (hc-a holds 1..4).
SELECT is(datastorage.append_audit_events(jsonb_build_array(pg_temp.ev(1, 'hc-a'), pg_temp.ev(5, 'hc-a'),
              pg_temp.ev(2, 'hc-a'), pg_temp.ev(5, 'hc-a'), pg_temp.ev(6, 'hc-a'))), 2,
          'of a mixed array only the new ids are stored');
SELECT results_eq($$ SELECT chain_seq, right(event_id::text, 1) FROM audit_events
                     WHERE correlation_id = 'hc-a' AND chain_seq > 3 ORDER BY chain_seq $$,
                  $$ VALUES (4::bigint, '4'), (5, '5'), (6, '6') $$,
                  'the new ids follow the tail without gaps, in array order');
SELECT is((SELECT is_valid FROM datastorage.verify_chain_summary('hc-a')), true, 'the mixed append verifies');
SELECT is(datastorage.append_audit_events('[]'), 0, 'an empty array stores nothing');
-- The window aggregate's value: the previous hash, then the event's own.
SELECT results_eq($$ SELECT datastorage.chain_links('', t) OVER (ORDER BY t) FROM (VALUES ('x'), ('y')) v(t) $$,
                  ARRAY[datastorage.link_hash('', 'x'),
                        datastorage.link_hash('', 'x') || datastorage.link_hash(datastorage.link_hash('', 'x'), 'y')],
                  'chain_links carries the previous hash beside the link');

-- A batch spanning 20 chains, interleaved: each chain links in array order.
SELECT is(datastorage.append_audit_events(
    (SELECT jsonb_agg(pg_temp.ev(100 + i, 'hc-multi-' || (i % 20)) ORDER BY i) FROM generate_series(0, 99) i)),
    100, 'a batch of 100 events over 20 chains');
SELECT is((SELECT count(*) FROM generate_series(0, 19) c
           WHERE (SELECT is_valid FROM datastorage.verify_chain_summary('hc-multi-' || c))), 20::bigint,
          'all 20 chains verify');
SELECT results_eq($$ SELECT event_id FROM audit_events WHERE correlation_id = 'hc-multi-7' ORDER BY chain_seq $$,
                  $$ SELECT format('b0000000-0000-4000-8000-%s', lpad((100 + i)::text, 12, '0'))::uuid
                     FROM generate_series(7, 99, 20) i ORDER BY i $$,
                  'within a chain, events link in array order');

-- A parent that does not exist is refused; the whole batch is rolled back.
SELECT throws_ok($$ SELECT datastorage.append_audit_events(jsonb_build_array(
                      pg_temp.ev(900, 'hc-p') || '{"parent_event_id": "c0000000-0000-4000-8000-000000000000"}')) $$,
                 'DS400', NULL, 'unknown parent_event_id is refused');

-- A parent in another chain counts.
SELECT is(datastorage.append_chain_events('hc-child', jsonb_build_array(
              pg_temp.ev(901, 'hc-child') || '{"parent_event_id": "b0000000-0000-4000-8000-000000000001"}')), 1,
          'a parent stored in another chain is found');

SELECT is(datastorage.chains_distributed(), false, 'one node: the chains are not distributed');

SELECT * FROM finish();
ROLLBACK;
