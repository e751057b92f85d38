"""Connection pool and the one helper every route uses to call a SQL function.

jsonb values come back as text and are handed to clients as-is: the SQL
functions build response documents, Python does not parse and re-serialise
them on the hot path.
"""
from __future__ import annotations

import asyncio
import logging
import re

import asyncpg

log = logging.getLogger("datastorage.db")

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")

# SQLSTATE classes meaning "the database is not there right now" (as opposed
# to "the database refused this input"): connection exceptions, operator
# intervention (admin shutdown, crash recovery), insufficient resources.
_UNAVAILABLE_CLASSES = ("08", "57P", "53")


class DatabaseUnavailable(Exception):
    """The write may be retried later; nothing about the input was wrong."""


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError,
                        asyncpg.exceptions.InterfaceError,
                        asyncpg.exceptions.ConnectionDoesNotExistError)):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return state.startswith(_UNAVAILABLE_CLASSES)


async def _keep_session(conn) -> None:
    """Release without asyncpg's RESET ALL / CLOSE ALL / UNLISTEN round trip:
    the service never changes session state (asyncpg still rolls back a
    transaction left open)."""


class Database:
    def __init__(self, dsn: str, *, role: str | None, min_size: int, max_size: int,
                 timeout: float):
        self.dsn = dsn
        self.role = role or None
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        settings = {"timezone": "UTC", "application_name": "datastorage"}
        if self.role:
            # A startup parameter (not SET ROLE) so the pool's RESET ALL on
            # release keeps the connection in the restricted role.
            settings["role"] = self.role
        # min_size 0 lets a worker start while the database is down: the spool
        # takes writes and the pool connects once the database is back.
        self.pool = await asyncpg.create_pool(
            self.dsn, min_size=0, max_size=self.max_size, server_settings=settings,
            command_timeout=self.timeout, timeout=self.timeout, reset=_keep_session)

    async def close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=5)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing is best effort
                pool.terminate()

    async def call(self, function: str, *args, many: bool = False, timeout: float | None = None):
        """Run `SELECT * FROM function($1, ...)`: one round trip, one transaction.

        Returns the single value of a one-column one-row result, a Record for a
        one-row result, or all rows with many=True.
        """
        if not _IDENT.match(function):
            raise ValueError(f"not a function name: {function!r}")
        placeholders = ", ".join(f"${i}" for i in range(1, len(args) + 1))
        sql = f"SELECT * FROM {function}({placeholders})"
        return await self.fetch(sql, *args, many=many, timeout=timeout)

    async def fetch(self, sql: str, *args, many: bool = False, timeout: float | None = None):
        if self.pool is None:
            raise DatabaseUnavailable("database pool is closed")
        try:
            async with self.pool.acquire(timeout=timeout or self.timeout) as conn:
                rows = await conn.fetch(sql, *args, timeout=timeout or self.timeout)
        except Exception as exc:
            if is_unavailable(exc):
                raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
            raise
        if many:
            return rows
        if not rows:
            return None
        row = rows[0]
        return row[0] if len(row) == 1 else row

    async def ping(self, timeout: float) -> None:
        await self.fetch("SELECT 1", timeout=timeout)
