"""The write path shared by every endpoint that stores records: one SQL
function call, or, when the database is unreachable, the dead-letter spool.

A record is identified by its kind; the spool's drainer replays it through
the same SQL function, which is idempotent for every kind."""
from __future__ import annotations

from .db import DatabaseUnavailable

FUNCTIONS = {
    "audit_events": "datastorage.append_audit_events",
    "notification": "datastorage.record_notification",
}


async def persist(app, kind: str, payload: str):
    """Returns ("stored", result of the SQL function) or ("spooled", None).

    DatabaseUnavailable escapes only when no spool is configured."""
    try:
        return "stored", await app.ctx.db.call(FUNCTIONS[kind], payload)
    except DatabaseUnavailable:
        spool = getattr(app.ctx, "spool", None)
        if spool is None:
            raise
        await spool.append(kind, payload)
        return "spooled", None
