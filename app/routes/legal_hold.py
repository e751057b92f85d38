"""Legal hold: place, release, list (spec/audit-api.md §7). The rules (hold
covers later events, history kept, held rows undeletable) live in SQL."""
from __future__ import annotations

import asyncpg
from sanic import Blueprint

from .. import metrics
from ..db import DatabaseUnavailable
from ..http import json_response, parse_model, path_param, read_json
from ..identity import user_of
from ..models.common import ProblemDetails
from ..models.legal_hold import (LegalHoldList, LegalHoldPlaced, LegalHoldReleased,
                                 PlaceLegalHoldRequest, ReleaseLegalHoldRequest)
from ..openapi import doc
from ..problems import Problem

bp = Blueprint("legal_hold")

UNAUTHORIZED = ("X-Auth-Request-User header is required for legal hold operations "
                "(missing authentication)")


def _fail(reason: str, status: int, slug: str, title: str, detail: str) -> Problem:
    metrics.LEGAL_HOLD_FAILURES.labels(reason=reason).inc()
    return Problem(status, slug, detail, title=title, instance=None)


def _body(request, model):
    try:
        return parse_model(model, read_json(request))
    except Problem as exc:
        metrics.LEGAL_HOLD_FAILURES.labels(reason="invalid_request").inc()
        raise exc


async def _call(request, failure: str, detail: str, *args):
    try:
        return await request.app.ctx.db.call(*args)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == "DS404":
            reason = "no_legal_hold" if "legal hold" in exc.message else "correlation_id_not_found"
            raise _fail(reason, 404, "not-found", "Not Found", exc.message) from None
        raise
    except DatabaseUnavailable:
        raise _fail(failure, 500, "database-error", "Database Error", detail) from None


@bp.post("/api/v1/audit/legal-hold")
@doc("Place a legal hold on every event of a correlation id (and all later ones)",
     body=PlaceLegalHoldRequest,
     responses={200: LegalHoldPlaced, 400: ProblemDetails, 401: ProblemDetails,
                404: ProblemDetails}, tags=["legal-hold"])
async def place(request):
    req = _body(request, PlaceLegalHoldRequest)
    if not req.correlation_id:
        raise _fail("missing_correlation_id", 400, "missing-correlation-id",
                    "Missing Correlation ID", "correlation_id is required")
    if not req.reason:
        raise _fail("missing_reason", 400, "missing-reason", "Missing Reason", "reason is required")
    user = user_of(request)
    if not user:
        raise _fail("unauthorized", 401, "unauthorized", "Unauthorized", UNAUTHORIZED)
    body = await _call(request, "update_failed", "Failed to place legal hold",
                       "datastorage.place_legal_hold", req.correlation_id, req.reason, user)
    metrics.LEGAL_HOLD_SUCCESSES.labels(operation="place").inc()
    return json_response(body)


@bp.delete("/api/v1/audit/legal-hold/<correlation_id:path>")
@doc("Release the legal hold of a correlation id", body=ReleaseLegalHoldRequest,
     responses={200: LegalHoldReleased, 400: ProblemDetails, 401: ProblemDetails,
                404: ProblemDetails}, tags=["legal-hold"])
async def release(request, correlation_id: str):
    correlation_id = path_param("correlation_id", correlation_id)
    if not correlation_id:
        raise _fail("missing_correlation_id", 400, "missing-correlation-id",
                    "Missing Correlation ID", "correlation_id is required in URL path")
    req = _body(request, ReleaseLegalHoldRequest)
    if not req.release_reason:
        raise _fail("missing_release_reason", 400, "missing-release-reason",
                    "Missing Release Reason", "release_reason is required")
    user = user_of(request)
    if not user:
        raise _fail("unauthorized", 401, "unauthorized", "Unauthorized", UNAUTHORIZED)
    body = await _call(request, "update_failed", "Failed to release legal hold",
                       "datastorage.release_legal_hold", correlation_id, req.release_reason, user)
    metrics.LEGAL_HOLD_SUCCESSES.labels(operation="release").inc()
    return json_response(body)


@bp.get("/api/v1/audit/legal-hold")
@doc("List active legal holds", responses={200: LegalHoldList}, tags=["legal-hold"])
async def list_holds(request):
    body = await _call(request, "query_failed", "Failed to query legal holds",
                       "datastorage.list_legal_holds")
    metrics.LEGAL_HOLD_SUCCESSES.labels(operation="list").inc()
    return json_response(body)
