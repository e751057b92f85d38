-- The transparency log (issue 13, docs/transparency-log.md): a global
-- RFC 9162 Merkle tree with one leaf per stored event.
-- depends: 0011_drop_old_signatures
--
--   tlog_outbox       events committed but not yet in the tree; filled by a
--                     statement trigger on audit_events (same transaction as
--                     the insert, no global lock), emptied by the integrator
--   tlog_leaves       leaf i of the tree; never cascades from audit_events, so
--                     pruned events keep their leaves
--   tlog_nodes        hashes of the complete aligned subtrees above the leaves:
--                     (level, idx) covers leaves [idx * 2^level, (idx+1) * 2^level)
--   tlog_checkpoints  signed notes the service published
SET LOCAL ROLE datastorage_owner;

CREATE TABLE tlog_outbox (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       uuid         NOT NULL,
    correlation_id varchar(255) NOT NULL,
    event_hash     text
);

CREATE TABLE tlog_leaves (
    leaf_index     bigint       PRIMARY KEY CHECK (leaf_index >= 0),
    event_id       uuid         NOT NULL,
    correlation_id varchar(255) NOT NULL,
    event_hash     text,
    leaf_hash      bytea        NOT NULL,
    integrated_at  timestamptz  NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT tlog_leaves_event_id_key UNIQUE (event_id)
);

CREATE TABLE tlog_nodes (
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
    idx   bigint   NOT NULL CHECK (idx >= 0),
    hash  bytea    NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE tlog_checkpoints (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tree_size bigint      NOT NULL CHECK (tree_size >= 0),
    root_hash bytea       NOT NULL,
    note      text        NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT tlog_checkpoints_note_key UNIQUE (note)
);
CREATE INDEX idx_tlog_checkpoints_size ON tlog_checkpoints (tree_size);

-- Events stored before the log existed enter it first, oldest first.
INSERT INTO tlog_outbox (event_id, correlation_id, event_hash)
SELECT event_id, correlation_id, event_hash FROM audit_events
ORDER BY event_timestamp, correlation_id, chain_seq;

RESET ROLE;
