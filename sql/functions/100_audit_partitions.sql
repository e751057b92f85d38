-- Rule: an insert into audit_events never fails for want of a partition.
--
-- Monthly partitions audit_events_YYYY_MM are created ahead of time (at every
-- migrate and daily, via datastorage.maintain()); a DEFAULT partition catches
-- anything else. Months are counted from the UTC month of `anchor` (now() by
-- default), whatever the session's TimeZone: a partition holds one UTC month
-- of event_date, the UTC calendar date. A month whose rows already sit in
-- the DEFAULT partition is left there (moving them would mean deleting audit
-- rows). Every partition, however created, gets its TRUNCATE guard from the
-- DDL guard (115_audit_ddl_guard.sql).

CREATE OR REPLACE FUNCTION datastorage.ensure_audit_partitions(
    months_back integer DEFAULT 1, months_ahead integer DEFAULT 3,
    anchor timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_month date := date_trunc('month', anchor AT TIME ZONE 'UTC')::date;
    m date;
    name text;
    created integer := 0;
BEGIN
    -- Every worker runs this at start-up; one at a time.
    PERFORM pg_advisory_xact_lock(hashtext('datastorage.ensure_audit_partitions'));
    FOR i IN -months_back .. months_ahead LOOP
        m := (first_month + make_interval(months => i))::date;
        name := format('audit_events_%s', to_char(m, 'YYYY_MM'));
        CONTINUE WHEN to_regclass('public.' || name) IS NOT NULL;
        CONTINUE WHEN EXISTS (SELECT 1 FROM public.audit_events_default
                              WHERE event_date >= m AND event_date < (m + interval '1 month')::date);
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.audit_events '
                       'FOR VALUES FROM (%L) TO (%L)', name, m, (m + interval '1 month')::date);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.ensure_audit_partitions(integer, integer, timestamptz)
    TO datastorage_app;
