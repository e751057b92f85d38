-- Roles, the function schema and the grants every later migration relies on.
--
-- Roles are cluster-wide, so they are created only when missing (several
-- databases of one cluster may each run this migration).
--   datastorage_owner   owns tables and SECURITY DEFINER functions
--   datastorage_app     the service: EXECUTE on API functions, nothing else
--   datastorage_auditor reads tables and views, runs verification
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datastorage_owner') THEN
        CREATE ROLE datastorage_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datastorage_app') THEN
        CREATE ROLE datastorage_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datastorage_auditor') THEN
        CREATE ROLE datastorage_auditor NOLOGIN;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS datastorage AUTHORIZATION datastorage_owner;

-- Tables keep their original names in public; the owner creates them there.
GRANT USAGE, CREATE ON SCHEMA public TO datastorage_owner;
GRANT USAGE ON SCHEMA datastorage TO datastorage_app, datastorage_auditor;

-- Functions are not executable by PUBLIC; each file grants what it means to.
ALTER DEFAULT PRIVILEGES FOR ROLE datastorage_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
-- The auditor reads every table the owner creates.
ALTER DEFAULT PRIVILEGES FOR ROLE datastorage_owner IN SCHEMA public
    GRANT SELECT ON TABLES TO datastorage_auditor;
ALTER DEFAULT PRIVILEGES FOR ROLE datastorage_owner IN SCHEMA datastorage
    GRANT SELECT ON TABLES TO datastorage_auditor;
