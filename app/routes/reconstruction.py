"""RemediationRequest reconstruction from the audit trail (spec/reconstruction.md).

`datastorage.reconstruct_remediation_request` reads, merges, builds and
validates in one call (its refusals name their problem in HINT); this
handler writes the object as YAML. Nothing is written to the database.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from urllib.parse import unquote

import orjson
from sanic import Blueprint

from ..http import json_response
from ..models.contract import RFC7807Problem
from ..db import DatabaseError
from ..models.reconstruction import ReconstructionResponse
from ..openapi import doc
from ..problems import Problem, from_database_error, problem, validation
from ..reconstruction_yaml import render

bp = Blueprint("reconstruction")
log = logging.getLogger("datastorage.reconstruction")


def _query_failed() -> Problem:
    return problem("reconstruction/query-failed", "Failed to query audit events")


@bp.post("/api/v1/audit/remediation-requests/<correlation_id:path>/reconstruct")
@doc("Reconstruct a RemediationRequest from its audit trail",
     responses={200: ReconstructionResponse, 400: RFC7807Problem, 404: RFC7807Problem,
                500: RFC7807Problem}, tags=["audit-reconstruction"])
async def reconstruct(request, correlation_id: str):
    # The router hands over the raw (still percent-encoded) path segment.
    try:
        correlation_id = unquote(correlation_id, errors="strict")
    except UnicodeDecodeError:
        raise validation("correlation_id is not valid UTF-8 once percent-decoded",
                         {"correlation_id": "invalid UTF-8"}) from None
    return json_response(await build(request.app.ctx.db, correlation_id))


async def build(db, correlation_id: str) -> dict:
    """The reconstruction response for one (decoded) correlation id; refusals
    raise Problem. The console shows the same document."""
    if "\x00" in correlation_id:
        # Cannot be stored, so nothing can be found (and PostgreSQL would
        # refuse the parameter).
        raise problem("audit/correlation-not-found",
                      f"No audit events found for correlation_id: {correlation_id}")
    try:
        text = await db.call("datastorage.reconstruct_remediation_request", correlation_id)
    except DatabaseError as exc:
        answer = from_database_error(exc, _query_failed())
        if answer.status >= 500:
            log.error("reconstruction query failed: %s", exc)
        raise answer from None
    result = orjson.loads(text)
    try:
        rr_yaml = render(result["remediation_request"])
    except (TypeError, ValueError, KeyError) as exc:  # unreachable for SQL-built JSON
        log.error("YAML rendering failed: %s", exc)
        raise problem("reconstruction/yaml-marshal-failed",
                      f"Failed to marshal RemediationRequest to YAML: {exc}") from None
    v = result["validation"]
    return {
        "remediation_request_yaml": rr_yaml,
        "validation": {"is_valid": v["is_valid"], "completeness": v["completeness"],
                       "errors": v["errors"], "warnings": v["warnings"]},
        "reconstructed_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "correlation_id": result["correlation_id"],
    }
