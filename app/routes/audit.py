"""Audit events: write one, write a batch, query (spec/audit-api.md §4-§6)."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

from sanic import Blueprint

from .. import events, metrics
from ..db import DatabaseUnavailable
from ..http import json_response, param_error, query_int, read_json
from ..models.audit import (AsyncAcceptanceResponse, AuditEventResponse, AuditEventsQuery,
                            AuditEventsQueryResponse, BatchAuditEventResponse)
from ..models.common import ProblemDetails
from ..openapi import doc
from ..problems import Problem, validation
from ..timeutil import TimeFormatError, parse_since, rfc3339_seconds
from ..writes import persist

bp = Blueprint("audit")
log = logging.getLogger("datastorage.audit")
MAINTENANCE_INTERVAL = 24 * 3600



def _unavailable(detail: str) -> Problem:
    return Problem(503, "service-unavailable", detail, retry=True)


@bp.post("/api/v1/audit/events")
@doc("Create an audit event (hash-chained)", body=dict,
     responses={201: AuditEventResponse, 202: AsyncAcceptanceResponse, 400: ProblemDetails,
                413: ProblemDetails, 503: ProblemDetails}, tags=["audit"])
async def create_event(request):
    app = request.app
    settings = app.ctx.settings
    ev = events.prepare(read_json(request), max_event_data_bytes=settings.max_event_data_bytes,
                        nul_possible=b"\\u0000" in request.body)
    event_id = ev.row["event_id"]
    started = time.perf_counter()
    try:
        outcome, _ = await persist(app, "audit_events", events.payload([ev.row]))
    except DatabaseUnavailable:
        raise Problem(500, "database_error", "Failed to write audit event to database and DLQ",
                      title="Database Error") from None
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
                400: ProblemDetails, 413: ProblemDetails, 503: ProblemDetails}, tags=["audit"])
async def create_batch(request):
    app = request.app
    settings = app.ctx.settings
    body = read_json(request)
    if isinstance(body, dict):
        metrics.VALIDATION_FAILURES.labels(field="body", reason="not_array").inc()
        raise validation("request body must be a JSON array, not a single object "
                         "(value must be an array)")
    if not isinstance(body, list):
        metrics.VALIDATION_FAILURES.labels(field="body", reason="invalid_json_array").inc()
        raise validation("request body must be a JSON array: value must be an array")
    if not body:
        metrics.VALIDATION_FAILURES.labels(field="body", reason="empty_batch").inc()
        raise validation("batch cannot be empty")
    if len(body) > settings.max_batch_events:
        metrics.VALIDATION_FAILURES.labels(field="body", reason="batch_too_large").inc()
        raise validation(f"batch of {len(body)} events exceeds the maximum of "
                         f"{settings.max_batch_events} events per request")
    now = datetime.now(timezone.utc)
    nul_possible = b"\\u0000" in request.body
    prepared = []
    for i, item in enumerate(body):
        if not isinstance(item, dict):
            raise validation(f'request body has an error: Error at "/{i}": value must be an object',
                             {str(i): "value must be an object"})
        ev = events.prepare(item, max_event_data_bytes=settings.max_event_data_bytes,
                            prefix=f"{i}.", now=now, check_window=False,
                            nul_possible=nul_possible)
        problem = events.check_bounds(ev.timestamp, now)
        if problem:
            metrics.VALIDATION_FAILURES.labels(field="batch_event", reason="validation_failed").inc()
            raise validation(f"event at index {i}: {problem}")
        prepared.append(ev)
    ids = [ev.row["event_id"] for ev in prepared]
    started = time.perf_counter()
    try:
        outcome, _ = await persist(app, "audit_events", events.payload([ev.row for ev in prepared]))
    except DatabaseUnavailable:
        raise Problem(500, "database-error", "Failed to write audit events batch to database",
                      title="Database Error") from None
    finally:
        metrics.WRITE_DURATION.labels(table="audit_events_batch").observe(
            time.perf_counter() - started)
    status = "dlq_fallback" if outcome == "spooled" else "success"
    for ev in prepared:
        metrics.AUDIT_TRACES.labels(service=ev.category, status=status).inc()
    if outcome == "spooled":
        return json_response({"status": "accepted",
                              "message": "audit events queued for async processing",
                              "event_ids": ids}, 202)
    return json_response({"event_ids": ids,
                          "message": f"{len(ids)} audit events created successfully"}, 201)


def _time_param(args, name: str):
    raw = args.get(name)
    if raw is None:
        return None
    if raw == "":
        raise param_error(name, "empty value is not allowed")
    try:
        return parse_since(raw)
    except TimeFormatError:
        msg = f"invalid time format: {raw} (expected: 24h, 7d, or RFC3339 timestamp)"
        raise validation(f"Validation failed for query parameters: query - {msg}",
                         {"query": msg}, instance="/audit/query parameters",
                         resource="query parameters") from None


@bp.get("/api/v1/audit/events")
@doc("Query audit events, newest first", query=AuditEventsQuery,
     responses={200: AuditEventsQueryResponse, 400: ProblemDetails}, tags=["audit"])
async def query_events(request):
    # Blank values must be seen to be refused (Sanic drops them by default).
    args = request.get_args(keep_blank_values=True)
    text = {}
    for name in ("event_type", "event_category", "event_outcome", "severity", "correlation_id"):
        raw = args.get(name)
        if raw == "":
            raise param_error(name, "empty value is not allowed")
        text[name] = raw
    if text["event_outcome"] not in (None, "success", "failure", "pending"):
        raise param_error("event_outcome", "value is not one of the allowed values "
                                            "[success failure pending]")
    limit = query_int(args, "limit", 50, 1, 1000)
    offset = query_int(args, "offset", 0, 0, request.app.ctx.settings.max_offset)
    since, until = _time_param(args, "since"), _time_param(args, "until")
    try:
        body = await request.app.ctx.db.call(
            "datastorage.query_audit_events", text["correlation_id"], text["event_type"],
            text["event_category"], text["event_outcome"], text["severity"], since, until,
            limit, offset, expensive=text["correlation_id"] is None)
    except DatabaseUnavailable:
        raise Problem(500, "database-error", "Failed to query audit events from database",
                      title="Database Error") from None
    return json_response(body)


@bp.before_server_start
async def _partitions(app):
    """Months ahead exist before anyone writes into them; then daily."""
    async def upkeep():
        while True:
            try:
                await app.ctx.db.call("datastorage.maintain")
            except Exception as exc:  # noqa: BLE001 - retried tomorrow; inserts still succeed (DEFAULT partition)
                log.warning("partition upkeep failed: %s", exc)
            await asyncio.sleep(MAINTENANCE_INTERVAL)

    app.ctx.maintenance = asyncio.get_running_loop().create_task(upkeep())


@bp.before_server_stop
async def _stop_partitions(app):
    task = getattr(app.ctx, "maintenance", None)
    if task:
        task.cancel()
