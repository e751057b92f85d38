"""Audit events: write one, write a batch, query (spec/audit-api.md §4-§6)."""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from operator import itemgetter

import orjson
from sanic import Blueprint

from .. import events, metrics
from ..db import DatabaseUnavailable
from ..http import json_response, query, read_json
from ..models.audit import (AsyncAcceptanceResponse, AuditEventResponse, AuditEventsQuery,
                            AuditEventsQueryResponse, BatchAuditEventResponse)
from ..models.contract import RFC7807Problem
from ..openapi import doc
from ..problems import problem, validation
from ..timeutil import TimeFormatError, parse_since, rfc3339_seconds
from ..writes import persist, persist_event, single_chain

bp = Blueprint("audit")



@bp.post("/api/v1/audit/events")
@doc("Create an audit event (hash-chained)", body=dict,
     responses={201: AuditEventResponse, 202: AsyncAcceptanceResponse, 400: RFC7807Problem,
                413: RFC7807Problem, 503: RFC7807Problem}, tags=["audit"])
async def create_event(request):
    app = request.app
    settings = app.ctx.settings
    ev = events.prepare(read_json(request), max_event_data_bytes=settings.max_event_data_bytes)
    event_id = ev.row["event_id"]
    started = time.perf_counter()
    try:
        outcome = await persist_event(app, orjson.dumps(ev.row), ev.row["correlation_id"])
    except DatabaseUnavailable:
        raise problem("database_error", "Failed to write audit event to database and DLQ") from None
    finally:
        metrics.WRITE_DURATION.labels(table="audit_events").observe(time.perf_counter() - started)
    if outcome == "spooled":
        metrics.AUDIT_TRACES.labels(service=ev.category, status="dlq_fallback").inc()
        return json_response({"status": "accepted",
                              "message": "audit event queued for async processing",
                              "event_id": event_id}, 202)
    metrics.AUDIT_TRACES.labels(service=ev.category, status="success").inc()
    metrics.observe_lag(ev.category, (datetime.now(timezone.utc) - ev.timestamp).total_seconds())
    return json_response({"event_id": event_id,
                          "event_timestamp": rfc3339_seconds(ev.timestamp),
                          "message": "Audit event created successfully"}, 201)


@bp.post("/api/v1/audit/events/batch")
@doc("Create a batch of audit events, all or nothing", body=list,
     responses={201: BatchAuditEventResponse, 202: AsyncAcceptanceResponse,
                400: RFC7807Problem, 413: RFC7807Problem, 503: RFC7807Problem}, tags=["audit"])
async def create_batch(request):
    app = request.app
    settings = app.ctx.settings
    body = read_json(request, nesting=False)
    rows = events.prepare_batch(body, max_events=settings.max_batch_events,
                                max_event_data_bytes=settings.max_event_data_bytes)
    ids = list(map(itemgetter("event_id"), rows))
    started = time.perf_counter()
    try:
        outcome, _ = await persist(app, "audit_events", events.payload(rows), single_chain(rows))
    except DatabaseUnavailable:
        raise problem("database-error", "Failed to write audit events batch to database") from None
    finally:
        metrics.WRITE_DURATION.labels(table="audit_events_batch").observe(
            time.perf_counter() - started)
    status = "dlq_fallback" if outcome == "spooled" else "success"
    # One increment per category, not per event (each costs a lock and a write).
    for category, count in Counter(map(itemgetter("event_category"), rows)).items():
        metrics.AUDIT_TRACES.labels(service=category, status=status).inc(count)
    if outcome == "spooled":
        return json_response({"status": "accepted",
                              "message": "audit events queued for async processing",
                              "event_ids": ids}, 202)
    return json_response({"event_ids": ids,
                          "message": f"{len(ids)} audit events created successfully"}, 201)


def _time(q: dict, name: str):
    raw = q[name]
    if raw is None:
        return None
    try:
        return parse_since(raw)
    except TimeFormatError:
        msg = f"invalid time format: {raw} (expected: 24h, 7d, or RFC3339 timestamp)"
        raise validation(f"Validation failed for query parameters: query - {msg}",
                         {"query": msg}, instance="/audit/query parameters",
                         resource="query parameters") from None


async def find_events(db, correlation_id, event_type, event_category, event_outcome, severity,
                      since, until, limit: int, offset: int, expensive: bool = False) -> str:
    """A page of events (the JSON text). With a chain, query_audit_events
    (delegated to the chain's worker on a Citus cluster); without one,
    search_audit_events: Citus crashes a backend planning a delegated call
    whose correlation id is NULL (docs/scaling-out.md)."""
    if correlation_id is not None:
        return await db.call("datastorage.query_audit_events", correlation_id, event_type,
                             event_category, event_outcome, severity, since, until, limit, offset,
                             expensive=expensive)
    return await db.call("datastorage.search_audit_events", event_type, event_category,
                         event_outcome, severity, since, until, limit, offset, expensive=expensive)


@bp.get("/api/v1/audit/events")
@doc("Query audit events, newest first", query=AuditEventsQuery,
     responses={200: AuditEventsQueryResponse, 400: RFC7807Problem}, tags=["audit"])
async def query_events(request):
    q = query(request, AuditEventsQuery)
    since, until = _time(q, "since"), _time(q, "until")
    try:
        body = await find_events(
            request.app.ctx.db, q["correlation_id"], q["event_type"], q["event_category"],
            q["event_outcome"], q["severity"], since, until, q["limit"], q["offset"],
            expensive=q["correlation_id"] is None)
    except DatabaseUnavailable:
        raise problem("database-error", "Failed to query audit events from database") from None
    return json_response(body)
