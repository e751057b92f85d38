-- The DDL guard's before_ddl() learns whether to read the held partitions
-- (issue 16: only commands that can remove a partition pay for that read).
-- depends: 0011_drop_old_signatures
--
-- The function file creates the new signature; the old one goes first.
DROP FUNCTION IF EXISTS datastorage_guard.before_ddl();
