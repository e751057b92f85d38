-- A global index of stored event ids, for idempotent appends (issue 15).
-- depends: 0011_drop_old_signatures
--
-- audit_events is partitioned by event_date and PostgreSQL has no global
-- unique index, so "is this event_id stored, whatever its date?" used to
-- probe every partition's primary key for every appended event. This table
-- answers it with one B-tree, and appends claim ids in it with INSERT ... ON
-- CONFLICT DO NOTHING: a replay racing the original waits for it and then
-- skips. datastorage.append_audit_events() is its only writer; event_date
-- says which partition holds the event (retention can drop ids by date).
SET LOCAL ROLE datastorage_owner;

CREATE TABLE audit_event_ids (
    event_id   uuid NOT NULL PRIMARY KEY,
    event_date date NOT NULL
);

INSERT INTO audit_event_ids (event_id, event_date)
SELECT DISTINCT ON (event_id) event_id, event_date FROM audit_events ORDER BY event_id, event_date;

RESET ROLE;
