"""Shared fixtures: a private cluster for the session, a fresh database per
test, and the real service for API tests."""
from __future__ import annotations

import psycopg
import pytest

from app.migrate import libpq_url
from harness import Service, TestCluster


@pytest.fixture(scope="session")
def pg():
    cluster = TestCluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def db_url(pg):
    """A fresh clone of the template database, dropped afterwards."""
    with pg.database() as url:
        yield url


@pytest.fixture
def conn(db_url):
    """Superuser connection to the fresh database (autocommit)."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as c:
        yield c


@pytest.fixture(scope="module")
def module_db(pg):
    with pg.database() as url:
        yield url


@pytest.fixture(scope="module")
def service(module_db):
    """The real service on a free port against a module-wide database."""
    svc = Service(module_db).start()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def client(service):
    with service.client() as c:
        yield c


@pytest.fixture
def module_conn(module_db):
    with psycopg.connect(libpq_url(module_db), autocommit=True) as c:
        yield c
