-- Retention (docs/retention.md): the maintenance role, run records, per-chain
-- horizons, the run's work queue, and the one narrow way retention passes the
-- partition-drop guard.
-- depends: 0005_partition_anchor
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'datastorage_maintenance') THEN
        CREATE ROLE datastorage_maintenance NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA datastorage TO datastorage_maintenance;

SET LOCAL ROLE datastorage_owner;

-- One row per retention run (dry runs are not recorded: they change nothing).
-- cutoff: events with event_date + retention_days < cutoff are expired.
CREATE TABLE audit_retention_runs (
    run_id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at           timestamptz  NOT NULL DEFAULT clock_timestamp(),
    finished_at          timestamptz,
    as_of                timestamptz  NOT NULL,
    cutoff               date         NOT NULL,
    started_by           text         NOT NULL,
    db_user              text         NOT NULL DEFAULT session_user,
    status               text         NOT NULL DEFAULT 'running'
                                      CHECK (status IN ('running', 'succeeded', 'failed')),
    partitions_planned   text[]       NOT NULL DEFAULT '{}',
    partitions_dropped   text[]       NOT NULL DEFAULT '{}',
    partitions_skipped   text[]       NOT NULL DEFAULT '{}',
    chains_planned       bigint       NOT NULL DEFAULT 0,
    events_planned       bigint       NOT NULL DEFAULT 0,
    events_deleted       bigint       NOT NULL DEFAULT 0,
    chains_affected      bigint       NOT NULL DEFAULT 0,
    kept_held_events     bigint       NOT NULL DEFAULT 0,
    error                text
);
CREATE INDEX idx_audit_retention_runs_cutoff ON audit_retention_runs (cutoff DESC);

-- The retention horizon of every chain retention has pruned: events
-- chain_seq 1 .. first_kept_seq - 1 are gone, on purpose, and the first event
-- still stored (chain_seq = first_kept_seq) links to previous_hash, the
-- event_hash of the last pruned event. Verifiers start the chain there
-- instead of at (seq 1, ''). first_kept_seq > the head's last_seq means the
-- whole chain has expired. One row per chain, moved forward by later runs.
CREATE TABLE audit_retention_horizons (
    correlation_id  varchar(255) PRIMARY KEY,
    first_kept_seq  bigint       NOT NULL CHECK (first_kept_seq > 1),
    previous_hash   text         NOT NULL,
    run_id          bigint       NOT NULL REFERENCES audit_retention_runs,
    pruned_at       timestamptz  NOT NULL DEFAULT clock_timestamp()
);

-- A run's remaining work: each chain's prefix to remove (chain_seq <= upto_seq).
CREATE TABLE audit_retention_queue (
    run_id          bigint       NOT NULL REFERENCES audit_retention_runs,
    correlation_id  varchar(255) NOT NULL,
    upto_seq        bigint       NOT NULL,
    events          bigint       NOT NULL,
    first_date      date         NOT NULL,   -- the prefix's event dates lie in between
    last_date       date         NOT NULL,
    PRIMARY KEY (run_id, correlation_id)
);

-- Run records are for auditors to read (default privileges) and for the
-- maintenance role that starts runs; only retention's functions write.
GRANT SELECT ON audit_retention_runs, audit_retention_horizons TO datastorage_maintenance;

RESET ROLE;

-- The drop guard (0002) refuses dropping any audit table while any hold is
-- active. Retention detaches a fully expired, unheld partition and drops it;
-- it names that table in the transaction-local setting
-- datastorage.retention_drop. Anyone can set a custom setting, so the name
-- is not trusted: at the start of the DROP this trigger checks the named
-- table itself (no longer a partition, no held row, every row expired by the
-- database clock), and the drop guard then exempts exactly that table.
CREATE FUNCTION datastorage.check_retention_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    flagged text := nullif(current_setting('datastorage.retention_drop', true), '');
    cutoff date := nullif(current_setting('datastorage.retention_cutoff', true), '')::date;
    rel regclass;
    bad boolean;
BEGIN
    IF flagged IS NULL THEN
        RETURN;
    END IF;
    rel := to_regclass(flagged);
    IF rel IS NULL THEN
        RETURN;
    END IF;
    IF cutoff IS NULL OR (SELECT c.relispartition FROM pg_class c WHERE c.oid = rel) THEN
        RAISE EXCEPTION 'retention may drop % only once detached, during a retention run', flagged
            USING ERRCODE = '55000';
    END IF;
    cutoff := least(cutoff, (now() AT TIME ZONE 'UTC')::date);
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE legal_hold '
                   'OR NOT coalesce(retention_days < $1 - event_date, false))', rel)
        INTO bad USING cutoff;
    IF bad THEN
        RAISE EXCEPTION 'retention may not drop %: it holds held or unexpired events', flagged
            USING ERRCODE = '55000';
    END IF;
END
$$;

CREATE EVENT TRIGGER datastorage_check_retention_drop ON ddl_command_start
    WHEN TAG IN ('DROP TABLE')
    EXECUTE FUNCTION datastorage.check_retention_drop();

CREATE OR REPLACE FUNCTION datastorage.protect_held_partitions() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    obj record;
    rel record;
    held boolean;
BEGIN
    IF TG_EVENT = 'sql_drop' THEN
        FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
                   WHERE object_type = 'table' AND schema_name = 'public'
                     AND (object_name = 'audit_events' OR object_name LIKE 'audit\_events\_%')
                     -- checked by check_retention_drop() at the start of this DROP
                     AND object_identity IS DISTINCT FROM
                         nullif(current_setting('datastorage.retention_drop', true), '')
        LOOP
            IF EXISTS (SELECT 1 FROM public.audit_chain_heads WHERE legal_hold) THEN
                RAISE EXCEPTION 'Cannot drop % while a legal hold is active', obj.object_identity
                    USING ERRCODE = '23503';
            END IF;
        END LOOP;
    ELSE
        -- ALTER TABLE ... DETACH PARTITION: a detached audit table holding
        -- held rows is no longer protected by the parent's triggers.
        FOR rel IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relname LIKE 'audit\_events\_%'
                     AND c.relkind = 'r' AND NOT c.relispartition
        LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE legal_hold)', rel.relname)
                INTO held;
            IF held THEN
                RAISE EXCEPTION 'Cannot detach %: it holds events under legal hold', rel.relname
                    USING ERRCODE = '23503';
            END IF;
        END LOOP;
    END IF;
END
$$;
