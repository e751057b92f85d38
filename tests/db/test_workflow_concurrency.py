"""The latest-version rule and unique versions under concurrent creates, as
the service role, on real connections (sql/functions/200_workflow_catalog.sql)."""
from __future__ import annotations

import json
import threading
import uuid

import psycopg
import pytest

from app.migrate import libpq_url

WORKERS = 12


def body(name: str, version: str) -> str:
    return json.dumps({
        "workflow_name": name, "version": version, "name": name, "description": "d",
        "content": "steps: []", "content_hash": "a" * 64, "execution_engine": "tekton",
        "status": "active",
        "labels": {"signal_type": "OOMKilled", "severity": "high", "component": "pod",
                   "environment": ["test"], "priority": "P2"}})


def race(db_url: str, calls: list[tuple[str, tuple]]) -> list[object]:
    """Run each (sql, args) on its own connection as datastorage_app, all
    released at once; returns each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, sql: str, args: tuple) -> None:
        with psycopg.connect(libpq_url(db_url), autocommit=True) as c:
            c.execute("SET ROLE datastorage_app")
            barrier.wait()
            try:
                results[i] = c.execute(sql, args).fetchone()[0]
            except psycopg.Error as exc:
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i, sql, args)) for i, (sql, args) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_versions_of_one_name_leave_exactly_one_latest(db_url, conn):
    calls = [("SELECT datastorage.create_workflow(%s::jsonb)", (body("racer", f"1.{i}.0"),))
             for i in range(WORKERS)]
    results = race(db_url, calls)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    latest = conn.execute("SELECT count(*) FROM remediation_workflow_catalog "
                          "WHERE workflow_name = 'racer' AND is_latest_version").fetchone()[0]
    total = conn.execute("SELECT count(*) FROM remediation_workflow_catalog "
                         "WHERE workflow_name = 'racer'").fetchone()[0]
    assert (latest, total) == (1, WORKERS)
    # Creates wait for each other; the one created last is the latest and
    # also the newest by created_at (which the listings order by).
    newest = conn.execute("SELECT version FROM remediation_workflow_catalog WHERE workflow_name = "
                          "'racer' ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    assert conn.execute("SELECT version FROM remediation_workflow_catalog WHERE workflow_name = "
                        "'racer' AND is_latest_version").fetchone()[0] == newest


def test_concurrent_duplicates_one_wins_the_rest_get_ds409(db_url, conn):
    results = race(db_url, [("SELECT datastorage.create_workflow(%s::jsonb)", (body("dup", "1.0.0"),))
                            for _ in range(WORKERS)])
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1
    assert {r.sqlstate for r in losses} == {"DS409"}, [str(r) for r in losses]
    assert conn.execute("SELECT count(*) FROM remediation_workflow_catalog "
                        "WHERE workflow_name = 'dup'").fetchone()[0] == 1


def test_the_service_role_cannot_bypass_the_functions(db_url):
    with psycopg.connect(libpq_url(db_url), autocommit=True) as c:
        c.execute("SET ROLE datastorage_app")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("UPDATE remediation_workflow_catalog SET is_latest_version = true")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT * FROM remediation_workflow_catalog")


def test_created_event_is_appended_as_the_service_role(db_url, conn):
    wid = str(uuid.uuid4())
    event = [{"event_id": str(uuid.uuid4()), "event_version": "1.0",
              "event_timestamp": "2030-01-01T00:00:00Z", "event_type": "datastorage.workflow.created",
              "event_category": "workflow", "event_action": "create", "event_outcome": "success",
              "correlation_id": wid, "actor_type": "service", "actor_id": "datastorage",
              "resource_type": "Workflow", "resource_id": wid, "retention_days": 90,
              "event_data": {"event_type": "datastorage.workflow.created", "workflow_id": wid}}]
    [result] = race(db_url, [("SELECT datastorage.create_workflow(%s::jsonb, %s::uuid, %s::jsonb)",
                              (body("role", "1"), wid, json.dumps(event)))])
    assert not isinstance(result, Exception), result
    row = conn.execute("SELECT chain_seq, event_hash IS NOT NULL FROM audit_events "
                       "WHERE correlation_id = %s", (wid,)).fetchall()
    assert row == [(1, True)]
