-- Rule: every stored event enters the transparency log exactly once, whoever
-- inserted it; the log's tables are append-only; the app integrates, the
-- auditor reads proofs; an inserted event is captured in its own transaction.
BEGIN;
SELECT plan(17);

CREATE TEMP TABLE ev AS
SELECT jsonb_agg(jsonb_build_object(
           'event_id', gen_random_uuid(), 'event_timestamp', now() - interval '1 hour',
           'event_type', 't', 'event_category', 'c', 'event_action', 'a', 'event_outcome', 'success',
           'actor_type', 's', 'actor_id', 'x', 'resource_type', 'r', 'resource_id', 'r',
           'correlation_id', 'tlog-' || (i % 3), 'event_data', jsonb_build_object('i', i))) AS j
FROM generate_series(1, 10) i;

SELECT is(datastorage.append_audit_events((SELECT j FROM ev)), 10, 'ten events appended');
SELECT is((SELECT count(*) FROM tlog_outbox o JOIN audit_events a USING (event_id)), 10::bigint,
          'the append transaction wrote the outbox');
-- A row written past the append function (as a DBA would) is captured too.
INSERT INTO audit_events (event_id, event_timestamp, event_date, event_type, event_category, event_action,
                          event_outcome, actor_type, actor_id, resource_type, resource_id,
                          correlation_id, event_data, chain_seq, event_hash, previous_event_hash)
VALUES ('00000000-0000-4000-8000-000000000013', now(), (now() AT TIME ZONE 'UTC')::date, 't', 'c', 'a',
        'success', 's', 'x', 'r', 'r', 'tlog-direct', '{}', 1, repeat('0', 64), '');
SELECT is((SELECT count(*) FROM tlog_outbox), 11::bigint, 'a direct insert is captured');

SET LOCAL ROLE datastorage_app;
SELECT is(datastorage.tlog_integrate(4), 4::bigint, 'a batch takes at most max_batch rows');
SELECT is(datastorage.tlog_integrate(1000), 7::bigint, 'the next batch takes the rest');
SELECT is(datastorage.tlog_integrate(1000), 0::bigint, 'nothing left');
SELECT throws_ok($$ SELECT datastorage.tlog_integrate(0) $$, 'DS400', NULL, 'batch size must be positive');
RESET ROLE;

SELECT is((SELECT count(DISTINCT event_id) FROM tlog_leaves), 11::bigint, 'every event is one leaf');
SELECT is((SELECT array_agg(leaf_index ORDER BY leaf_index) FROM tlog_leaves),
          (SELECT array_agg(i) FROM generate_series(0, 10) i)::bigint[], 'leaf indexes have no gaps');
SELECT is((SELECT leaf_hash FROM tlog_leaves WHERE event_id = '00000000-0000-4000-8000-000000000013'),
          sha256('\x00'::bytea || convert_to(E'00000000-0000-4000-8000-000000000013\n' || repeat('0', 64)
                                             || E'\ntlog-direct', 'UTF8')),
          'leaf hash is SHA-256(0x00 || event_id LF event_hash LF correlation_id)');

-- An event offered twice (already a leaf, or queued twice) becomes one leaf.
INSERT INTO tlog_outbox (event_id, correlation_id, event_hash)
VALUES ('00000000-0000-4000-8000-000000000013', 'tlog-direct', repeat('0', 64)),
       ('00000000-0000-4000-8000-000000000014', 'tlog-x', repeat('1', 64)),
       ('00000000-0000-4000-8000-000000000014', 'tlog-x', repeat('1', 64));
SELECT is(datastorage.tlog_integrate(1000), 1::bigint, 'repeats are dropped, the new event integrated');
SELECT is((SELECT count(*) FROM tlog_outbox), 0::bigint, 'the outbox is empty');

SELECT throws_ok($$ UPDATE tlog_leaves SET event_hash = 'x' $$, '55000', NULL, 'leaves are append-only');
SELECT throws_ok($$ DELETE FROM tlog_nodes $$, '55000', NULL, 'nodes are append-only');
SELECT throws_ok($$ TRUNCATE tlog_checkpoints $$, '55000', NULL, 'checkpoints cannot be truncated');

SET LOCAL ROLE datastorage_auditor;
SELECT is((SELECT leaf_index FROM datastorage.tlog_event_proof('00000000-0000-4000-8000-000000000013', 12)),
          10::bigint, 'the auditor gets an inclusion proof');
SELECT throws_ok($$ SELECT datastorage.tlog_integrate(10) $$, '42501', NULL, 'the auditor cannot integrate');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
