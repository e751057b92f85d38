-- Retention (docs/retention.md): the maintenance role, run records, per-chain
-- horizons and the run's work queue. (Dropping a partition without held rows
-- is allowed by the DDL guard, 115_audit_ddl_guard.sql.)
-- depends: 0011_drop_old_signatures
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

-- verify_chains gains pruned_events and expired (125_audit_verify.sql
-- re-creates it): a new result type needs the old function gone first.
DROP FUNCTION IF EXISTS datastorage.verify_chains(text[]);
