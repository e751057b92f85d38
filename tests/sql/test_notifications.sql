-- Rule: a notification record is stored once per notification_id (23505 for
-- a second one), channel and status come from fixed sets (23514), and empty
-- optional texts are stored as NULL.
BEGIN;
SELECT plan(4);
CREATE FUNCTION pg_temp.rec(id text, channel text DEFAULT 'email') RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('remediation_id', 'rr-1', 'notification_id', id, 'recipient', 'a@b.c',
        'channel', channel, 'message_summary', 'm', 'status', 'sent',
        'sent_at', '2026-06-01T00:00:00Z', 'delivery_status', '')
$$;
SELECT is((datastorage.record_notification(pg_temp.rec('n-1')))->>'notification_id', 'n-1', 'stored');
SELECT is((SELECT delivery_status FROM public.notification_audit WHERE notification_id = 'n-1'), NULL,
          'an empty delivery_status is stored as NULL');
SELECT throws_ok($$ SELECT datastorage.record_notification(pg_temp.rec('n-1')) $$, '23505', NULL,
                 'a second record with the same notification_id is a conflict');
SELECT throws_ok($$ SELECT datastorage.record_notification(pg_temp.rec('n-2', 'pigeon')) $$, '23514', NULL,
                 'an unknown channel is refused');
SELECT * FROM finish();
ROLLBACK;
