"""A Citus cluster for the session (coordinator + 2 workers on tmpfs) and a
freshly migrated database on it per module, and the service on that database per
module (`svc`, `client`). Every test here is marked
`citus`; without the extension they are skipped, saying how to get it."""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import psycopg
import pytest

from app.embedded_pg import find_bindir
from app.migrate import ensure_runtime_login, migrate
from tests.api.test_spool_faults import start_service

_names = itertools.count()


def citus_installed() -> bool:
    # Debian's layout: /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15.
    version = Path(find_bindir()).parent.name
    return Path(f"/usr/share/postgresql/{version}/extension/citus.control").exists()


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.citus)


@pytest.fixture(scope="session")
def citus():
    if not citus_installed():
        pytest.skip("the citus extension is not installed (deploy/citus/install TARBALL)")
    from harness.citus import CitusCluster
    cluster = CitusCluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def citus_db(citus):
    """A database distributed by `datastorage migrate`; its coordinator URL."""
    name = f"ds_citus_{os.getpid()}_{next(_names)}"
    url = citus.create_database(name)
    migrate(url)
    ensure_runtime_login(url)
    try:
        yield url
    finally:
        citus.drop_database(name)


@pytest.fixture
def coord(citus_db):
    """Superuser connection to the coordinator (autocommit)."""
    with psycopg.connect(citus_db, autocommit=True) as c:
        yield c


# The service on the cluster, one per test module (its own spool).
@pytest.fixture(scope="module")
def spool_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("citus-spool") / "spool"


@pytest.fixture(scope="module")
def svc(citus_db, spool_dir):
    service = start_service(citus_db, spool_dir)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def client(svc):
    with svc.client() as c:
        yield c
