"""The write path shared by every endpoint that stores records: one SQL
function call, or, when the database is unreachable, the dead-letter spool.

A record is identified by its kind; the spool's drainer replays it through
the same SQL function, which is idempotent for every kind.

Events of one chain go through the single-chain entry point
(`append_chain_events`), which a Citus coordinator delegates whole to the
worker holding that chain; events of several chains go through
`append_audit_events`, one transaction across them (a batch is all or
nothing, spec/audit-api.md §5), which the coordinator runs itself
(docs/scaling-out.md, "Routing")."""
from __future__ import annotations

import orjson

from .db import DatabaseUnavailable

FUNCTIONS = {
    "audit_events": "datastorage.append_audit_events",
    "notification": "datastorage.record_notification",
}
CHAIN_FUNCTION = "datastorage.append_chain_events"


def single_chain(rows: list[dict]) -> str | None:
    """The correlation id every event names, or None when they name several."""
    chains = {row.get("correlation_id") for row in rows}
    if len(chains) == 1:
        (chain,) = chains
        return chain if isinstance(chain, str) else None
    return None


async def store(db, kind: str, payload: str, chain: str | None = None):
    """One call of the record's SQL function; `chain`: every event of the
    payload names that correlation id."""
    if kind == "audit_events" and chain is not None:
        return await db.call(CHAIN_FUNCTION, chain, payload)
    return await db.call(FUNCTIONS[kind], payload)


async def persist(app, kind: str, payload: str, chain: str | None = None):
    """Returns ("stored", result of the SQL function) or ("spooled", None).

    DatabaseUnavailable escapes only when no spool is configured."""
    try:
        return "stored", await store(app.ctx.db, kind, payload, chain)
    except DatabaseUnavailable:
        spool = getattr(app.ctx, "spool", None)
        if spool is None:
            raise
        await spool.append(kind, payload)
        return "spooled", None


def replay_calls(records: list[bytes]) -> list[tuple[str | None, list[bytes]]]:
    """How the spool's drainer replays consecutive audit-event records
    (each the body of one accepted request, a JSON array) on a cluster:
    (chain, records) per call, in an order that keeps every dependency.

    Records of one chain are appended together, in spool order, by the
    single-chain entry point. A record of several chains is replayed alone
    (its events stay one transaction, as when it was accepted). Such a
    record, and one naming a parent event (which may be in another chain),
    first flush what came before it, so it replays after everything older."""
    calls: list[tuple[str | None, list[bytes]]] = []
    buckets: dict[str, list[bytes]] = {}

    def flush() -> None:
        calls.extend(buckets.items())
        buckets.clear()

    for body in records:
        try:
            rows = orjson.loads(body)
        except orjson.JSONDecodeError:
            rows = None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            flush()                     # the database judges it, alone
            calls.append((None, [body]))
            continue
        chain = single_chain(rows)
        if chain is None or any(r.get("parent_event_id") is not None for r in rows):
            flush()
        if chain is None:
            calls.append((None, [body]))
        else:
            buckets.setdefault(chain, []).append(body)
    flush()
    return calls
