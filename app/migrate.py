"""Apply yoyo migrations, then every sql/functions/*.sql file, under one lock.

yoyo runs its post-apply step only when a migration is pending, so functions
are re-applied here on every run: changing a function never needs a migration.
Two replicas migrating at once serialise on a session advisory lock.

On a Citus coordinator (the citus extension is installed, or DS_DISTRIBUTE=citus)
the files in sql/citus/ run too: they distribute the tables by correlation_id
and delegate the per-chain functions (docs/scaling-out.md). Without Citus
nothing here reads them, so a single-node schema is unchanged.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import sqlparse
from yoyo import get_backend, read_migrations

from . import sql as sql_package

log = logging.getLogger("datastorage.migrate")

# The checkout's sql/ directory, installed as the package app.sql (package
# data): found the same way from a checkout, an editable install or a wheel.
SQL_DIR = Path(sql_package.__file__).resolve().parent
MIGRATIONS = SQL_DIR / "migrations"
FUNCTIONS = SQL_DIR / "functions"
CITUS = SQL_DIR / "citus"
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


def _run_file(conn: psycopg.Connection, path: Path, one_by_one: bool) -> None:
    """Citus forwards some DDL (CREATE TRIGGER) to the shards with the text of
    the whole command string, which the workers refuse when it holds several
    statements: on a cluster each statement goes alone."""
    text = path.read_text()
    try:
        for statement in (sqlparse.split(text) if one_by_one else [text]):
            conn.execute(statement)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise MigrationError(f"{path.relative_to(SQL_DIR.parent)}: {first}") from None


def apply_functions(conn: psycopg.Connection, citus: bool = False) -> None:
    """All function files in one transaction. Each file starts as the owning
    role; a file that needs another (the guard's superuser, the hold keeper)
    says so with its own SET LOCAL ROLE / RESET ROLE.

    On Citus, one transaction per file: Citus sends a trigger's DDL and the
    functions it depends on to the workers over different connections, and
    in one long transaction they end up waiting on each other (a distributed
    deadlock). The cluster's own versions follow in the last file's
    transaction (docs/scaling-out.md)."""
    files = function_files()
    for group in ([[p] for p in files] if citus else [files]):
        with conn.transaction():
            for path in group:
                conn.execute("SET LOCAL ROLE datastorage_owner")
                _run_file(conn, path, citus)
            conn.execute("RESET ROLE")
            if citus and group[-1] == files[-1]:
                _apply_citus(conn, "functions")


def wants_citus(conn: psycopg.Connection) -> bool:
    """DS_DISTRIBUTE=citus insists (and fails without the extension), =none
    keeps a Citus database single-node; unset: distribute when citus is there."""
    mode = (os.environ.get("DS_DISTRIBUTE") or "").strip().lower()
    if mode in ("none", "off", "no"):
        return False
    present = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone()
    if mode == "citus" and not present:
        raise MigrationError("DS_DISTRIBUTE=citus, but the citus extension is not installed "
                             "in this database (CREATE EXTENSION citus on every node)")
    if mode not in ("", "citus"):
        raise MigrationError(f"DS_DISTRIBUTE={mode!r}: expected citus or none")
    return present is not None


def _apply_citus(conn: psycopg.Connection, stage: str) -> None:
    for path in sorted(CITUS.glob(f"*_{stage}*.sql")):
        _run_file(conn, path, True)


def apply_citus(conn: psycopg.Connection, stage: str) -> None:
    """One stage of sql/citus/ (its files NN_<stage>*.sql), as the superuser."""
    with conn.transaction():
        _apply_citus(conn, stage)


def migrate(url: str) -> int:
    """Returns the number of migrations applied."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            citus = wants_citus(conn)
            if citus:
                apply_citus(conn, "prepare")
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
            if citus:
                apply_citus(conn, "prepare")
            apply_functions(conn, citus)
            if citus:
                before = distributed_count(conn)
                apply_citus(conn, "distribute")
                if distributed_count(conn) != before:
                    # Functions whose signatures name a table reach the
                    # workers only once that table is distributed.
                    apply_functions(conn, citus)
                apply_citus(conn, "delegate")
            conn.execute("SELECT datastorage.maintain()")
            # Every guard is in place now: DDL may skip listing what was
            # wrong before it (115_audit_ddl_guard.sql, note_guards).
            conn.execute("SELECT datastorage_guard.note_guards()")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    if pending:
        log.info("applied %d migration(s)", len(pending))
    return len(pending)


def distributed_count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM pg_dist_partition").fetchone()[0]


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
