"""POST /api/v1/audit/notifications (spec/audit-api.md §10)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import orjson
from sanic import Blueprint

from .. import metrics
from ..db import DatabaseUnavailable
from ..http import json_response, read_json
from ..models.audit import AsyncAcceptanceResponse
from ..models.contract import RFC7807Problem
from ..models.notifications import NotificationAudit, NotificationAuditResponse
from ..openapi import doc
from ..problems import problem, validation
from ..timeutil import TimeFormatError, parse_rfc3339
from ..validation import parse_model
from ..writes import persist

bp = Blueprint("notifications")
INSTANCE = "/audit/notification_audit"
CLOCK_SKEW = timedelta(minutes=5)
REQUIRED = ("remediation_id", "notification_id", "recipient", "message_summary")


def _rules(n: NotificationAudit) -> tuple[dict[str, str], datetime | None]:
    errors: dict[str, str] = {}
    for name in REQUIRED:
        if not getattr(n, name).strip():
            errors[name] = f"{name} is required"
    sent = None
    try:
        sent = parse_rfc3339(n.sent_at)
        if sent > datetime.now(timezone.utc) + CLOCK_SKEW:
            errors["sent_at"] = ("sent_at cannot be in the future "
                                 "(beyond 5-minute clock skew tolerance)")
    except TimeFormatError as exc:
        errors["sent_at"] = f"sent_at {exc}"
    return errors, sent


@bp.post("/api/v1/audit/notifications")
@doc("Record a notification delivery", body=NotificationAudit,
     responses={201: NotificationAuditResponse, 202: AsyncAcceptanceResponse,
                400: RFC7807Problem, 409: RFC7807Problem, 503: RFC7807Problem},
     tags=["audit"])
async def create_notification(request):
    app = request.app
    note = parse_model(NotificationAudit, read_json(request))
    errors, sent = _rules(note)
    if errors:
        for field in errors:
            metrics.VALIDATION_FAILURES.labels(field=field, reason="required").inc()
        first = next(iter(errors.items()))
        raise validation(f"Validation failed for notification_audit: {first[0]} - {first[1]}",
                         errors, instance=INSTANCE, resource="notification_audit")
    payload = orjson.dumps(note.model_dump()).decode()
    started = time.perf_counter()
    try:
        outcome, stored = await persist(app, "notification", payload)
    except DatabaseUnavailable:
        raise problem("service-unavailable", "database and DLQ both unavailable - please retry",
                      retry=True) from None
    if outcome == "spooled":
        metrics.AUDIT_TRACES.labels(service="notification", status="dlq_fallback").inc()
        return json_response({"status": "accepted",
                              "message": "audit record queued for processing"}, 202)
    metrics.WRITE_DURATION.labels(table="notification_audit").observe(time.perf_counter() - started)
    metrics.AUDIT_TRACES.labels(service="notification", status="success").inc()
    metrics.observe_lag("notification", (datetime.now(timezone.utc) - sent).total_seconds())
    return json_response(stored, 201)
