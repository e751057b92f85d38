"""RemediationRequest reconstruction from the audit trail (spec/reconstruction.md).

`datastorage.reconstruct_remediation_request` reads, merges, builds and
validates in one call; this handler maps its refusals to problems and writes
the object as YAML. Nothing is written to the database.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from urllib.parse import unquote

import asyncpg
import orjson
from sanic import Blueprint

from ..http import json_response
from ..models.common import ProblemDetails
from ..models.reconstruction import PROBLEM_TITLES, ReconstructionResponse
from ..openapi import doc
from ..problems import Problem, validation
from ..reconstruction_yaml import render

bp = Blueprint("reconstruction")
log = logging.getLogger("datastorage.reconstruction")


def _refusal(exc: asyncpg.PostgresError) -> Problem:
    """A refusal raised by the SQL function, or a 500 for anything else."""
    slug = getattr(exc, "hint", None) or ""
    known = PROBLEM_TITLES.get(slug)
    if exc.sqlstate not in ("DS400", "DS404") or known is None:
        log.error("reconstruction query failed: %s (%s)", exc, exc.sqlstate)
        return Problem(500, "reconstruction/query-failed", "Failed to query audit events",
                       title="Reconstruction Query Failed")
    status, title = known
    extensions = {}
    try:
        found = orjson.loads(exc.detail) if getattr(exc, "detail", None) else {}
    except orjson.JSONDecodeError:
        found = {}
    # What was found so far: skipped malformed events, or the validation of
    # an incomplete reconstruction.
    if found.get("validation"):
        extensions["validation"] = found["validation"]
    if found.get("errors"):
        extensions["errors"] = found["errors"]
    return Problem(status, slug, exc.message, title=title, **extensions)


@bp.post("/api/v1/audit/remediation-requests/<correlation_id:path>/reconstruct")
@doc("Reconstruct a RemediationRequest from its audit trail",
     responses={200: ReconstructionResponse, 400: ProblemDetails, 404: ProblemDetails,
                500: ProblemDetails}, tags=["audit-reconstruction"])
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
        raise Problem(404, "audit/correlation-not-found",
                      f"No audit events found for correlation_id: {correlation_id}",
                      title="Audit Events Not Found")
    try:
        text = await db.call("datastorage.reconstruct_remediation_request", correlation_id)
    except asyncpg.PostgresError as exc:
        raise _refusal(exc) from None
    result = orjson.loads(text)
    try:
        rr_yaml = render(result["remediation_request"])
    except (TypeError, ValueError, KeyError) as exc:  # unreachable for SQL-built JSON
        log.error("YAML rendering failed: %s", exc)
        raise Problem(500, "reconstruction/yaml-marshal-failed",
                      f"Failed to marshal RemediationRequest to YAML: {exc}",
                      title="YAML Marshaling Failed") from None
    v = result["validation"]
    return {
        "remediation_request_yaml": rr_yaml,
        "validation": {"is_valid": v["is_valid"], "completeness": v["completeness"],
                       "errors": v["errors"], "warnings": v["warnings"]},
        "reconstructed_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "correlation_id": result["correlation_id"],
    }
