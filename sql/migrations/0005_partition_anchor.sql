-- ensure_audit_partitions gains an explicit `anchor` (issue 11).
-- depends: 0004_query_indexes
--
-- The two-argument signature goes first: beside the new one, a call with two
-- arguments would be ambiguous. The function file re-creates the function.
SET LOCAL ROLE datastorage_owner;

DROP FUNCTION IF EXISTS datastorage.ensure_audit_partitions(integer, integer);

RESET ROLE;
