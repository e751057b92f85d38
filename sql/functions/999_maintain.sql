-- Upkeep run after every migrate and daily by the service: idempotent.
CREATE OR REPLACE FUNCTION datastorage.maintain() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM datastorage.ensure_audit_partitions(1, 3);
END
$$;

GRANT EXECUTE ON FUNCTION datastorage.maintain() TO datastorage_app;
