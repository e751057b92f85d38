-- Notification delivery records (POST /api/v1/audit/notifications).
-- A second record with the same notification_id is a unique violation
-- (SQLSTATE 23505), which the service reports as 409.

CREATE OR REPLACE FUNCTION datastorage.record_notification(p jsonb) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO public.notification_audit (remediation_id, notification_id, recipient, channel,
                                    message_summary, status, sent_at, delivery_status,
                                    error_message, escalation_level)
    SELECT r.remediation_id, r.notification_id, r.recipient, r.channel, r.message_summary,
           r.status, r.sent_at, nullif(r.delivery_status, ''), nullif(r.error_message, ''),
           coalesce(r.escalation_level, 0)
    FROM jsonb_populate_record(NULL::public.notification_audit, p) r
    RETURNING jsonb_strip_nulls(jsonb_build_object(
        'id', id, 'remediation_id', remediation_id, 'notification_id', notification_id,
        'recipient', recipient, 'channel', channel, 'message_summary', message_summary,
        'status', status, 'sent_at', p->>'sent_at', 'delivery_status', delivery_status,
        'error_message', error_message, 'escalation_level', escalation_level,
        'created_at', datastorage.rfc3339(created_at), 'updated_at', datastorage.rfc3339(updated_at)))
$$;

GRANT EXECUTE ON FUNCTION datastorage.record_notification(jsonb) TO datastorage_app;
