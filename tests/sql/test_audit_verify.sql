-- Rule: verification follows each WHOLE chain by chain_seq and names exactly
-- the events that break it: altered content or hash (content_mismatch), a
-- hole or renumbering (sequence_gap), a wrong link (link_mismatch), a removed
-- tail (head mismatch). The export judges every selected event that way, so a
-- page boundary is never tampering. The version-1 text renders exactly what
-- jsonb_build_object() would (the appended events are version 2, which is
-- what the tampering below attacks). Tampering needs a superuser who switches the
-- triggers off (session_replication_role = replica), as an attacker would.
BEGIN;
SELECT plan(36);

CREATE FUNCTION pg_temp.ev(id int, cid text) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('event_id', format('c0000000-0000-4000-8000-%s', lpad(id::text, 12, '0')),
        'event_timestamp', now() - make_interval(secs => 100 - id), 'event_type', 'test.event',
        'event_category', 'gateway', 'event_action', 'act', 'event_outcome', 'success',
        'actor_type', 'service', 'actor_id', 'gateway-service', 'resource_type', 'gateway',
        'resource_id', cid, 'correlation_id', cid, 'event_version', '1.0', 'severity', 'info',
        'actor_ip', '10.1.2.3', 'duration_ms', id * 10,
        'event_data', jsonb_build_object('n', id, 'price', 1.50, 'big', 1e30,
                                         'text', 'é "quoted" \ slash' || chr(7)))
$$;

-- The reference rendering: the original definition of canonical_event().
CREATE FUNCTION pg_temp.reference_canonical(e public.audit_events) RETURNS text
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'event_id', e.event_id::text, 'chain_seq', e.chain_seq, 'correlation_id', e.correlation_id,
        'event_timestamp', datastorage.rfc3339_micro(e.event_timestamp),
        'event_date', to_char(e.event_date, 'YYYY-MM-DD'), 'version', e.event_version,
        'event_type', e.event_type, 'event_category', e.event_category,
        'event_action', e.event_action, 'event_outcome', e.event_outcome,
        'actor_type', e.actor_type, 'actor_id', e.actor_id, 'actor_ip', host(e.actor_ip),
        'resource_type', e.resource_type, 'resource_id', e.resource_id,
        'resource_name', e.resource_name, 'parent_event_id', e.parent_event_id::text,
        'parent_event_date', to_char(e.parent_event_date, 'YYYY-MM-DD'), 'trace_id', e.trace_id,
        'span_id', e.span_id, 'namespace', e.namespace, 'cluster_name', e.cluster_name,
        'severity', e.severity, 'duration_ms', e.duration_ms, 'error_code', e.error_code,
        'error_message', e.error_message, 'retention_days', e.retention_days,
        'is_sensitive', e.is_sensitive, 'event_metadata', e.event_metadata,
        'event_data', e.event_data)::text
$$;

-- Seven chains of five events: one stays clean, the others get tampered.
SELECT datastorage.append_audit_events(
    (SELECT jsonb_agg(pg_temp.ev((c * 10 + i)::int, cid) ORDER BY c, i)
     FROM unnest(ARRAY['vc-clean', 'vc-data', 'vc-hash', 'vc-prev', 'vc-del', 'vc-swap', 'vc-tail'])
          WITH ORDINALITY AS t(cid, c), generate_series(1, 5) i));

CREATE FUNCTION pg_temp.id(cid text, seq bigint) RETURNS uuid LANGUAGE sql AS $$
    SELECT event_id FROM audit_events WHERE correlation_id = cid AND chain_seq = seq
$$;
CREATE TEMP TABLE ids AS SELECT correlation_id, chain_seq, event_id FROM audit_events;

-- Clean chain.
SELECT is((SELECT count(*) FILTER (WHERE valid) FROM datastorage.verify_chain('vc-clean')), 5::bigint,
          'every event of an untouched chain is valid');
SELECT is((SELECT array_agg(verdict ORDER BY chain_seq) FROM datastorage.verify_chain('vc-clean')),
          ARRAY['ok', 'ok', 'ok', 'ok', 'ok'], 'verdicts in chain order');
SELECT ok((SELECT bool_and(expected_hash = event_hash) FROM datastorage.verify_chain('vc-clean')),
          'recomputed hashes equal the stored ones');
SELECT is((SELECT count(*) FROM audit_events e
           WHERE '{' || datastorage.canonical_members(e) || '}' IS DISTINCT FROM pg_temp.reference_canonical(e)),
          0::bigint, 'the version-1 text renders exactly what jsonb_build_object() renders');
SELECT results_eq($$ SELECT correlation_id, total_events, valid_events, head_seq, is_valid
                     FROM datastorage.verify_chains(ARRAY['vc-clean', 'vc-none', 'vc-clean']) $$,
                  $$ VALUES ('vc-clean'::text, 5::bigint, 5::bigint, 5::bigint, true),
                            ('vc-none', 0, 0, NULL, true) $$,
                  'verify_chains: one row per requested chain, in order, duplicates removed; unknown chain has no head');
