"""The workflow catalog's own audit events (spec/workflow-catalog.md §4.6, §7,
§9, §10.7) and the writer that appends them.

Create and update events are built by `events.prepare` (the validation and
row building of client events); the search event, one per search, is built
directly from parts already validated (`search_event`), with the same
members. All are stored by `datastorage.append_audit_events`, so they are
hash-chained like any other. Creates and status changes hand their event to
the catalog function, which appends it in the catalog change's own
transaction: the change and its record commit together. Search events go
through `AuditWriter`, off the request path: concurrent searches share one
append call (group commit), and nothing is ever dropped (see the class).
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime, timezone
from typing import Any

import orjson

from . import events, metrics
from .db import DatabaseError
from .retry import until_success
from .timeutil import utc_micro
from .writes import persist, single_chain

log = logging.getLogger("datastorage.workflows")

# Fixed legacy values of the search event (the original had embeddings once).
EMBEDDING_DIMENSIONS = 768
EMBEDDING_MODEL = "all-mpnet-base-v2"
# Service events are kept 90 days (spec §9), not the client default.
RETENTION_DAYS = 90
_LABEL_KEYS = ("signal_type", "severity", "component", "environment", "priority")


def service_event(event_type: str, action: str, resource_type: str, resource_id: str,
                  correlation_id: str, event_data: dict[str, Any], *, max_bytes: int,
                  duration_ms: int | None = None) -> dict[str, Any]:
    """One audit row emitted by the service itself (envelope per spec §9)."""
    envelope = {
        "version": "1.0",
        "event_type": event_type,
        "event_timestamp": datetime.now(timezone.utc).isoformat(),
        "event_category": "workflow",
        "event_action": action,
        "event_outcome": "success",
        "correlation_id": correlation_id,
        "actor_type": "service",
        "actor_id": "datastorage",
        "resource_type": resource_type,
        "resource_id": resource_id,
        "event_data": event_data,
    }
    if duration_ms is not None:
        envelope["duration_ms"] = duration_ms
    row = events.prepare(envelope, max_event_data_bytes=max_bytes, check_window=False).row
    row["retention_days"] = RETENTION_DAYS
    row["severity"] = None
    return row


def created_event(workflow_id: str, wf, *, max_bytes: int,
                  claimed_by: str | None = None) -> dict[str, Any]:
    labels = wf.labels.model_dump(include=set(_LABEL_KEYS))
    data = {
        "event_type": "datastorage.workflow.created",
        "workflow_id": workflow_id,
        "workflow_name": wf.workflow_name,
        "version": wf.version,
        "status": wf.status,
        "is_latest_version": True,
        "execution_engine": wf.execution_engine,
        "name": wf.name,
        "description": wf.description or None,
        "labels": {k: labels[k] for k in _LABEL_KEYS if labels.get(k)},
    }
    data = {k: v for k, v in data.items() if v is not None}
    if claimed_by is not None:
        data["claimed_created_by"] = claimed_by
    return service_event("datastorage.workflow.created", "create", "Workflow", workflow_id,
                         workflow_id, data, max_bytes=max_bytes)


def updated_event(workflow_id: str, updated_fields: dict[str, Any], *,
                  max_bytes: int, claimed_by: str | None = None) -> dict[str, Any]:
    """`updated_fields` without `status` gets the effective status filled in
    by datastorage.set_workflow_status (it knows the row's current status).
    `claimed_by`: a body-supplied actor the authenticated user overrode."""
    data = {"event_type": "datastorage.workflow.updated", "workflow_id": workflow_id,
            "updated_fields": updated_fields}
    if claimed_by is not None:
        data["claimed_disabled_by"] = claimed_by
    return service_event("datastorage.workflow.updated", "update", "Workflow", workflow_id,
                         workflow_id, data, max_bytes=max_bytes)


def query_hash(filters) -> str:
    """First 16 hex digits of SHA-256 of "<signal>-<severity>-<component>-<env>-<priority>"."""
    key = "-".join(str(getattr(filters, k)) for k in _LABEL_KEYS)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def search_event(req, found, duration_ms: int, *, max_bytes: int) -> dict[str, Any]:
    """The search's audit row, built straight from already-validated parts:
    the request (SearchRequest) and the results as
    datastorage.search_workflows_rendered returned them (its `audit_results`
    is embedded verbatim). No second validation: every value is either the
    validated request's or a typed column's, and
    tests/api/test_workflow_search_wire.py holds this row equal to what
    events.prepare builds from the same envelope."""
    f = req.filters
    query: dict[str, Any] = {"top_k": req.top_k}
    if req.min_score > 0:
        query["min_score"] = req.min_score
    query["filters"] = {k: getattr(f, k) for k in _LABEL_KEYS}
    data = {
        "event_type": "workflow.catalog.search_completed",
        "query": query,
        "results": {"total_found": found["total_matches"], "returned": found["returned"],
                    "workflows": orjson.Fragment(found["audit_results"])},
        "search_metadata": {"duration_ms": duration_ms,
                            "embedding_dimensions": EMBEDDING_DIMENSIONS,
                            "embedding_model": EMBEDDING_MODEL},
    }
    events.check_event_data_size(data, max_bytes)
    digest = query_hash(f)
    return {
        "event_id": events.new_event_id(),
        "event_version": "1.0",
        "event_timestamp": utc_micro(datetime.now(timezone.utc)),
        "event_type": "workflow.catalog.search_completed",
        "event_category": "workflow",
        "event_action": "search_completed",
        "event_outcome": "success",
        "correlation_id": req.remediation_id or digest,
        "actor_type": "service",
        "actor_id": "datastorage",
        "resource_type": "workflow_catalog",
        "resource_id": digest,
        "parent_event_id": None,
        "namespace": None,
        "cluster_name": None,
        "severity": None,
        "duration_ms": duration_ms or None,
        "retention_days": RETENTION_DAYS,
        "is_sensitive": False,
        "event_data": data,
    }


class AuditWriter:
    """Appends the service's own audit rows off the request path.

    `submit` queues a row and returns at once; one background task stores
    everything queued so far with a single append call (group commit), so
    under load many searches share one transaction. Nothing is dropped:
      * a full backlog (`max_backlog` rows) makes `submit` wait for room
        instead of discarding (back-pressure reaches the clients);
      * an unreachable database sends the batch to the spool through
        `writes.persist`; without a spool the batch is retried with back-off;
      * a row the database refuses (it cannot be: rows are built by
        events.prepare) is split from its batch, logged in full and counted;
      * shutdown waits for the backlog (`close`).
    A call carries at least `min_batch` rows when that many arrive within
    `linger` seconds of the first one waiting: an append's fixed cost is
    that of several events (~0.6 ms of PostgreSQL CPU for one event alone,
    ~0.2 ms per event from 16 on), and at moderate load searches would
    otherwise go one or two a call. Nobody waits for the window but the
    rows: searches answer before their row is stored, as before.
    A crash loses at most the rows not yet committed: those queued in the
    last `linger` seconds and those of the call in flight."""

    def __init__(self, app, *, max_batch: int = 500, max_backlog: int = 10_000,
                 min_batch: int = 16, linger: float = 0.02):
        self.app = app
        self.max_batch = max_batch
        self.max_backlog = max_backlog
        self.min_batch = min_batch
        self.linger = linger
        self.pending: list[dict] = []
        self.oldest = 0.0   # loop time the first of the pending rows was queued
        self.filled = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.room = asyncio.Event()
        self.room.set()
        self.stored = 0
        self.failed = 0
        self.flushes = 0

    async def submit(self, row: dict) -> None:
        while len(self.pending) >= self.max_backlog:
            self.room.clear()
            await self.room.wait()
        loop = asyncio.get_running_loop()
        if not self.pending:
            self.oldest = loop.time()
        self.pending.append(row)
        if len(self.pending) >= self.min_batch:
            self.filled.set()
        if self.task is None:
            self.task = loop.create_task(self._drain())

    async def close(self, timeout: float = 30.0) -> None:
        task = self.task
        if task is None:
            return
        self.linger = 0.0   # shutting down: no more waiting for company
        self.filled.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except asyncio.TimeoutError:
            log.error("audit writer: %d service audit events not stored at shutdown: %s",
                      len(self.pending), events.payload(self.pending))

    async def _drain(self) -> None:
        carried = False   # rows left over from a full call: they have waited already
        try:
            while self.pending:
                if not carried:
                    await self._fill()
                batch = self.pending[:self.max_batch]
                del self.pending[:self.max_batch]
                carried = bool(self.pending)
                self.filled.clear()
                self.room.set()
                await self._store(batch)
        finally:
            self.task = None
            self.room.set()

    async def _fill(self) -> None:
        """Until `min_batch` rows wait or the first has waited `linger` seconds."""
        if len(self.pending) >= self.min_batch:
            return
        remaining = self.oldest + self.linger - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        self.filled.clear()
        try:
            async with asyncio.timeout(remaining):
                await self.filled.wait()
        except TimeoutError:
            pass

    async def _store(self, batch: list[dict]) -> None:
        async def flush():
            self.flushes += 1
            return await persist(self.app, "audit_events", events.payload(batch), single_chain(batch))

        def failed(exc: BaseException, delay: float) -> None:
            log.warning("audit writer: %d events not stored yet (%s); retrying in %.2fs",
                        len(batch), exc, delay)

        try:
            # Unreachable without a spool, or the spool full: retried.
            outcome, _ = await until_success(
                flush, initial=0.05, maximum=5.0, on_failure=failed,
                retry_on=lambda exc: not isinstance(exc, DatabaseError))
        except DatabaseError as exc:
            if len(batch) > 1:
                for row in batch:  # isolate the row the database refuses
                    await self._store([row])
                return
            self.failed += 1
            log.error("audit writer: the database refused service audit event %s (%s): %s",
                      batch[0]["event_id"], exc, events.payload(batch))
            return
        self.stored += len(batch)
        if outcome == "stored":
            now = datetime.now(timezone.utc)
            for row in batch:
                metrics.observe_lag(row["event_category"], (
                    now - datetime.fromisoformat(row["event_timestamp"])).total_seconds())
