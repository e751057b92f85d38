-- Each event records which canonical form its hash covers (issue 15):
-- 1 is the jsonb-text object of docs/hash-chain.md section 2, 2 the cheaper
-- form of section 7. Rows stored before this migration read as 1 (the
-- column's value for them is the ADD COLUMN default, no rewrite); rows
-- inserted from now on default to 2, which the append function writes.
-- depends: 0060_guard_before_ddl
SET LOCAL ROLE datastorage_owner;

ALTER TABLE audit_events ADD COLUMN hash_version smallint NOT NULL DEFAULT 1;
ALTER TABLE audit_events ALTER COLUMN hash_version SET DEFAULT 2;
-- NOT VALID: every existing row holds 1; new rows are checked.
ALTER TABLE audit_events ADD CONSTRAINT audit_events_hash_version_known
    CHECK (hash_version IN (1, 2)) NOT VALID;

RESET ROLE;

-- Functions whose result gains hash_version: the function files create the
-- new signatures (a changed result type cannot be replaced in place).
DROP FUNCTION IF EXISTS datastorage.chain_verdicts(text[], boolean);
DROP FUNCTION IF EXISTS datastorage.export_event_json(text, text, text, text, boolean);
DROP FUNCTION IF EXISTS datastorage.export_audit_events(text, timestamptz, timestamptz, text, text,
                                                        integer, bigint);
