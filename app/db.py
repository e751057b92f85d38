"""Connection pool and the one helper every route uses to call a SQL function.

jsonb values come back as text and are handed to clients as-is: the SQL
functions build response documents, Python does not parse and re-serialise
them on the hot path.
"""
from __future__ import annotations

import asyncio
import logging
import re
from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg
import orjson

from .problems import Problem

log = logging.getLogger("datastorage.db")

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")

# SQLSTATE classes meaning "the database is not there right now" (as opposed
# to "the database refused this input"): connection exceptions, operator
# intervention (admin shutdown, crash recovery), insufficient resources.
_UNAVAILABLE_CLASSES = ("08", "57P", "53")
# A Citus coordinator reports a worker it cannot reach as an internal error
# (XX000) with one of these messages: for the service, the database is not
# there right now (docs/scaling-out.md, "A worker down").
_CITUS_NODE_DOWN = ("failure on connection marked as essential",
                    "connection to the remote node")


class DatabaseUnavailable(Exception):
    """The write may be retried later; nothing about the input was wrong."""


class Busy(Problem):
    """The database is there but this worker has no capacity for the call
    right now (every connection, or every expensive-call slot, stayed taken
    for the whole wait, or the call ran past its deadline). 503 with
    Retry-After; never a reason to spool: the client retries, the spool is
    for a database that is gone."""

    def __init__(self, detail: str):
        super().__init__(503, "service-unavailable", detail, retry=True)
        self.headers = {"Retry-After": "1"}


class DeadlineExceeded(Busy):
    """The server cancelled the call at its deadline (statement_timeout)."""

    sqlstate = "57014"

    def __init__(self, timeout: float):
        super().__init__(f"the request ran past its deadline of {timeout:g}s - please retry, "
                         "or narrow it")


class DatabaseError(Exception):
    """The database refused the call: the one exception type every refusal
    becomes (app/problems.py maps it to a problem). SQL functions name the
    problem in HINT and put extension members, as a JSON object, in DETAIL."""

    def __init__(self, sqlstate: str, message: str, *, hint: str | None = None,
                 detail: str | None = None, constraint: str | None = None):
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate = sqlstate
        self.message = message
        self.hint = hint
        self.detail = detail
        self.constraint = constraint

    @classmethod
    def from_exception(cls, exc: BaseException) -> "DatabaseError":
        if isinstance(exc, asyncpg.exceptions.DataError):
            # asyncpg's own encoder refused a parameter (out of range, wrong
            # type): a data exception, as PostgreSQL would have said.
            return cls("22000", str(exc))
        return cls(getattr(exc, "sqlstate", None) or "XX000",
                   getattr(exc, "message", None) or str(exc),
                   hint=getattr(exc, "hint", None), detail=getattr(exc, "detail", None),
                   constraint=getattr(exc, "constraint_name", None))

    @property
    def extensions(self) -> dict:
        """DETAIL as problem extension members: a JSON object next to a HINT
        (our convention); PostgreSQL's own DETAIL texts are not."""
        if not self.hint or not self.detail or not self.detail.startswith("{"):
            return {}
        try:
            value = orjson.loads(self.detail)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


def translate(exc: BaseException) -> BaseException:
    """asyncpg's exceptions as the two this module raises (others unchanged)."""
    if isinstance(exc, (DatabaseError, DatabaseUnavailable)):
        return exc
    if isinstance(exc, asyncpg.exceptions.DataError):
        return DatabaseError.from_exception(exc)
    if is_unavailable(exc):
        return DatabaseUnavailable(str(exc) or type(exc).__name__)
    if isinstance(exc, asyncpg.PostgresError):
        return DatabaseError.from_exception(exc)
    return exc


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, asyncpg.exceptions.DataError):
        return False
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError,
                        asyncpg.exceptions.InterfaceError,
                        asyncpg.exceptions.ConnectionDoesNotExistError)):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    if state == "XX000" and str(getattr(exc, "message", "")).startswith(_CITUS_NODE_DOWN):
        return True
    return state.startswith(_UNAVAILABLE_CLASSES)


async def _keep_session(conn) -> None:
    """Release without asyncpg's RESET ALL / CLOSE ALL / UNLISTEN round trip:
    the service never changes session state (asyncpg still rolls back a
    transaction left open)."""


