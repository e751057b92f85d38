"""The write path shared by every endpoint that stores records: one SQL
function call, or, when the database is unreachable, the dead-letter spool.

A record is identified by its kind; the spool's drainer replays it through
the same SQL function, which is idempotent for every kind.

Single audit events go through `GroupCommit`: concurrent requests share one
`append_audit_events` call, which costs PostgreSQL a fraction of one call
per event (one statement plan, one lock pass over the chain heads, one
commit). Each request still answers only after the call holding its own
event committed, and gets exactly the answer it would have got alone (see
the class).

Events of one chain go through the single-chain entry point
(`append_chain_events`), which a Citus coordinator delegates whole to the
worker holding that chain; events of several chains go through
`append_audit_events`, one transaction across them (a batch is all or
nothing, spec/audit-api.md §5), which the coordinator runs itself. On a
cluster the group commit and the spool's drainer therefore make one call
per chain (docs/scaling-out.md, "Routing")."""
from __future__ import annotations

import asyncio
from itertools import repeat

import orjson

from .db import Busy, DatabaseError, DatabaseUnavailable, DeadlineExceeded

FUNCTIONS = {
    "audit_events": "datastorage.append_audit_events",
    "notification": "datastorage.record_notification",
}
CHAIN_FUNCTION = "datastorage.append_chain_events"


def single_chain(rows: list[dict]) -> str | None:
    """The correlation id every event names, or None when they name several."""
    chains = set(map(dict.get, rows, repeat("correlation_id")))
    if len(chains) == 1:
        (chain,) = chains
        return chain if isinstance(chain, str) else None
    return None


async def chains_distributed(db) -> bool:
    """Whether the chains live on Citus shards (the audit tables distributed)."""
    return bool(await db.call("datastorage.chains_distributed"))


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
        if not await _spooled(app, kind, payload):
            raise
        return "spooled", None


async def persist_event(app, row_json: bytes, chain: str) -> str:
    """One audit event (its row as JSON, naming `chain`) through the group
    commit: "stored" once committed, "spooled" when the database is
    unreachable."""
    try:
        await app.ctx.event_writes.append(row_json, chain)
        return "stored"
    except DatabaseUnavailable:
        # Spooled alone, as one record of its own: a record the database
        # later refuses for good is quarantined without taking others along.
        if not await _spooled(app, "audit_events", "[" + row_json.decode() + "]"):
            raise
        return "spooled"


async def _spooled(app, kind: str, payload: str) -> bool:
    """False when there is no spool to take the write."""
    spool = getattr(app.ctx, "spool", None)
    if spool is None:
        return False
    await spool.append(kind, payload)
    return True


class _Waiting:
    __slots__ = ("row", "chain", "done", "expiry")

    def __init__(self, row: bytes, chain: str, done: asyncio.Future):
        self.row = row
        self.chain = chain
        self.done = done
        self.expiry: asyncio.TimerHandle | None = None


class GroupCommit:
    """Concurrent single-event appends share `append_audit_events` calls.

    At most `calls` appends run at once; every event that arrives meanwhile
    waits and goes, with all the others waiting, into the next call (up to
    `max_events`). An idle service therefore sends each event at once, and a
    busy one sends fewer, larger calls: the batching follows the load, no
    timer delays anything.

    A request gets its own answer, as if it had been alone:
      * committed: every request of the call returns;
      * refused (DatabaseError: a missing parent, any SQL refusal) or past
        its deadline: the call's events are retried one call each, so only
        the offending event fails and the others commit (the refused call
        rolled back, nothing of it was stored);
      * database unreachable: every request sees DatabaseUnavailable and
        spools its own event (`persist_event`); a replay is idempotent on
        `event_id`, so an event whose commit was in fact done is not stored
        twice;
      * no call takes the event within `wait` seconds (every call stays
        busy): Busy (503 + Retry-After), like a request that finds no free
        connection in the pool, and the event is never sent.
    On a Citus cluster (asked once) a call's events are split by chain, one
    delegated `append_chain_events` call per chain at once: a call across
    chains would be a transaction over several workers. Events of separate
    requests need no common transaction, and a child is only sent after its
    parent's request was answered, so never in the same call.
    """

    def __init__(self, db, *, calls: int, wait: float, max_events: int = 500):
        self.db = db
        self.calls = max(1, calls)
        self.wait = wait
        self.max_events = max_events
        self.by_chain: bool | None = None
        self.waiting: list[_Waiting] = []
        self.running = 0
        # Counters for the benchmark and tests: calls made, events they carried.
        self.flushes = 0
        self.flushed_events = 0

    async def append(self, row: bytes, chain: str) -> None:
        loop = asyncio.get_running_loop()
        item = _Waiting(row, chain, loop.create_future())
        item.expiry = loop.call_later(self.wait, self._expire, item)
        self.waiting.append(item)
        if self.running < self.calls:
            self.running += 1
            loop.create_task(self._run())
        # A request cancelled (its client went away) cancels only its own
        # future: not yet taken, its event is skipped; taken, it rides along.
        await item.done

    def _expire(self, item: _Waiting) -> None:
        if not item.done.done():   # still waiting: no call has taken it
            item.done.set_exception(Busy(
                f"every database connection for writes of this worker ({self.calls} at once) "
                f"stayed busy for {self.wait:g}s - please retry"))

    def _take(self) -> list[_Waiting]:
        batch: list[_Waiting] = []
        taken = 0
        for item in self.waiting:
            taken += 1
            if item.done.done():   # expired (Busy) or its request was cancelled
                continue
            item.expiry.cancel()
            batch.append(item)
            if len(batch) == self.max_events:
                break
        del self.waiting[:taken]
        return batch

    async def _run(self) -> None:
        try:
            while batch := self._take():
                await self._store(batch)
        finally:
            # No await between the last empty _take and here: an event that
            # arrived meanwhile either found this task running (and was
            # taken) or started a task of its own.
            self.running -= 1

    async def _store(self, batch: list[_Waiting]) -> None:
        chains = {item.chain for item in batch}
        try:
            if len(chains) > 1 and self.by_chain is None:
                self.by_chain = await chains_distributed(self.db)
        except Exception as exc:  # noqa: BLE001 - as a failed call: the same for every event
            for item in batch:
                _fail(item, exc)
            return
        if len(chains) > 1 and self.by_chain:
            await asyncio.gather(*(self._store([i for i in batch if i.chain == c]) for c in chains))
            return
        self.flushes += 1
        self.flushed_events += len(batch)
        payload = b"[" + b",".join(item.row for item in batch) + b"]"
        chain = next(iter(chains)) if len(chains) == 1 else None
        try:
            await store(self.db, "audit_events", payload.decode(), chain)
        except (DatabaseError, DeadlineExceeded) as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
            else:
                # One refused event must not fail the others: each on its own.
                await asyncio.gather(*(self._store([item]) for item in batch))
            return
        except asyncio.CancelledError:
            for item in batch:
                if not item.done.done():
                    item.done.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - unreachable, busy: the same for every event
            for item in batch:
                _fail(item, exc)
            return
        for item in batch:
            if not item.done.done():
                item.done.set_result(None)


def _fail(item: _Waiting, exc: BaseException) -> None:
    if not item.done.done():
        item.done.set_exception(exc)


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
