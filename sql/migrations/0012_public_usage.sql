-- The roles that read or write the tables in public need USAGE on it. The
-- stock public schema grants that to PUBLIC; one recreated by hand
-- (CREATE SCHEMA public) does not.
-- depends: 0011_drop_old_signatures
GRANT USAGE ON SCHEMA public TO datastorage_hold_keeper, datastorage_auditor;
