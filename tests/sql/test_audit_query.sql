-- Rule: queries page newest first with a deterministic tie order, and the
-- total comes from the same snapshot as the page.
BEGIN;
SELECT plan(7);

SELECT is(datastorage.append_audit_events((SELECT jsonb_agg(jsonb_build_object(
        'event_id', format('f0000000-0000-4000-8000-%s', lpad(i::text, 12, '0')),
        'event_timestamp', '2026-11-20T10:00:00Z'::timestamptz + (i / 2) * interval '1 second',
        'event_type', CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END, 'event_category', 'gateway',
        'event_action', 'a', 'event_outcome', 'success', 'actor_type', 's', 'actor_id', 'x',
        'resource_type', 'r', 'resource_id', 'r', 'correlation_id', 'q-1', 'severity', 'info',
        'event_data', '{}'::jsonb)) FROM generate_series(1, 10) i)), 10, 'ten events, pairs share a timestamp');

SELECT is((datastorage.query_audit_events(p_correlation_id => 'q-1', p_limit => 3))->'pagination',
          '{"limit": 3, "offset": 0, "total": 10, "has_more": true}'::jsonb, 'first page pagination');
CREATE FUNCTION pg_temp.ids(page jsonb) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(right(e->>'event_id', 2) ORDER BY o) FROM jsonb_array_elements(page->'data') WITH ORDINALITY x(e, o)
$$;
SELECT is(pg_temp.ids(datastorage.query_audit_events(p_correlation_id => 'q-1', p_limit => 3)),
          ARRAY['10', '09', '08'], 'newest first, equal timestamps by event_id descending');
SELECT is(pg_temp.ids(datastorage.query_audit_events(p_correlation_id => 'q-1', p_limit => 3, p_offset => 3)),
          ARRAY['07', '06', '05'], 'second page continues without gaps or repeats');
SELECT is((datastorage.query_audit_events(p_correlation_id => 'q-1', p_limit => 3, p_offset => 9))->'pagination'->>'has_more',
          'false', 'last page has no more');
SELECT is((datastorage.query_audit_events(p_correlation_id => 'q-1', p_event_type => 'even'))->'pagination'->>'total',
          '5', 'filters combine');
SELECT throws_ok($$ SELECT datastorage.query_audit_events(p_limit => 1001) $$, 'DS400', NULL,
                 'limit above 1000 is refused');

SELECT * FROM finish();
ROLLBACK;
