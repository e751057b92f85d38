-- Rule: every hand-written list of audit_events columns covers the table's
-- real columns (pg_attribute): canonical_members and canonical_event_v2 (the
-- hashed bytes of versions 1 and 2), event_json (the wire), the CSV export
-- and the immutability trigger. A column added to the table and forgotten in
-- one of them fails here.
BEGIN;
SELECT plan(4);

-- A value of each column type: n = 1 for the base row, 2 for the changed one.
CREATE FUNCTION pg_temp.val(t regtype, n int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT CASE t
        WHEN 'uuid'::regtype THEN to_jsonb(('b0000000-0000-4000-8000-00000000000' || n)::uuid)
        WHEN 'boolean'::regtype THEN to_jsonb(n = 2)
        WHEN 'integer'::regtype THEN to_jsonb(n)
        WHEN 'smallint'::regtype THEN to_jsonb(3 - n)  -- hash_version: the append writes 2
        WHEN 'bigint'::regtype THEN to_jsonb(n)
        WHEN 'jsonb'::regtype THEN jsonb_build_object('k', n)
        WHEN 'timestamp with time zone'::regtype THEN to_jsonb('2001-02-0' || n || 'T00:00:00Z')
        WHEN 'date'::regtype THEN to_jsonb('2001-02-0' || n)
        WHEN 'inet'::regtype THEN to_jsonb('10.0.0.' || n)
        ELSE to_jsonb('v' || n) END
$$;
CREATE TEMP TABLE cols AS
    SELECT a.attname::text AS col, a.atttypid::regtype AS typ FROM pg_attribute a
    WHERE a.attrelid = 'public.audit_events'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
CREATE FUNCTION pg_temp.base() RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_object_agg(col, pg_temp.val(typ, 1)) FROM cols
$$;
-- The base row with one column changed.
CREATE FUNCTION pg_temp.changed(c text) RETURNS public.audit_events LANGUAGE sql AS $$
    SELECT jsonb_populate_record(NULL::public.audit_events,
                                 pg_temp.base() || jsonb_build_object(c, pg_temp.val(typ, 2)))
    FROM cols WHERE col = c
$$;
CREATE FUNCTION pg_temp.base_row() RETURNS public.audit_events LANGUAGE sql AS $$
    SELECT jsonb_populate_record(NULL::public.audit_events, pg_temp.base())
$$;

-- A column either version ignores is listed.
SELECT is(ARRAY(SELECT col FROM cols
                WHERE datastorage.canonical_members(pg_temp.changed(col))
                      = datastorage.canonical_members(pg_temp.base_row())
                   OR datastorage.canonical_event_v2(pg_temp.changed(col))
                      = datastorage.canonical_event_v2(pg_temp.base_row()) ORDER BY col),
          ARRAY['event_hash', 'hash_version', 'legal_hold', 'legal_hold_placed_at',
                'legal_hold_placed_by', 'legal_hold_reason', 'previous_event_hash'],
          'both canonical forms cover every column but the hashes, their version and the hold');
SELECT is(ARRAY(SELECT col FROM cols
                WHERE datastorage.event_json(pg_temp.changed(col))
                      = datastorage.event_json(pg_temp.base_row()) ORDER BY col),
          ARRAY['actor_ip', 'event_metadata', 'hash_version', 'resource_name', 'span_id',
                'trace_id'],
          'event_json shows every column but the five the original API never returned and the hash version');
SELECT is(ARRAY(SELECT col FROM cols
                WHERE datastorage.export_event_csv(pg_temp.changed(col), 'ok')
                      = datastorage.export_event_csv(pg_temp.base_row(), 'ok') ORDER BY col),
          ARRAY['event_data', 'hash_version', 'legal_hold_placed_at', 'legal_hold_placed_by',
                'legal_hold_reason'],
          'the CSV export has a cell for every column but the hold details and the hash version '
          '(event_data is the service''s; the version travels in X-Export-Metadata)');

-- The immutability trigger: changing any column but the hold columns is refused.
SELECT datastorage.append_audit_events(jsonb_build_array(pg_temp.base() || jsonb_build_object(
    'event_timestamp', '2001-02-01T00:00:00Z', 'event_date', '2001-02-01', 'parent_event_id', NULL,
    'correlation_id', 'cols-1')));
CREATE FUNCTION pg_temp.update_refused(c text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE public.audit_events SET %I = (SELECT (pg_temp.changed(%L)).%I) '
                   'WHERE correlation_id = %L', c, c, c, 'cols-1');
    RETURN false;
EXCEPTION WHEN object_not_in_prerequisite_state OR check_violation OR insufficient_privilege THEN
    RETURN true;
END
$$;
SELECT is(ARRAY(SELECT col FROM cols WHERE NOT pg_temp.update_refused(col) ORDER BY col),
          ARRAY['legal_hold', 'legal_hold_placed_at', 'legal_hold_placed_by', 'legal_hold_reason'],
          'the immutability trigger refuses a change to every column but the hold columns');

SELECT * FROM finish();
ROLLBACK;
