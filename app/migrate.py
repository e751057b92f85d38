"""Apply yoyo migrations, then every sql/functions/*.sql file, under one lock.

yoyo runs its post-apply step only when a migration is pending, so functions
are re-applied here on every run: changing a function never needs a migration.
Two replicas migrating at once serialise on a session advisory lock.
"""
from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from yoyo import get_backend, read_migrations

from . import sql as sql_package

log = logging.getLogger("datastorage.migrate")

# The checkout's sql/ directory, installed as the package app.sql (package
# data): found the same way from a checkout, an editable install or a wheel.
SQL_DIR = Path(sql_package.__file__).resolve().parent
MIGRATIONS = SQL_DIR / "migrations"
FUNCTIONS = SQL_DIR / "functions"
LOCK_KEY = 0x64617461  # 'data': one constant shared by every replica


def libpq_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return urlunsplit((scheme, *parts[1:]))


def yoyo_url(url: str) -> str:
    parts = urlsplit(libpq_url(url))
    return urlunsplit(("postgresql+psycopg", *parts[1:]))


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def function_files() -> list[Path]:
    return sorted(FUNCTIONS.glob("*.sql"))


class MigrationError(RuntimeError):
    """Names the file that failed; the transaction left the database as it was."""


def apply_functions(conn: psycopg.Connection) -> None:
    """All function files in one transaction. Each file starts as the owning
    role; a file that needs another (the guard's superuser, the hold keeper)
    says so with its own SET LOCAL ROLE / RESET ROLE."""
    with conn.transaction():
        for path in function_files():
            conn.execute("SET LOCAL ROLE datastorage_owner")
            try:
                conn.execute(path.read_text())
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise MigrationError(f"{path.relative_to(SQL_DIR.parent)}: {first}") from None


def migrate(url: str) -> int:
    """Returns the number of migrations applied."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            backend = get_backend(yoyo_url(url))
            try:
                # We hold the only migration lock; a row left by a crashed run is stale.
                backend.break_lock()
                pending = backend.to_apply(read_migrations(str(MIGRATIONS)))
                with backend.lock():
                    backend.apply_migrations(pending)
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise MigrationError(f"migration failed: {first}") from None
            finally:
                backend.connection.close()
            apply_functions(conn)
            conn.execute("SELECT datastorage.maintain()")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    if pending:
        log.info("applied %d migration(s)", len(pending))
    return len(pending)


RUNTIME_LOGIN = "datastorage_service"


def with_user(url: str, user: str) -> str:
    """The same server and database, another login (no password: the
    embedded cluster trusts its private socket)."""
    parts = urlsplit(libpq_url(url))
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def ensure_runtime_login(admin_url: str, name: str = RUNTIME_LOGIN) -> None:
    """A login that is a member of datastorage_app and nothing else (embedded
    cluster and tests; on another server the DBA creates it, README)."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                         "NOREPLICATION NOBYPASSRLS")
        conn.execute(f'GRANT datastorage_app TO "{name}"')


def ensure_database(admin_url: str, name: str) -> None:
    """CREATE DATABASE name unless it exists (embedded cluster only)."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