SELECT is(datastorage.chain_sizes(ARRAY['vc-clean', 'vc-none', 'vc-clean']), 5::bigint,
          'chain_sizes: the events of the named chains, from their heads (each chain once)');

-- The attacker switches the triggers off and edits the table.
SET LOCAL session_replication_role = replica;
UPDATE audit_events SET event_data = event_data || '{"n": 999}' WHERE correlation_id = 'vc-data' AND chain_seq = 3;
UPDATE audit_events SET event_hash = repeat('0', 64) WHERE correlation_id = 'vc-hash' AND chain_seq = 3;
UPDATE audit_events SET previous_event_hash = repeat('f', 64) WHERE correlation_id = 'vc-prev' AND chain_seq = 3;
DELETE FROM audit_events WHERE correlation_id = 'vc-del' AND chain_seq = 3;
UPDATE audit_events SET chain_seq = CASE chain_seq WHEN 2 THEN 3 ELSE 2 END
 WHERE correlation_id = 'vc-swap' AND chain_seq IN (2, 3);
DELETE FROM audit_events WHERE correlation_id = 'vc-tail' AND chain_seq = 5;
SET LOCAL session_replication_role = origin;

-- Changed event_data.
SELECT is((SELECT array_agg(verdict ORDER BY chain_seq) FROM datastorage.verify_chain('vc-data')),
          ARRAY['ok', 'ok', 'content_mismatch', 'ok', 'ok'], 'changed event_data: that event only');
SELECT results_eq($$ SELECT first_broken_seq, first_broken_event_id, tampered_event_ids, is_valid
                     FROM datastorage.verify_chain_summary('vc-data') $$,
                  $$ VALUES (3::bigint, pg_temp.id('vc-data', 3), ARRAY[pg_temp.id('vc-data', 3)], false) $$,
                  'the summary names the changed event');
SELECT is((SELECT broken -> 0 ->> 'expected_hash' FROM datastorage.verify_chains(ARRAY['vc-data'])),
          (SELECT expected_hash FROM datastorage.verify_chain('vc-data') WHERE chain_seq = 3),
          'verify_chains lists the broken event with its recomputed hash');

-- Changed event_hash: the event, and its successor whose link now dangles.
SELECT is((SELECT array_agg(verdict ORDER BY chain_seq) FROM datastorage.verify_chain('vc-hash')),
          ARRAY['ok', 'ok', 'content_mismatch', 'link_mismatch', 'ok'],
          'changed event_hash: the event and the link after it');
SELECT is((SELECT first_broken_event_id FROM datastorage.verify_chain_summary('vc-hash')),
          pg_temp.id('vc-hash', 3), 'first broken is the altered event');

-- Changed previous_event_hash: the hash covers it.
SELECT is((SELECT array_agg(verdict ORDER BY chain_seq) FROM datastorage.verify_chain('vc-prev')),
          ARRAY['ok', 'ok', 'content_mismatch', 'ok', 'ok'], 'changed previous_event_hash: that event');

-- A deleted middle event: the next one reports the hole.
SELECT is((SELECT array_agg(chain_seq || ':' || verdict ORDER BY chain_seq) FROM datastorage.verify_chain('vc-del')),
          ARRAY['1:ok', '2:ok', '4:sequence_gap', '5:ok'], 'deleted middle event: its successor reports the gap');
SELECT is((SELECT first_broken_event_id FROM datastorage.verify_chain_summary('vc-del')),
          (SELECT event_id FROM ids WHERE correlation_id = 'vc-del' AND chain_seq = 4),
          'the event after the hole is named');

-- Two events' sequence numbers swapped: both fail (chain_seq is hashed), and
-- the event after them no longer links to its (new) predecessor.
SELECT is((SELECT array_agg(verdict ORDER BY chain_seq) FROM datastorage.verify_chain('vc-swap')),
          ARRAY['ok', 'content_mismatch', 'content_mismatch', 'link_mismatch', 'ok'],
          'swapped sequence numbers: both events, and the link after them');
SELECT is((SELECT tampered_event_ids[1:2] FROM datastorage.verify_chain_summary('vc-swap')),
          ARRAY[(SELECT event_id FROM ids WHERE correlation_id = 'vc-swap' AND chain_seq = 3),
                (SELECT event_id FROM ids WHERE correlation_id = 'vc-swap' AND chain_seq = 2)],
          'the two swapped events are named first');

-- A removed tail: every remaining event is fine, the head is not.
SELECT is((SELECT count(*) FILTER (WHERE valid) FROM datastorage.verify_chain('vc-tail')), 4::bigint,
          'removed tail: the remaining events verify');
SELECT results_eq($$ SELECT head_matches, is_valid, head_seq FROM datastorage.verify_chains(ARRAY['vc-tail']) $$,
                  $$ VALUES (false, false, 5::bigint) $$, 'removed tail: the head gives it away');

