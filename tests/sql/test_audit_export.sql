-- Rule: an exported event carries its hashes, its verdict and the exact
-- canonical members; CSV cells keep NULL and '' apart and double quotes.
BEGIN;
SELECT plan(5);
SELECT is(datastorage.csv_cell(NULL), '', 'NULL is an empty unquoted cell');
SELECT is(datastorage.csv_cell(''), '""', 'the empty string is quoted');
SELECT is(datastorage.csv_cell('say "hi", ok'), '"say ""hi"", ok"', 'quotes are doubled');
SELECT is(datastorage.export_event_json('"a": 1', 'h1', 'h0', 'ok', true, 1::smallint),
          '{"event_hash": "h1", "previous_event_hash": "h0", "hash_chain_valid": true, "chain_verdict": "ok", "legal_hold": true, "a": 1}',
          'the chain columns and verdict, then the canonical members (version 1: no hash_version member)');
SELECT is(datastorage.export_event_json('"a": 1', 'h1', 'h0', 'ok', false, 2::smallint),
          '{"event_hash": "h1", "previous_event_hash": "h0", "hash_chain_valid": true, "chain_verdict": "ok", "legal_hold": false, "hash_version": 2, "a": 1}',
          'a version-2 event names its hash version after legal_hold');
SELECT * FROM finish();
ROLLBACK;
