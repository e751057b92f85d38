-- Signatures the function files used to drop themselves before recreating
-- (a function file only creates or replaces; removals are migrations).
-- depends: 0010_hold_guard
DROP FUNCTION IF EXISTS datastorage.chain_verdicts(text[]);
DROP FUNCTION IF EXISTS datastorage.chain_verdicts(text[], boolean);
DROP FUNCTION IF EXISTS datastorage.export_event_json(public.audit_events, text);
DROP FUNCTION IF EXISTS datastorage.export_event_json(text, text, text, text, boolean);
