-- Rule: upkeep is idempotent and puts back a missing month ahead, which then
-- carries its TRUNCATE guard like every partition.
BEGIN;
SELECT plan(3);
SELECT lives_ok($$ SELECT datastorage.maintain() $$, 'upkeep runs');
SELECT lives_ok($$ SELECT datastorage.maintain() $$, 'and runs again');
DO $$ BEGIN
    EXECUTE format('DROP TABLE public.%I', 'audit_events_'
                   || to_char((now() AT TIME ZONE 'UTC') + interval '2 months', 'YYYY_MM'));
    PERFORM datastorage.maintain();
END $$;
SELECT ok(EXISTS (SELECT 1 FROM pg_trigger
                  WHERE tgrelid = to_regclass('public.audit_events_'
                                  || to_char((now() AT TIME ZONE 'UTC') + interval '2 months', 'YYYY_MM'))
                    AND tgname = 'audit_events_no_truncate'),
          'a month dropped by hand is created again, with its TRUNCATE guard');
SELECT * FROM finish();
ROLLBACK;
