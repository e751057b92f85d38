-- The hold history records the database login behind every placement and
-- release (issue 12 §4).
-- depends: 0011_drop_old_signatures
--
-- `actor` is the name the caller passes (the service passes the user its
-- proxy authenticated); any login allowed to call the hold functions could
-- pass another. The login itself cannot be chosen by the caller: session_user
-- stays the connecting role inside SECURITY DEFINER functions and after
-- SET ROLE, so the history shows both the claimed actor and who really
-- connected.
SET LOCAL ROLE datastorage_owner;

ALTER TABLE audit_legal_holds ADD COLUMN db_login text NOT NULL DEFAULT session_user;

RESET ROLE;
