"""`datastorage migrate` is idempotent, safe to run concurrently, and re-applies
function files every time."""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import psycopg

from app.migrate import libpq_url, migrate
from harness import ROOT


def _fresh(pg, name):
    with psycopg.connect(libpq_url(pg.url()), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return pg.url(name)


def test_migrate_twice_is_a_no_op(pg):
    url = _fresh(pg, "ds_migrate_twice")
    assert migrate(url) >= 2
    assert migrate(url) == 0
    with psycopg.connect(libpq_url(url)) as c:
        assert c.execute("SELECT to_regprocedure('datastorage.append_audit_events(jsonb)')"
                         ).fetchone()[0] is not None


def test_concurrent_migrations_from_two_replicas(pg):
    url = _fresh(pg, "ds_migrate_concurrent")
    env_cmd = [sys.executable, "-m", "app.cli", "migrate"]
    import os
    env = {**os.environ, "DS_DATABASE_URL": url}

    def run(_):
        return subprocess.run(env_cmd, cwd=ROOT, env=env, capture_output=True, text=True)

    with ThreadPoolExecutor(3) as ex:
        results = list(ex.map(run, range(3)))
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    applied = sorted(int(r.stdout.split(": ")[1].split()[0]) for r in results)
    assert applied[0] == 0 and applied[-1] >= 2, applied  # exactly one replica applied them


def test_functions_are_reapplied_without_a_migration(pg):
    url = _fresh(pg, "ds_migrate_reapply")
    migrate(url)
    with psycopg.connect(libpq_url(url), autocommit=True) as c:
        c.execute("DROP FUNCTION datastorage.list_legal_holds()")
    assert migrate(url) == 0
    with psycopg.connect(libpq_url(url)) as c:
        assert c.execute("SELECT to_regprocedure('datastorage.list_legal_holds()')").fetchone()[0]
