-- Rule: audit events are immutable; held events cannot be deleted, others only
-- by retention (test_retention.sql); TRUNCATE
-- is refused on the table and on partitions; the hold history is append-only.
BEGIN;
SELECT plan(22);

SELECT is(datastorage.append_audit_events(jsonb_build_array(
    jsonb_build_object('event_id', 'a0000000-0000-4000-8000-000000000001', 'event_timestamp', now(),
        'event_type', 't', 'event_category', 'gateway', 'event_action', 'a', 'event_outcome', 'success',
        'actor_type', 'service', 'actor_id', 'x', 'resource_type', 'r', 'resource_id', 'r',
        'correlation_id', 'imm-1', 'event_data', '{"k": 1}'::jsonb),
    jsonb_build_object('event_id', 'a0000000-0000-4000-8000-000000000002', 'event_timestamp', now(),
        'event_type', 't', 'event_category', 'gateway', 'event_action', 'a', 'event_outcome', 'success',
        'actor_type', 'service', 'actor_id', 'x', 'resource_type', 'r', 'resource_id', 'r',
        'correlation_id', 'imm-2', 'event_data', '{"k": 2}'::jsonb))), 2, 'two events appended');

SELECT throws_ok($$ UPDATE audit_events SET event_data = '{"k": 99}' WHERE correlation_id = 'imm-1' $$,
                 '55000', NULL, 'UPDATE of event_data is refused');
SELECT throws_ok($$ UPDATE audit_events SET event_hash = repeat('0', 64) WHERE correlation_id = 'imm-1' $$,
                 '55000', NULL, 'UPDATE of event_hash is refused');
SELECT lives_ok($$ UPDATE audit_events SET legal_hold_reason = 'note' WHERE correlation_id = 'imm-1' $$,
                'UPDATE of a legal-hold column is allowed (to a superuser)');
SET LOCAL ROLE datastorage_owner;
SELECT throws_ok($$ UPDATE audit_events SET legal_hold_reason = 'n2' WHERE correlation_id = 'imm-1' $$,
                 '42501', NULL, 'the owner cannot change a legal-hold column: only the hold functions can');
SELECT throws_ok($$ UPDATE audit_chain_heads SET legal_hold = true WHERE correlation_id = 'imm-1' $$,
                 '42501', NULL, 'nor the hold of a chain head');
SELECT throws_ok($$ UPDATE audit_chain_heads SET legal_hold_placed_by = 'x' WHERE correlation_id = 'imm-1' $$,
                 '42501', NULL, 'nor any other hold column of a chain head');
SELECT lives_ok($$ UPDATE audit_chain_heads SET updated_at = now() WHERE correlation_id = 'imm-1' $$,
                'the other columns of a head move (the append does that)');
SELECT throws_ok($$ INSERT INTO audit_legal_holds (correlation_id, action, reason, actor, events_affected)
                    VALUES ('imm-1', 'place', 'forged', 'owner', 1) $$,
                 '42501', NULL, 'nor append to the hold history');
RESET ROLE;

SELECT lives_ok($$ SELECT datastorage.place_legal_hold('imm-1', 'litigation', 'alice') $$, 'hold placed');
SELECT throws_like($$ DELETE FROM audit_events WHERE correlation_id = 'imm-1' $$,
                   'Cannot delete audit event with legal hold%correlation_id=imm-1%',
                   'DELETE of a held event is refused, naming the correlation id');
SELECT throws_ok($$ DELETE FROM audit_chain_heads WHERE correlation_id = 'imm-1' $$, '23503', NULL,
                 'a held chain head cannot be deleted');
SELECT lives_ok($$ SELECT datastorage.release_legal_hold('imm-1', 'case closed', 'bob') $$, 'hold released');
SELECT throws_like($$ DELETE FROM audit_events WHERE correlation_id = 'imm-1' $$,
                   'Audit events are immutable%correlation_id=imm-1%only retention removes events',
                   'after release, DELETE is still refused: only retention removes (expired) events');

SELECT throws_ok($$ TRUNCATE audit_events $$, '55000', NULL, 'TRUNCATE of audit_events is refused');
SELECT throws_ok($$ TRUNCATE audit_events_default $$, '55000', NULL, 'TRUNCATE of a partition is refused');
SELECT throws_ok($$ UPDATE audit_legal_holds SET reason = 'rewritten' $$, '55000', NULL,
                 'hold history cannot be rewritten');
SELECT throws_ok($$ DELETE FROM audit_legal_holds $$, '55000', NULL, 'hold history cannot be deleted');

-- The delete rule is the WHEN condition of every copy of the trigger (the
-- parent's and each partition's), exactly as the guard expects it.
SELECT is((SELECT count(*) FROM pg_trigger t WHERE t.tgname = 'enforce_legal_hold'
           AND substring(pg_get_triggerdef(t.oid) FROM ' WHEN \((.*)\) EXECUTE FUNCTION ')
               = datastorage_guard.delete_refused_when()),
          (SELECT count(*) FROM pg_trigger t WHERE t.tgname = 'enforce_legal_hold'),
          'every enforce_legal_hold trigger carries the delete rule as its condition');
SELECT cmp_ok((SELECT count(*) FROM pg_trigger t WHERE t.tgname = 'enforce_legal_hold'), '>', 1::bigint,
              'on the parent and on the partitions');
-- The chain heads' guard fires only for an update that sets a hold column
-- or a held head's delete, exactly as the guard expects them.
SELECT is((SELECT array_agg(tgname::text || ': {' || array_to_string(tgattr::smallint[], ',') || '} '
                            || coalesce(substring(pg_get_triggerdef(oid)
                                        FROM ' WHEN \((.*)\) EXECUTE FUNCTION '), '-')
                            ORDER BY tgname::text COLLATE "C")
           FROM pg_trigger WHERE tgrelid = 'audit_chain_heads'::regclass AND tgtype & 1 = 1),
          ARRAY['audit_chain_heads_held_delete: {} ' || datastorage_guard.head_delete_refused_when(),
                'audit_chain_heads_hold: ' || ARRAY(SELECT a.attnum FROM pg_attribute a
                    WHERE a.attrelid = 'audit_chain_heads'::regclass
                      AND a.attname = ANY (datastorage_guard.head_hold_columns()) ORDER BY 1)::text || ' -'],
          'the chain heads carry two row triggers: one for the hold columns, one for held heads');
SELECT is_empty($$ SELECT * FROM datastorage_guard.violations() $$, 'the DDL guard finds nothing wrong');

SELECT * FROM finish();
ROLLBACK;