class Database:
    def __init__(self, dsn: str, *, role: str | None, min_size: int, max_size: int,
                 timeout: float, pool_wait: float | None = None, expensive_slots: int = 0):
        self.dsn = dsn
        self.role = role or None
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.pool_wait = timeout if pool_wait is None else pool_wait
        # Admission: `_slots` = connections of the pool, taken before a
        # connection is asked for, so that waiting for a busy pool (Busy) is
        # told apart from failing to connect (DatabaseUnavailable).
        # `_expensive` caps calls that may run long (verify, export, broad
        # queries) below the pool size: cheap writes always find a connection.
        self.expensive_slots = min(expensive_slots, max_size - 1) if max_size > 1 else 0
        self._slots: asyncio.Semaphore | None = None
        self._expensive: asyncio.Semaphore | None = None
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        # statement_timeout: the server enforces each call's deadline and
        # answers 57014 (Busy), so a client-side timeout only ever means a
        # database that stopped answering.
        # max_parallel_workers_per_gather 0: one request never takes more than
        # one core, so a flood of expensive calls (which also wait for their
        # own slots) cannot starve the writes. A DBA's own session still
        # verifies in parallel.
        settings = {"timezone": "UTC", "application_name": "datastorage",
                    "statement_timeout": str(int(self.timeout * 1000)),
                    "max_parallel_workers_per_gather": "0"}
        if self.role:
            # A startup parameter (not SET ROLE) so the pool's RESET ALL on
            # release keeps the connection in the restricted role.
            settings["role"] = self.role
        # min_size 0 lets a worker start while the database is down: the spool
        # takes writes and the pool connects once the database is back.
        self._slots = asyncio.Semaphore(self.max_size)
        self._expensive = asyncio.Semaphore(self.expensive_slots) if self.expensive_slots else None
        self.pool = await asyncpg.create_pool(
            self.dsn, min_size=0, max_size=self.max_size, server_settings=settings,
            command_timeout=self.timeout + 1, timeout=self.timeout, reset=_keep_session)

    async def close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=5)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing is best effort
                pool.terminate()

    @staticmethod
    async def _admit(sem: asyncio.Semaphore, wait: float, what: str) -> None:
        # A free slot is taken without a timer; a wait is bounded by
        # asyncio.timeout, which (unlike wait_for) makes no task of its own.
        if not sem.locked():
            await sem.acquire()
            return
        try:
            async with asyncio.timeout(wait):
                await sem.acquire()
        except TimeoutError:
            raise Busy(f"{what} stayed busy for {wait:g}s - please retry") from None

    @asynccontextmanager
    async def connection(self, *, timeout: float | None = None, expensive: bool = False):
        """A pooled connection, after admission. Raises Busy when none
        frees up within pool_wait, DatabaseUnavailable when connecting fails."""
        if self.pool is None:
            raise DatabaseUnavailable("database pool is closed")
        wait = min(self.pool_wait, timeout or self.timeout)
        held = []
        try:
            if expensive and self._expensive is not None:
                await self._admit(self._expensive, wait,
                                  f"every slot for expensive requests ({self.expensive_slots})")
                held.append(self._expensive)
            await self._admit(self._slots, wait,
                              f"every database connection of this worker ({self.max_size})")
            held.append(self._slots)
            pool = self.pool
            try:
                # Admitted, so a connection is free or may be opened (bounded by
                # the pool's connect timeout): no timer of asyncpg's is needed.
                conn = await pool.acquire()
            except Exception as exc:
                translated = translate(exc)
                if translated is exc:
                    raise
                raise translated from exc
            try:
                yield conn
            finally:
                await pool.release(conn)
        finally:
            for sem in held:
                sem.release()

    async def call(self, function: str, *args, many: bool = False, timeout: float | None = None,
                   expensive: bool = False):
        """Run `SELECT * FROM function($1, ...)`: one round trip, one transaction.

        Returns the single value of a one-column one-row result, a Record for a
        one-row result, or all rows with many=True.
        """
        if not _IDENT.match(function):
            raise ValueError(f"not a function name: {function!r}")
        placeholders = ", ".join(f"${i}" for i in range(1, len(args) + 1))
        sql = f"SELECT * FROM {function}({placeholders})"
        return await self.fetch(sql, *args, many=many, timeout=timeout, expensive=expensive)

    async def fetch(self, sql: str, *args, many: bool = False, timeout: float | None = None,
                    expensive: bool = False):
        async with self.connection(timeout=timeout, expensive=expensive) as conn:
            try:
                # The server's deadline (statement_timeout) answers first.
                rows = await conn.fetch(sql, *args, timeout=timeout or self.timeout + 1)
            except asyncpg.QueryCanceledError:
                raise DeadlineExceeded(self.timeout) from None
            except Exception as exc:
                translated = translate(exc)
                if translated is exc:
                    raise
                raise translated from exc
        if many:
            return rows
        if not rows:
            return None
        row = rows[0]
        return row[0] if len(row) == 1 else row

    @asynccontextmanager
    async def snapshot(self, timeout: float | None = None) -> AsyncIterator["Snapshot"]:
        """One connection in one read-only REPEATABLE READ transaction, for
        reads that stream (export): every statement sees the same data."""
        timeout = timeout or self.timeout
        try:
            # An export: an expensive call, with its own (longer) deadline.
            async with self.connection(timeout=timeout, expensive=True) as conn:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    await conn.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
                    yield Snapshot(conn, timeout)
        except Exception as exc:
            translated = translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    async def ping(self, timeout: float) -> None:
        await self.fetch("SELECT 1", timeout=timeout)


class Snapshot:
    """Statements inside Database.snapshot()."""

    def __init__(self, conn, timeout: float):
        self._conn = conn
        self._timeout = timeout

    async def value(self, sql: str, *args):
        return await self._conn.fetchval(sql, *args, timeout=self._timeout)

    async def batches(self, sql: str, *args, size: int = 500):
        """The rows of `sql` through a server-side cursor, `size` at a time."""
        cursor = await self._conn.cursor(sql, *args, timeout=self._timeout)
        while rows := await cursor.fetch(size, timeout=self._timeout):
            yield rows
