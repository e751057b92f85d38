-- The DDL guard remembers whether the guards were last seen intact, so a
-- DDL command need not list every violation before it runs (issue 14: that
-- listing was most of retention's lock window). Superuser-only: no grants.
-- Every value fails closed (115_audit_ddl_guard.sql): "intact" only lets a
-- command skip the listing, which blames it for whatever is wrong after it.
-- depends: 0110_polymorphic_event_json
CREATE TABLE datastorage_guard.ddl_state (
    one    boolean PRIMARY KEY DEFAULT true CHECK (one),
    intact boolean NOT NULL
);
REVOKE ALL ON datastorage_guard.ddl_state FROM PUBLIC;
INSERT INTO datastorage_guard.ddl_state (intact) VALUES (false);
