-- A legal hold that survives the schema owner (docs/sql-api.md, "Who can do what").
-- depends: 0005_partition_anchor
--
-- Run by the migrating login, which must be a superuser: the guard schema
-- and its event triggers belong to it, out of datastorage_owner's reach.
--   datastorage_hold_keeper  NOLOGIN, granted to nobody: owns the hold
--                            functions, the only role that may change hold
--                            columns and append to the hold history.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datastorage_hold_keeper') THEN
        CREATE ROLE datastorage_hold_keeper NOLOGIN;
    END IF;
END
$$;

-- The old guard matched tables by name in public and lived in the owner's
-- schema (the owner could drop it); the old trigger functions could be
-- replaced by the owner. The function files install their successors in
-- datastorage_guard right after the migrations.
DROP EVENT TRIGGER IF EXISTS datastorage_protect_held_drop;
DROP EVENT TRIGGER IF EXISTS datastorage_protect_held_detach;
DROP FUNCTION IF EXISTS datastorage.protect_held_partitions();
DROP FUNCTION IF EXISTS datastorage.refuse_audit_update() CASCADE;
DROP FUNCTION IF EXISTS datastorage.refuse_held_delete() CASCADE;
DROP FUNCTION IF EXISTS datastorage.refuse_truncate() CASCADE;
DROP FUNCTION IF EXISTS datastorage.refuse_change() CASCADE;
DROP FUNCTION IF EXISTS datastorage.protect_partition(regclass);
-- Owned by datastorage_owner until now; recreated by the hold keeper.
DROP FUNCTION IF EXISTS datastorage.place_legal_hold(text, text, text);
DROP FUNCTION IF EXISTS datastorage.release_legal_hold(text, text, text);

CREATE SCHEMA IF NOT EXISTS datastorage_guard;
REVOKE ALL ON SCHEMA datastorage_guard FROM PUBLIC;
-- Every role's DDL and writes run the guard's checks.
GRANT USAGE ON SCHEMA datastorage_guard TO PUBLIC;

GRANT USAGE, CREATE ON SCHEMA datastorage TO datastorage_hold_keeper;
GRANT SELECT, UPDATE (legal_hold, legal_hold_reason, legal_hold_placed_by, legal_hold_placed_at)
    ON public.audit_events, public.audit_chain_heads TO datastorage_hold_keeper;
GRANT SELECT, INSERT ON public.audit_legal_holds TO datastorage_hold_keeper;

-- Least privilege at the connection: nobody creates objects in public but
-- the owner (PostgreSQL 15 already starts that way; older databases did not).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