-- The untouched chain is still valid next to the tampered ones.
SELECT is((SELECT is_valid FROM datastorage.verify_chain_summary('vc-clean')), true,
          'tampering one chain does not affect another');

-- Legal hold changes mutable columns only: the chain still verifies.
SELECT lives_ok($$ SELECT datastorage.place_legal_hold('vc-clean', 'audit', 'dba') $$, 'hold placed');
SELECT is((SELECT is_valid FROM datastorage.verify_chain_summary('vc-clean')), true,
          'a legal hold does not change any hash');

-- Export: whole-chain verdicts, whatever the page.
SELECT is((SELECT array_agg(hash_chain_valid ORDER BY (body::jsonb ->> 'chain_seq')::int)
           FROM datastorage.export_audit_events('json', NULL, NULL, 'vc-data', NULL, 100, 0)
           WHERE kind = 'event'),
          ARRAY[true, true, false, true, true], 'export flags the changed event');
SELECT is((SELECT body::jsonb ->> 'first_broken_event_id'
           FROM datastorage.export_audit_events('json', NULL, NULL, 'vc-del', NULL, 100, 0)
           WHERE kind = 'chain'),
          (SELECT event_id::text FROM ids WHERE correlation_id = 'vc-del' AND chain_seq = 4),
          'export chain summary names the event after the hole');
SELECT is((SELECT count(*) FROM (VALUES (0), (2), (4)) p(o),
                  datastorage.export_audit_events('json', NULL, NULL, 'vc-clean', NULL, 2, p.o)
           WHERE kind = 'event' AND hash_chain_valid), 5::bigint,
          'pages of two events: no page boundary is reported as tampering');
SELECT is((SELECT array_agg(body::jsonb ->> 'chain_seq' ORDER BY body::jsonb ->> 'chain_seq')
           FROM datastorage.export_audit_events('json', NULL, NULL, 'vc-clean', NULL, 2, 2) WHERE kind = 'event'),
          ARRAY['3', '4'], 'offset and limit select in time order');
SELECT is((SELECT (body::jsonb ->> 'total_events')::int
           FROM datastorage.export_audit_events('json', NULL, NULL, 'vc-clean', NULL, 1, 4) WHERE kind = 'chain'),
          5, 'the chain summary covers the whole chain, not the page');
SELECT is((SELECT body::jsonb - ARRAY['event_hash', 'previous_event_hash', 'hash_chain_valid',
                                     'chain_verdict', 'legal_hold', 'hash_version']
           FROM datastorage.export_audit_events('json', NULL, NULL, 'vc-clean', NULL, 1, 0) WHERE kind = 'event'),
          (SELECT ('{' || datastorage.canonical_members(e) || '}')::jsonb FROM audit_events e
            WHERE correlation_id = 'vc-clean' AND chain_seq = 1),
          'an exported event carries exactly the canonical members, plus chain columns');
SELECT is((SELECT count(*) FROM datastorage.export_audit_events('csv', NULL, NULL, 'vc-clean', NULL, 100, 0)
           WHERE kind = 'event' AND event_data IS NOT NULL AND right(body, 1) = ','), 5::bigint,
          'CSV rows come with their event_data text');
SELECT is((SELECT count(*) FROM datastorage.export_audit_events('json', now() + interval '1 day', NULL, NULL, NULL, 10, 0)),
          0::bigint, 'a filter matching nothing exports nothing');
SELECT throws_ok($$ SELECT * FROM datastorage.export_audit_events('json', NULL, NULL, NULL, NULL, 10001, 0) $$,
                 'DS400', 'limit must be between 1 and 10000', 'limit above 10000 refused');
SELECT throws_ok($$ SELECT * FROM datastorage.export_audit_events('xml', NULL, NULL, NULL, NULL, 10, 0) $$,
                 'DS400', 'Unknown format: xml. Supported formats: json, csv.', 'unknown format refused');
SELECT throws_ok($$ SELECT * FROM datastorage.export_audit_events('json', now(), now() - interval '1 s', NULL, NULL, 10, 0) $$,
                 'DS400', 'start_time must not be after end_time', 'inverted range refused');

-- Who may run what.
SELECT function_privs_are('datastorage', 'verify_chains', ARRAY['text[]'], 'datastorage_auditor',
                          ARRAY['EXECUTE'], 'auditor may verify chains');
SELECT function_privs_are('datastorage', 'export_audit_events',
                          ARRAY['text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'text', 'integer', 'bigint'],
                          'datastorage_app', ARRAY['EXECUTE'], 'the service may export');
SELECT function_privs_are('datastorage', 'chain_verdicts', ARRAY['text[]', 'boolean'], 'datastorage_app',
                          ARRAY[]::text[], 'the internal verdict function is not granted');
SET LOCAL ROLE datastorage_auditor;
SELECT is((SELECT count(*) FROM datastorage.verify_chain('vc-clean')), 5::bigint,
          'the auditor role runs verify_chain');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
