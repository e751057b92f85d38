"""Least privilege at the connection (issue 12 §2): the service's login is a
member of datastorage_app only, so a leaked runtime URL cannot escape through
RESET ROLE or SET ROLE, cannot create objects, and cannot make a SECURITY
DEFINER function run code of its own (search_path is pg_catalog, pg_temp)."""
from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from app.migrate import RUNTIME_LOGIN, libpq_url, with_user


@pytest.fixture
def runtime(db_url):
    with psycopg.connect(with_user(db_url, RUNTIME_LOGIN), autocommit=True) as c:
        yield c


def test_runtime_login_is_a_member_of_the_app_role_only(conn):
    row = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
                       "FROM pg_roles WHERE rolname = %s", (RUNTIME_LOGIN,)).fetchone()
    assert row == (False, False, False, False, False)
    granted = conn.execute("SELECT roleid::regrole::text FROM pg_auth_members "
                           "WHERE member = %s::regrole", (RUNTIME_LOGIN,)).fetchall()
    assert granted == [("datastorage_app",)]


ESCAPES = [
    "RESET ROLE; SELECT count(*) FROM public.audit_events",
    "SET ROLE datastorage_owner",
    "SET ROLE datastorage_hold_keeper",
    "SET ROLE datastorage_auditor",
    "SET SESSION AUTHORIZATION postgres",
    "SET session_replication_role = replica",
    "CREATE TABLE public.stash (x int)",
    "CREATE SCHEMA stash",
    "CREATE FUNCTION public.to_json(text) RETURNS json LANGUAGE sql AS $$ SELECT '1'::json $$",
    "CREATE FUNCTION datastorage.own() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
    "UPDATE public.audit_chain_heads SET legal_hold = false",
    "DELETE FROM public.audit_events",
    "ALTER TABLE public.audit_events DISABLE TRIGGER ALL",
]


@pytest.mark.parametrize("sql", ESCAPES)
def test_runtime_login_cannot_escape(runtime, sql):
    with pytest.raises(psycopg.Error) as err:
        runtime.execute(sql)
    assert err.value.sqlstate in ("42501", "42P01"), err.value  # insufficient privilege
    assert runtime.execute("SELECT current_user").fetchone() == (RUNTIME_LOGIN,)


def _event(cid):
    return {"event_id": str(uuid.uuid4()), "event_timestamp": "2026-06-10T10:00:00Z",
            "event_type": "t", "event_category": "gateway", "event_action": "a",
            "event_outcome": "success", "actor_type": "s", "actor_id": "x", "actor_ip": "10.0.0.1",
            "resource_type": "r", "resource_id": "r", "correlation_id": cid, "event_data": {"k": 1}}


# Functions the SECURITY DEFINER functions call, shadowed with a same-named,
# better-matching function in public that would fail the call if it ran.
SHADOWS = [
    "public.to_json(v text) RETURNS json",
    "public.host(v inet) RETURNS text",
    "public.sha256(v bytea) RETURNS bytea",
    "public.jsonb_populate_recordset(base anyelement, v jsonb) RETURNS SETOF anyelement",
]


def test_objects_in_public_do_not_shadow_what_definer_functions_call(conn, db_url):
    # The worst case: a DBA granted CREATE on public to the app role.
    conn.execute("GRANT CREATE ON SCHEMA public TO datastorage_app")
    try:
        with psycopg.connect(with_user(db_url, RUNTIME_LOGIN), autocommit=True) as rt:
            for sig in SHADOWS:
                rt.execute(f"CREATE FUNCTION {sig} LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'shadow ran as %', current_user; END $$")
            rt.execute("SET search_path = public, pg_catalog")
            events = [_event("shadow-1"), _event("shadow-1")]
            assert rt.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                              (json.dumps(events),)).fetchone() == (2,)
            assert rt.execute("SELECT is_valid FROM datastorage.verify_chain_summary('shadow-1')"
                              ).fetchone() == (True,)
            rt.execute("SELECT datastorage.query_audit_events(p_correlation_id => 'shadow-1')")
    finally:
        conn.execute("DROP FUNCTION IF EXISTS public.to_json(text), public.host(inet), "
                     "public.sha256(bytea), public.jsonb_populate_recordset(anyelement, jsonb)")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM datastorage_app")


def test_create_on_public_is_revoked_from_public(conn):
    assert conn.execute("SELECT has_schema_privilege('public', 'public', 'CREATE')"
                        ).fetchone() == (False,)
    assert conn.execute("SELECT has_schema_privilege(%s, 'public', 'CREATE')",
                        (RUNTIME_LOGIN,)).fetchone() == (False,)


def test_service_workers_run_as_the_runtime_login_without_the_migration_url(service):
    """The harness starts `serve` as an operator should: migration URL and
    runtime URL apart. The workers connect as the runtime login, and the
    privileged URL is not in their environment."""
    from pathlib import Path
    with psycopg.connect(libpq_url(service.database_url), autocommit=True) as su:
        with service.client() as c:
            assert c.get("/health/ready").status_code == 200
        users = su.execute("SELECT DISTINCT usename FROM pg_stat_activity "
                           "WHERE application_name = 'datastorage'").fetchall()
    assert users == [(RUNTIME_LOGIN,)]
    children = Path(f"/proc/{service.proc.pid}/task/{service.proc.pid}/children").read_text().split()
    assert children, "no worker processes"
    for pid in children:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not any(e.startswith(b"DS_MIGRATE_DATABASE_URL=") for e in env), pid
        assert any(e.startswith(b"DS_DATABASE_URL=") for e in env), pid
