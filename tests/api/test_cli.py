"""The `datastorage` command: operator errors are one clear line (no
traceback, non-zero exit); with no configuration it runs its own PostgreSQL,
and reuses it on the next start."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

from tests.api.test_audit_events import gateway_event
from harness import ROOT, Service, scratch_dir, free_port


def run_cli(*args, env=None, timeout=60):
    base = {k: v for k, v in os.environ.items() if k != "DS_DATABASE_URL"}
    env = {**base, "DS_DATA_DIR": str(scratch_dir("ds-test-cli-")), **(env or {})}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc, fragment):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("datastorage: error:")]
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0], lines[0]


def test_missing_postgres_binaries():
    proc = run_cli("serve", "--port", str(free_port()), env={"DS_PG_BINDIR": "/nonexistent"})
    assert_one_line_error(proc, "PostgreSQL server binaries")


def test_port_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        proc = run_cli("serve", "--port", str(s.getsockname()[1]))
    assert_one_line_error(proc, "already in use")


def test_unreachable_database_url():
    proc = run_cli("serve", "--port", str(free_port()),
                   env={"DS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert_one_line_error(proc, "cannot reach the database")


def test_invalid_setting():
    proc = run_cli("serve", env={"DS_WORKERS": "zero"})
    assert_one_line_error(proc, "DS_WORKERS")


def test_embedded_cluster_starts_and_is_reused():
    data_dir = scratch_dir("ds-test-embedded-")
    first = Service(None, data_dir=data_dir).start(timeout=90)
    try:
        with first.client() as c:
            assert c.get("/health/ready").status_code == 200
            event_id = c.post("/api/v1/audit/events", json=gateway_event("embedded-1")).json()["event_id"]
        count = f"SELECT count(*) FROM audit_events WHERE event_id = '{event_id}'"
        psql = run_cli("psql", "--migrate", "-tA", "-c", count, env={"DS_DATA_DIR": str(data_dir)})
        assert psql.stdout.strip() == "1", psql.stderr
        # By default psql is the service's own login: functions only, no tables.
        psql = run_cli("psql", "-tA", "-c", count, env={"DS_DATA_DIR": str(data_dir)})
        assert "permission denied for table audit_events" in psql.stderr
        psql = run_cli("psql", "-tA", "-c", "SELECT current_user", env={"DS_DATA_DIR": str(data_dir)})
        assert psql.stdout.strip() == "datastorage_service", psql.stderr
    finally:
        assert first.stop() == 0
    assert not (data_dir / "postgres" / "pgdata" / "postmaster.pid").exists(), "cluster left running"
    second = Service(None, data_dir=data_dir).start(timeout=90)
    try:
        with second.client() as c:
            found = c.get("/api/v1/audit/events", params={"correlation_id": "embedded-1"}).json()
            assert [e["event_id"] for e in found["data"]] == [event_id]
    finally:
        second.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
