-- Rule: audit events are immutable.
--   * UPDATE may change only the legal-hold columns (placing/releasing holds);
--   * DELETE of a row under legal hold is refused, naming the correlation id;
--   * any other DELETE is refused too, except retention's (sql/functions/
--     450_retention.sql): it sets datastorage.retention_cutoff for its
--     transaction, and even then only rows expired by that cutoff AND by the
--     database clock go (a session setting the flag by hand can remove no
--     more than retention would; docs/retention.md);
--   * TRUNCATE is refused on the table and on every partition;
--   * the legal-hold history is append-only.
-- These hold for everyone, a DBA with psql included (only a superuser who
-- disables the triggers gets past them, and the hash chain then shows it).

CREATE OR REPLACE FUNCTION datastorage.refuse_audit_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.event_id, NEW.event_version, NEW.event_timestamp, NEW.event_date, NEW.event_type,
        NEW.event_category, NEW.event_action, NEW.event_outcome, NEW.actor_type, NEW.actor_id,
        NEW.actor_ip, NEW.resource_type, NEW.resource_id, NEW.resource_name, NEW.correlation_id,
        NEW.parent_event_id, NEW.parent_event_date, NEW.trace_id, NEW.span_id, NEW.namespace,
        NEW.cluster_name, NEW.event_data, NEW.event_metadata, NEW.severity, NEW.duration_ms,
        NEW.error_code, NEW.error_message, NEW.retention_days, NEW.is_sensitive, NEW.chain_seq,
        NEW.event_hash, NEW.previous_event_hash)
       IS DISTINCT FROM
       (OLD.event_id, OLD.event_version, OLD.event_timestamp, OLD.event_date, OLD.event_type,
        OLD.event_category, OLD.event_action, OLD.event_outcome, OLD.actor_type, OLD.actor_id,
        OLD.actor_ip, OLD.resource_type, OLD.resource_id, OLD.resource_name, OLD.correlation_id,
        OLD.parent_event_id, OLD.parent_event_date, OLD.trace_id, OLD.span_id, OLD.namespace,
        OLD.cluster_name, OLD.event_data, OLD.event_metadata, OLD.severity, OLD.duration_ms,
        OLD.error_code, OLD.error_message, OLD.retention_days, OLD.is_sensitive, OLD.chain_seq,
        OLD.event_hash, OLD.previous_event_hash)
    THEN
        RAISE EXCEPTION 'Audit events are immutable: only legal-hold columns may change '
                        '(event_id=%, correlation_id=%)', OLD.event_id, OLD.correlation_id
            USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION datastorage.refuse_held_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cutoff date;
BEGIN
    IF OLD.legal_hold THEN
        RAISE EXCEPTION 'Cannot delete audit event with legal hold: event_id=%, correlation_id=%',
                        OLD.event_id, OLD.correlation_id
            USING ERRCODE = '23503',
                  HINT = 'Release legal hold before deletion via DELETE /api/v1/audit/legal-hold/{correlation_id}';
    END IF;
    -- least() skips NULL: without the setting there is no cutoff at all.
    cutoff := nullif(current_setting('datastorage.retention_cutoff', true), '')::date;
    cutoff := CASE WHEN cutoff IS NOT NULL THEN least(cutoff, (now() AT TIME ZONE 'UTC')::date) END;
    IF cutoff IS NULL OR NOT coalesce(OLD.retention_days < cutoff - OLD.event_date, false) THEN
        RAISE EXCEPTION 'Audit events are immutable: event_id=%, correlation_id=% is not expired '
                        'and only retention removes events', OLD.event_id, OLD.correlation_id
            USING ERRCODE = '55000',
                  HINT = 'Expired events are removed by datastorage.enforce_retention (docs/retention.md)';
    END IF;
    RETURN OLD;
END
$$;

CREATE OR REPLACE FUNCTION datastorage.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of % is not allowed: audit records are immutable', TG_TABLE_NAME
        USING ERRCODE = '55000';
END
$$;

CREATE OR REPLACE FUNCTION datastorage.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% of % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = '55000';
END
$$;

CREATE OR REPLACE TRIGGER audit_events_immutable BEFORE UPDATE ON public.audit_events
    FOR EACH ROW EXECUTE FUNCTION datastorage.refuse_audit_update();
CREATE OR REPLACE TRIGGER enforce_legal_hold BEFORE DELETE ON public.audit_events
    FOR EACH ROW EXECUTE FUNCTION datastorage.refuse_held_delete();
CREATE OR REPLACE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage.refuse_truncate();

CREATE OR REPLACE TRIGGER audit_legal_holds_append_only BEFORE UPDATE OR DELETE ON public.audit_legal_holds
    FOR EACH ROW EXECUTE FUNCTION datastorage.refuse_change();
CREATE OR REPLACE TRIGGER audit_legal_holds_no_truncate BEFORE TRUNCATE ON public.audit_legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage.refuse_truncate();
