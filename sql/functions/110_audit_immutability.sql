-- Rule: audit events are immutable, and a legal hold holds against the owner.
--   * UPDATE may change only the legal-hold columns, and only the hold
--     functions (owned by datastorage_hold_keeper, 140_legal_hold.sql) may
--     change those, so every change lands in the hold history;
--   * DELETE of a row under legal hold is refused, naming the correlation id;
--   * any other DELETE is refused too, except retention's (sql/functions/
--     450_retention.sql): it sets datastorage.retention_cutoff for its
--     transaction, and even then only rows expired by that cutoff AND by the
--     database clock go (a session setting the flag by hand can remove no
--     more than retention would; docs/retention.md); the trigger's WHEN
--     condition holds this rule (delete_refused_when);
--   * the chain heads are guarded the same way: their hold columns change
--     only through the hold functions, a held head cannot be deleted;
--   * TRUNCATE is refused on the tables and on every partition;
--   * the legal-hold history is append-only, written by the hold functions only.
-- These functions live in datastorage_guard, a schema of the migrating
-- superuser: datastorage_owner can neither replace nor drop them, and the
-- DDL guard (115_audit_ddl_guard.sql) keeps their triggers in place.
-- A superuser passes (docs/sql-api.md says what then detects it).
RESET ROLE;

-- Is the current role a superuser (who may bypass every guard anyway)?
CREATE OR REPLACE FUNCTION datastorage_guard.is_superuser() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user), false)
$$;

-- May the current role change hold columns? Only the hold functions' owner.
CREATE OR REPLACE FUNCTION datastorage_guard.may_change_hold() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT current_user = 'datastorage_hold_keeper' OR datastorage_guard.is_superuser()
$$;

CREATE OR REPLACE FUNCTION datastorage_guard.refuse_audit_update() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    content record := NEW;
BEGIN
    -- Everything but the hold columns must stay as it was (no hand-kept
    -- column list: a column added later is covered too).
    content.legal_hold := OLD.legal_hold;
    content.legal_hold_reason := OLD.legal_hold_reason;
    content.legal_hold_placed_by := OLD.legal_hold_placed_by;
    content.legal_hold_placed_at := OLD.legal_hold_placed_at;
    IF content IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'Audit events are immutable: only legal-hold columns may change '
                        '(event_id=%, correlation_id=%)', OLD.event_id, OLD.correlation_id
            USING ERRCODE = '55000';
    END IF;
    -- The hold functions' role first: a string compare per row on their path.
    IF current_user <> 'datastorage_hold_keeper' AND NEW IS DISTINCT FROM OLD
       AND NOT datastorage_guard.is_superuser() THEN
        RAISE EXCEPTION 'Legal-hold columns change only through datastorage.place_legal_hold '
                        'and datastorage.release_legal_hold (correlation_id=%)', OLD.correlation_id
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;

-- When a DELETE of an audit event is refused: the row is held, or
-- retention's cutoff is not set, or the row is not expired by both that
-- cutoff and the database clock (event_date + retention_days before both).
-- It is the WHEN condition of the enforce_legal_hold trigger: evaluated in
-- the executor, so a row retention removes costs no PL/pgSQL call. Written
-- as PostgreSQL deparses it, because the DDL guard compares every copy of the
-- trigger with this text (115_audit_ddl_guard.sql): nobody can weaken it.
CREATE OR REPLACE FUNCTION datastorage_guard.delete_refused_when() RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '(old.legal_hold OR (NOT COALESCE(((old.retention_days < ((NULLIF(current_setting('
           '''datastorage.retention_cutoff''::text, true), ''''::text))::date - old.event_date)) '
           'AND (old.retention_days < (((now() AT TIME ZONE ''UTC''::text))::date - '
           'old.event_date))), false)))'
$$;

-- Runs only for a row the condition above refuses: says why.
CREATE OR REPLACE FUNCTION datastorage_guard.refuse_held_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.legal_hold THEN
        RAISE EXCEPTION 'Cannot delete audit event with legal hold: event_id=%, correlation_id=%',
                        OLD.event_id, OLD.correlation_id
            USING ERRCODE = '23503',
                  HINT = 'Release legal hold before deletion via DELETE /api/v1/audit/legal-hold/{correlation_id}';
    END IF;
    RAISE EXCEPTION 'Audit events are immutable: event_id=%, correlation_id=% is not expired '
                    'and only retention removes events', OLD.event_id, OLD.correlation_id
        USING ERRCODE = '55000',
              HINT = 'Expired events are removed by datastorage.enforce_retention (docs/retention.md)';
END
$$;

