-- The remediation workflow catalog (spec/workflow-catalog.md §2).
-- depends: 0002_audit_events
--
-- Columns keep the original's names and types so DBAs and existing queries
-- find them. Differences, each one a fix:
--   * workflow_id defaults to gen_random_uuid() (no uuid-ossp extension);
--   * execution_engine and container_digest are text: the contract sets no
--     length limit, so a value the API accepts never fails at INSERT;
--   * the success rates are plain numeric (checked 0..1): numeric(4,3)
--     silently rounded what clients sent (0.9555 came back as 0.956);
--   * at most one latest version per workflow_name, enforced by a partial
--     unique index (the original relied on its create transaction alone).
SET LOCAL ROLE datastorage_owner;

CREATE TABLE remediation_workflow_catalog (
    workflow_id               uuid         NOT NULL DEFAULT gen_random_uuid(),
    workflow_name             varchar(255) NOT NULL,
    version                   varchar(50)  NOT NULL,
    name                      varchar(255) NOT NULL,
    description               text         NOT NULL,
    owner                     varchar(255),
    maintainer                varchar(255),
    content                   text         NOT NULL,
    content_hash              varchar(64)  NOT NULL,
    parameters                jsonb,
    execution_engine          text         NOT NULL DEFAULT 'tekton',
    container_image           text,
    container_digest          text,
    labels                    jsonb        NOT NULL DEFAULT '{}',
    custom_labels             jsonb        NOT NULL DEFAULT '{}',
    detected_labels           jsonb        NOT NULL DEFAULT '{}',
    status                    varchar(20)  NOT NULL DEFAULT 'active',
    status_reason             text,
    disabled_at               timestamptz,
    disabled_by               varchar(255),
    disabled_reason           text,
    is_latest_version         boolean      NOT NULL DEFAULT false,
    previous_version          varchar(50),
    deprecation_notice        text,
    version_notes             text,
    change_summary            text,
    approved_by               varchar(255),
    approved_at               timestamptz,
    expected_success_rate     numeric,
    expected_duration_seconds integer,
    actual_success_rate       numeric,
    total_executions          integer      DEFAULT 0,
    successful_executions     integer      DEFAULT 0,
    created_at                timestamptz  NOT NULL DEFAULT now(),
    updated_at                timestamptz  NOT NULL DEFAULT now(),
    created_by                varchar(255),
    updated_by                varchar(255),
    CONSTRAINT remediation_workflow_catalog_pkey PRIMARY KEY (workflow_id),
    CONSTRAINT uq_workflow_name_version UNIQUE (workflow_name, version),
    CONSTRAINT workflow_status_check
        CHECK (status IN ('active', 'disabled', 'deprecated', 'archived')),
    CONSTRAINT workflow_labels_shape CHECK (
        jsonb_typeof(labels) = 'object'
        AND jsonb_typeof(labels -> 'environment') = 'array'
        AND labels ?& ARRAY['signal_type', 'severity', 'component', 'environment', 'priority']),
    CONSTRAINT workflow_custom_labels_object CHECK (jsonb_typeof(custom_labels) = 'object'),
    CONSTRAINT workflow_detected_labels_object CHECK (jsonb_typeof(detected_labels) = 'object'),
    CONSTRAINT workflow_expected_success_rate_range
        CHECK (expected_success_rate IS NULL OR expected_success_rate BETWEEN 0 AND 1),
    CONSTRAINT workflow_actual_success_rate_range
        CHECK (actual_success_rate IS NULL OR actual_success_rate BETWEEN 0 AND 1),
    CONSTRAINT workflow_expected_duration_nonnegative
        CHECK (expected_duration_seconds IS NULL OR expected_duration_seconds >= 0),
    CONSTRAINT workflow_total_executions_nonnegative CHECK (total_executions >= 0),
    CONSTRAINT workflow_successful_executions_range
        CHECK (successful_executions >= 0 AND successful_executions <= total_executions)
);

-- The latest-version rule: one latest row per name.
CREATE UNIQUE INDEX uq_workflow_latest_per_name ON remediation_workflow_catalog (workflow_name)
    WHERE is_latest_version;
-- Search: every label matched by equality (priority and component as
-- "value or '*'", two index probes each), latest versions only -- the only
-- rows search scores; environment and status are checked on the few rows
-- the index yields.
CREATE INDEX idx_workflow_search_labels ON remediation_workflow_catalog
    ((labels ->> 'signal_type'), (labels ->> 'severity'), (labels ->> 'priority'),
     (labels ->> 'component'))
    WHERE is_latest_version;
-- The planner keeps no statistics for the expressions of a partial index;
-- without these it guesses 0.5% per label and scans the index by signal
-- type and severity only (measured: 6 ms instead of 0.2 ms per search).
CREATE STATISTICS workflow_label_stats (ndistinct, dependencies, mcv)
    ON (labels ->> 'signal_type'), (labels ->> 'severity'), (labels ->> 'priority'),
       (labels ->> 'component')
    FROM remediation_workflow_catalog;
-- Listing: newest first, with a unique tie-breaker for stable pages.
CREATE INDEX idx_workflow_created_at ON remediation_workflow_catalog (created_at DESC, workflow_id DESC);
CREATE INDEX idx_workflow_status ON remediation_workflow_catalog (status);
-- List filters on labels (environment, component, priority) and custom
-- labels are containment tests; GIN answers them without a scan. Detected
-- labels are only scored, never filtered on, so they get no index.
CREATE INDEX idx_workflow_labels_gin ON remediation_workflow_catalog USING gin (labels jsonb_path_ops);
CREATE INDEX idx_workflow_custom_labels_gin ON remediation_workflow_catalog
    USING gin (custom_labels jsonb_path_ops);
CREATE INDEX idx_workflow_container_digest ON remediation_workflow_catalog (container_digest)
    WHERE container_digest IS NOT NULL;

RESET ROLE;
