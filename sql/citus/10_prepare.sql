-- Citus, before the migrations and the function files (app/migrate.py).
--
-- Citus opens its node-to-node connections as the current role: a function
-- owned by datastorage_owner (or datastorage_hold_keeper) that touches a
-- shard on a worker connects there as that role, and a delegated call
-- connects as the caller (datastorage_app). These roles therefore need LOGIN
-- on a cluster; ALTER ROLE on the coordinator reaches every node. They keep
-- no password: pg_hba.conf (or pg_dist_authinfo) must admit them only from
-- the cluster's own nodes (docs/scaling-out.md, "Roles").
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['datastorage_owner', 'datastorage_hold_keeper', 'datastorage_app'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r AND NOT rolcanlogin) THEN
            EXECUTE format('ALTER ROLE %I LOGIN', r);
        END IF;
    END LOOP;
END
$$;

-- Triggers on distributed tables fire on the shards, beside the row they
-- guard; ours read that row only, so Citus's "unsafe" does not apply. Every
-- later session that creates a partition (upkeep) or a trigger needs it.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());
END
$$;
SELECT set_config('citus.enable_unsafe_triggers', 'on', false);