-- Chain heads: other columns move with every append (the owner's append
-- function); the hold columns only through the hold functions. Two
-- triggers call it, each only when it may refuse: an UPDATE that sets a
-- hold column, a DELETE of a held head. So the append (which updates each
-- head it touches once or twice per call) costs no PL/pgSQL call. The
-- checks stay here too: the function is right whichever trigger calls it.
CREATE OR REPLACE FUNCTION datastorage_guard.guard_chain_head() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.legal_hold THEN
            RAISE EXCEPTION 'Cannot delete the chain head of a held chain: correlation_id=%',
                            OLD.correlation_id USING ERRCODE = '23503';
        END IF;
        RETURN OLD;
    END IF;
    IF (NEW.legal_hold, NEW.legal_hold_reason, NEW.legal_hold_placed_by, NEW.legal_hold_placed_at)
       IS DISTINCT FROM
       (OLD.legal_hold, OLD.legal_hold_reason, OLD.legal_hold_placed_by, OLD.legal_hold_placed_at)
       AND NOT datastorage_guard.may_change_hold() THEN
        RAISE EXCEPTION 'Legal-hold columns change only through datastorage.place_legal_hold '
                        'and datastorage.release_legal_hold (correlation_id=%)', OLD.correlation_id
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;

-- The hold columns of a chain head: the UPDATE trigger fires only for a
-- statement that sets one of them (UPDATE OF, checked against the
-- statement's target columns; a WHEN condition cost a compilation per
-- statement, as much as the call it saved at one row). No other way
-- changes a column: rules and other BEFORE UPDATE triggers are refused by
-- the DDL guard, which holds the trigger to exactly these columns.
CREATE OR REPLACE FUNCTION datastorage_guard.head_hold_columns() RETURNS name[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT '{legal_hold, legal_hold_reason, legal_hold_placed_by, legal_hold_placed_at}'::name[]
$$;

-- The DELETE trigger's WHEN condition, as PostgreSQL deparses it: the
-- trigger is made from this text and the DDL guard holds it to it, like
-- delete_refused_when(). Bound when the trigger is created, so a caller's
-- search_path cannot change what it means.
CREATE OR REPLACE FUNCTION datastorage_guard.head_delete_refused_when() RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'old.legal_hold'
$$;

CREATE OR REPLACE FUNCTION datastorage_guard.refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of % is not allowed: audit records are immutable', TG_TABLE_NAME
        USING ERRCODE = '55000';
END
$$;

-- The hold history: append-only, and appended by the hold functions only
-- (nobody can forge a placement or a release).
CREATE OR REPLACE FUNCTION datastorage_guard.guard_hold_history() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION '% of % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
            USING ERRCODE = '55000';
    END IF;
    IF NOT datastorage_guard.may_change_hold() THEN
        RAISE EXCEPTION 'The legal-hold history is written only by datastorage.place_legal_hold '
                        'and datastorage.release_legal_hold' USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;

-- Every role that writes (or runs DDL) calls these checks: they stay
-- executable by PUBLIC (the default), and say nothing secret.

CREATE OR REPLACE TRIGGER audit_events_immutable BEFORE UPDATE ON public.audit_events
    FOR EACH ROW EXECUTE FUNCTION datastorage_guard.refuse_audit_update();
DO $$
BEGIN
    EXECUTE format('CREATE OR REPLACE TRIGGER enforce_legal_hold BEFORE DELETE ON public.audit_events '
                   'FOR EACH ROW WHEN (%s) EXECUTE FUNCTION datastorage_guard.refuse_held_delete()',
                   datastorage_guard.delete_refused_when());
END
$$;
CREATE OR REPLACE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();

-- Replaces in place the trigger of both events that ran on every update.
DO $$
BEGIN
    EXECUTE format('CREATE OR REPLACE TRIGGER audit_chain_heads_hold BEFORE UPDATE OF %s '
                   'ON public.audit_chain_heads '
                   'FOR EACH ROW EXECUTE FUNCTION datastorage_guard.guard_chain_head()',
                   (SELECT string_agg(quote_ident(c), ', ')
                    FROM unnest(datastorage_guard.head_hold_columns()) c));
    EXECUTE format('CREATE OR REPLACE TRIGGER audit_chain_heads_held_delete BEFORE DELETE '
                   'ON public.audit_chain_heads '
                   'FOR EACH ROW WHEN (%s) EXECUTE FUNCTION datastorage_guard.guard_chain_head()',
                   datastorage_guard.head_delete_refused_when());
END
$$;
CREATE OR REPLACE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON public.audit_chain_heads
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();

CREATE OR REPLACE TRIGGER audit_legal_holds_append_only
    BEFORE INSERT OR UPDATE OR DELETE ON public.audit_legal_holds
    FOR EACH ROW EXECUTE FUNCTION datastorage_guard.guard_hold_history();
CREATE OR REPLACE TRIGGER audit_legal_holds_no_truncate BEFORE TRUNCATE ON public.audit_legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION datastorage_guard.refuse_truncate();
