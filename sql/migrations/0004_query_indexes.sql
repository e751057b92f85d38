-- Indexes for the audit queries at scale (issue 8, docs/performance.md).
-- depends: 0003_workflow_catalog
--
-- idx_audit_events_correlation serves every per-chain read in the order the
-- API and exports use (newest first for queries, oldest first for exports
-- and reconstruction, a backward scan of the same index): the first page of
-- a 10,000-event chain is 50 index entries per partition, not a sort of
-- 10,000 rows, and the count is an index-only scan. It replaces
-- idx_audit_events_chain (correlation_id, chain_seq), whose every use (an
-- equality on correlation_id) it covers; chain_seq order is only needed by
-- verification, which sorts a whole chain anyway. Same number of indexes
-- on the write path as before.
SET LOCAL ROLE datastorage_owner;

CREATE INDEX idx_audit_events_correlation
    ON audit_events (correlation_id, event_timestamp DESC, event_id DESC);
DROP INDEX idx_audit_events_chain;

RESET ROLE;
