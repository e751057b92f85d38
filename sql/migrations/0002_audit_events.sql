-- Audit events, their hash-chain heads, legal-hold history, notification records.
-- depends: 0001_foundation
--
-- Column names and types follow the original service (spec/audit-api.md §11)
-- so DBAs and existing queries find them; where the original's column was
-- narrower than its own API allowed (event_version), it is widened so that
-- nothing the API accepts can fail at INSERT.
SET LOCAL ROLE datastorage_owner;

CREATE TABLE audit_events (
    event_id             uuid         NOT NULL,
    event_version        varchar(20)  NOT NULL DEFAULT '1.0',
    event_timestamp      timestamptz  NOT NULL,
    event_date           date         NOT NULL,
    event_type           varchar(100) NOT NULL,
    event_category       varchar(50)  NOT NULL,
    event_action         varchar(50)  NOT NULL,
    event_outcome        varchar(20)  NOT NULL,
    actor_type           varchar(50)  NOT NULL,
    actor_id             varchar(255) NOT NULL,
    actor_ip             inet,
    resource_type        varchar(100) NOT NULL,
    resource_id          varchar(255) NOT NULL,
    resource_name        varchar(255),
    correlation_id       varchar(255) NOT NULL,
    parent_event_id      uuid,
    parent_event_date    date,
    trace_id             varchar(255),
    span_id              varchar(255),
    namespace            varchar(253),
    cluster_name         varchar(255),
    event_data           jsonb        NOT NULL,
    event_metadata       jsonb,
    severity             varchar(20),
    duration_ms          integer,
    error_code           varchar(50),
    error_message        text,
    retention_days       integer      DEFAULT 2555,
    is_sensitive         boolean      DEFAULT false,
    chain_seq            bigint       NOT NULL,
    event_hash           text,
    previous_event_hash  text,
    legal_hold           boolean      NOT NULL DEFAULT false,
    legal_hold_reason    text,
    legal_hold_placed_by text,
    legal_hold_placed_at timestamptz,
    CONSTRAINT audit_events_pkey PRIMARY KEY (event_id, event_date),
    CONSTRAINT audit_events_chain_seq_positive CHECK (chain_seq > 0),
    -- event_date is the partition key: the UTC calendar date of the event.
    CONSTRAINT audit_events_event_date_utc CHECK (event_date = (event_timestamp AT TIME ZONE 'UTC')::date)
) PARTITION BY RANGE (event_date);

-- Rows whose month has no partition yet land here instead of failing.
CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;

CREATE INDEX idx_audit_events_chain ON audit_events (correlation_id, chain_seq);
CREATE INDEX idx_audit_events_event_timestamp ON audit_events (event_timestamp DESC, event_id DESC);
CREATE INDEX idx_audit_events_event_type ON audit_events (event_type, event_timestamp DESC, event_id DESC);
CREATE INDEX idx_audit_events_category ON audit_events (event_category, event_timestamp DESC, event_id DESC);
CREATE INDEX idx_audit_events_legal_hold ON audit_events (correlation_id) WHERE legal_hold;

-- One row per chain: the lock every append to that chain takes, its tail,
-- and whether it is under legal hold (so appended events are held too).
CREATE TABLE audit_chain_heads (
    correlation_id       varchar(255) PRIMARY KEY,
    last_seq             bigint       NOT NULL DEFAULT 0,
    last_hash            text         NOT NULL DEFAULT '',
    last_event_id        uuid,
    legal_hold           boolean      NOT NULL DEFAULT false,
    legal_hold_reason    text,
    legal_hold_placed_by text,
    legal_hold_placed_at timestamptz,
    updated_at           timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX idx_audit_chain_heads_held ON audit_chain_heads (legal_hold_placed_at DESC) WHERE legal_hold;

-- Append-only history of every hold placed and released.
CREATE TABLE audit_legal_holds (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    correlation_id  varchar(255) NOT NULL,
    action          text         NOT NULL CHECK (action IN ('place', 'release')),
    reason          text         NOT NULL,
    actor           text         NOT NULL,
    at              timestamptz  NOT NULL DEFAULT clock_timestamp(),
    events_affected bigint       NOT NULL
);
CREATE INDEX idx_audit_legal_holds_correlation ON audit_legal_holds (correlation_id, id);

CREATE TABLE notification_audit (
    id               bigserial    PRIMARY KEY,
    remediation_id   varchar(255) NOT NULL,
    notification_id  varchar(255) NOT NULL,
    recipient        varchar(500) NOT NULL,
    channel          varchar(50)  NOT NULL,
    message_summary  text         NOT NULL,
    status           varchar(50)  NOT NULL,
    sent_at          timestamptz  NOT NULL,
    delivery_status  text,
    error_message    text,
    escalation_level integer      NOT NULL DEFAULT 0,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT notification_audit_notification_id_key UNIQUE (notification_id),
    CONSTRAINT notification_audit_channel_check
        CHECK (channel IN ('email', 'slack', 'pagerduty', 'webhook', 'sms')),
    CONSTRAINT notification_audit_status_check
        CHECK (status IN ('sent', 'failed', 'pending', 'acknowledged', 'escalated')),
    CONSTRAINT notification_audit_escalation_level_check CHECK (escalation_level BETWEEN 0 AND 5)
);
CREATE INDEX idx_notification_audit_remediation_id ON notification_audit (remediation_id);
CREATE INDEX idx_notification_audit_created_at ON notification_audit (created_at DESC);

RESET ROLE;

-- Dropping or detaching audit partitions would bypass the row triggers, so
-- it is refused while any legal hold is active. Event triggers need a
-- superuser, hence this lives in a migration rather than sql/functions/.
CREATE FUNCTION datastorage.protect_held_partitions() RETURNS event_trigger
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

CREATE EVENT TRIGGER datastorage_protect_held_drop ON sql_drop
    EXECUTE FUNCTION datastorage.protect_held_partitions();
CREATE EVENT TRIGGER datastorage_protect_held_detach ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION datastorage.protect_held_partitions();
