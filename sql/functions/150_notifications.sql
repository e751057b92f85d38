-- Notification delivery records (POST /api/v1/audit/notifications).
-- A second record with the same notification_id is a unique violation
-- (SQLSTATE 23505, HINT notification-exists), which the service reports as 409.

CREATE OR REPLACE FUNCTION datastorage.record_notification(p jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    stored jsonb;
    violated text;
BEGIN
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
    INTO stored;
    RETURN stored;
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
    IF violated IS DISTINCT FROM 'notification_audit_notification_id_key' THEN
        RAISE;
    END IF;
    RAISE unique_violation USING CONSTRAINT = violated, HINT = 'notification-exists',
        MESSAGE = format('Resource notification_audit with notification_id=''%s'' already exists',
                         p ->> 'notification_id'),
        DETAIL = json_build_object('instance', '/audit/notification_audit',
                                   'resource', 'notification_audit', 'field', 'notification_id',
                                   'value', p ->> 'notification_id')::text;
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.record_notification(jsonb) TO datastorage_app;
