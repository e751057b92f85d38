"""Legal hold: place, release, list (spec/audit-api.md §7). The rules (hold
covers later events, history kept, held rows undeletable) live in SQL."""
from __future__ import annotations

from sanic import Blueprint

from .. import metrics
from ..db import DatabaseError, DatabaseUnavailable
from ..http import json_response, path_param, read_json
from ..identity import user_of
from ..models.contract import RFC7807Problem
from ..models.legal_hold import (LegalHoldList, LegalHoldPlaced, LegalHoldReleased,
                                 PlaceLegalHoldRequest, ReleaseLegalHoldRequest)
from ..openapi import doc
from ..problems import Problem, from_database_error, key_of, problem
from ..validation import parse_model

bp = Blueprint("legal_hold")

# Failure metric reasons of the refusals SQL names (HINT).
_REFUSALS = {"legal-hold-not-found": "no_legal_hold",
             "correlation-id-not-found": "correlation_id_not_found"}
UNAUTHORIZED = ("X-Auth-Request-User header is required for legal hold operations "
                "(missing authentication)")


def _fail(reason: str, key: str, detail: str) -> Problem:
    metrics.LEGAL_HOLD_FAILURES.labels(reason=reason).inc()
    return problem(key, detail)


def _body(request, model):
    try:
        return parse_model(model, read_json(request))
    except Problem as exc:
        metrics.LEGAL_HOLD_FAILURES.labels(reason="invalid_request").inc()
        raise exc


async def _call(request, failure: str, detail: str, *args):
    try:
        return await request.app.ctx.db.call(*args)
    except DatabaseError as exc:
        metrics.LEGAL_HOLD_FAILURES.labels(
            reason=_REFUSALS.get(key_of(exc), "invalid_request")).inc()
        raise from_database_error(exc) or exc from None
    except DatabaseUnavailable:
        raise _fail(failure, "database-error", detail) from None


@bp.post("/api/v1/audit/legal-hold")
@doc("Place a legal hold on every event of a correlation id (and all later ones)",
     body=PlaceLegalHoldRequest,
     responses={200: LegalHoldPlaced, 400: RFC7807Problem, 401: RFC7807Problem,
                404: RFC7807Problem}, tags=["legal-hold"])
async def place(request):
    req = _body(request, PlaceLegalHoldRequest)
    if not req.correlation_id:
        raise _fail("missing_correlation_id", "missing-correlation-id", "correlation_id is required")
    if not req.reason:
        raise _fail("missing_reason", "missing-reason", "reason is required")
    user = user_of(request)
    if not user:
        raise _fail("unauthorized", "unauthorized", UNAUTHORIZED)
    body = await _call(request, "update_failed", "Failed to place legal hold",
                       "datastorage.place_legal_hold", req.correlation_id, req.reason, user)
    metrics.LEGAL_HOLD_SUCCESSES.labels(operation="place").inc()
    return json_response(body)


@bp.delete("/api/v1/audit/legal-hold/<correlation_id:path>")
@doc("Release the legal hold of a correlation id", body=ReleaseLegalHoldRequest,
     responses={200: LegalHoldReleased, 400: RFC7807Problem, 401: RFC7807Problem,
                404: RFC7807Problem}, tags=["legal-hold"])
async def release(request, correlation_id: str):
    correlation_id = path_param("correlation_id", correlation_id)
    if not correlation_id:
        raise _fail("missing_correlation_id", "missing-correlation-id",
                    "correlation_id is required in URL path")
    req = _body(request, ReleaseLegalHoldRequest)
    if not req.release_reason:
        raise _fail("missing_release_reason", "missing-release-reason", "release_reason is required")
    user = user_of(request)
    if not user:
        raise _fail("unauthorized", "unauthorized", UNAUTHORIZED)
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
