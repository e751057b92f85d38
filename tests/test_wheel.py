"""The wheel is the product: built from the sources alone, installed into a
fresh virtualenv outside the checkout, its `datastorage migrate` creates the
schema from the SQL it carries and `datastorage serve` answers /health/ready
and serves the console (templates and static files are package data).

Dependencies come through pip as a user gets them (its cache and the
configured index); the build itself is offline (--no-build-isolation uses
this venv's setuptools)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from app.migrate import libpq_url
from harness import ROOT, Service, poll, scratch_dir

pytestmark = pytest.mark.wheel
SOURCES = ("pyproject.toml", "README.md", "app", "sql")


def run(*cmd, cwd: Path, env: dict | None = None, timeout: float = 300) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """bin/ of a fresh venv (outside the checkout) with only the wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    # A copy of what the build reads, so nothing else of the checkout (and no
    # stale build/ directory) can end up in the wheel.
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", work / "dist", src,
        cwd=work)
    [wheel] = (work / "dist").glob("datastorage-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work)
    run(*pip, "--python", venv / "bin" / "python", "install", "-q", wheel, cwd=work)
    return venv / "bin"


def test_the_wheel_carries_the_sql(installed):
    where = run(installed / "python", "-c",
                "import app.migrate as m; print(m.SQL_DIR); print(len(m.function_files()))",
                cwd=installed.parent).split()
    sql_dir = Path(where[0])
    assert installed.parent in sql_dir.parents and ROOT not in sql_dir.parents, sql_dir
    assert int(where[1]) == len(list((ROOT / "sql" / "functions").glob("*.sql")))
    assert sorted(p.name for p in (sql_dir / "migrations").glob("*.sql")) == sorted(
        p.name for p in (ROOT / "sql" / "migrations").glob("*.sql"))


@pytest.fixture
def empty_db(pg):
    """A database no migration has touched (the test template is migrated)."""
    name = f"wheel_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(pg.url()), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    yield pg.url(name)
    with psycopg.connect(libpq_url(pg.url()), autocommit=True) as c:
        c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_migrate_and_serve_from_the_wheel(installed, empty_db):
    db_url = empty_db
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["DS_DATABASE_URL"] = db_url
    out = run(installed / "datastorage", "migrate", cwd=installed.parent, env=env)
    migrations = len(list((ROOT / "sql" / "migrations").glob("*.sql")))
    assert f"{migrations} migration(s) applied" in out, out
    svc = Service(empty_db, env=env, command=[str(installed / "datastorage")],
                  cwd=installed.parent, data_dir=scratch_dir("ds-test-wheel-"))
    svc.start(timeout=60)
    try:
        with svc.client() as c:
            poll(lambda: c.get("/health/ready").status_code == 200, timeout=30,
                 what="/health/ready answering 200")
            resp = c.post("/api/v1/audit/events", json={
                "version": "1.0", "event_type": "gateway.signal.received",
                "event_timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "event_category": "gateway", "event_action": "received",
                "event_outcome": "success", "correlation_id": "wheel-check",
                "event_data": {"event_type": "gateway.signal.received",
                               "signal_type": "prometheus-alert", "alert_name": "HighCPU",
                               "namespace": "payments", "fingerprint": "abc123"}})
            assert resp.status_code == 201, resp.text
            # The console's templates and static files are package data too.
            page = c.get("/console/trail", params={"correlation_id": "wheel-check"})
            assert page.status_code == 200 and "Chain verified" in page.text, page.text[:300]
            assert c.get("/console/static/console.css").status_code == 200
    finally:
        assert svc.stop() == 0, svc.logs()
