"""GET /api/v1/audit/export: signed export, JSON or CSV (spec/audit-api.md §8,
docs/export.md), and the certificate auditors pin to verify it.

Check order as in the original: query parameters (400 validation-error,
like its contract validator) -> identity (401) -> filter semantics (400,
about:blank) -> export. Errors past the validator are `about:blank` problems
with `instance` = the request path.
"""
from __future__ import annotations

import logging
import re

from sanic import Blueprint
from sanic.response import HTTPResponse

from .. import export, metrics
from ..export import EXPORT_FAILURES, ExportRequest
from ..http import int_param
from ..identity import user_of
from ..models.common import ProblemDetails
from ..models.export import AuditExport, ExportQuery
from ..openapi import doc
from ..problems import Problem, validation
from ..signing import Signer, SigningError
from ..timeutil import TimeFormatError, parse_rfc3339

bp = Blueprint("export")
log = logging.getLogger("datastorage.export")

UNAUTHORIZED = "X-Auth-Request-User header required for audit export"
# The contract validator's date-time (zone optional there; required later).
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _parse_query(request, max_offset: int) -> tuple[dict, dict[str, str]]:
    """Typed parameters and the validator-style errors, all of them at once.
    Parameters with a default take it when absent or empty; others may not
    be empty. Booleans accept the validator's spellings and mean what they
    say (the original treated only the literal `true` as true, so
    `redact_pii=1` leaked PII)."""
    args = request.get_args(keep_blank_values=True)
    values: dict = {}
    errors: dict[str, str] = {}
    for name in ("start_time", "end_time", "correlation_id", "event_category"):
        raw = args.get(name)
        if raw is None:
            values[name] = None
        elif raw == "":
            errors[name] = "empty value is not allowed"
        elif name.endswith("_time") and not _DATE_TIME.match(raw):
            errors[name] = 'string doesn\'t match the format "date-time"'
        else:
            values[name] = raw
    raw = args.get("format") or "json"
    if raw not in ("json", "csv"):
        errors["format"] = "value is not one of the allowed values [json csv]"
    values["format"] = raw
    for name, default in (("include_detached_signature", "false"), ("redact_pii", "false"),
                          ("escape_formulas", "true")):
        raw = args.get(name) or default
        if raw in _TRUE or raw in _FALSE:
            values[name] = raw in _TRUE
        else:
            errors[name] = f"value {raw}: an invalid boolean: invalid syntax"
    for name, default, lo, hi in (("offset", 0, 0, max_offset),
                                  ("limit", 1000, 1, export.MAX_EVENTS)):
        value, reason = int_param(args.get(name) or str(default), lo, hi)
        if reason:
            errors[name] = reason
        values[name] = value
    return values, errors


def _bad_filter(detail: str) -> Problem:
    EXPORT_FAILURES.labels(reason="validation").inc()
    return Problem(400, "about:blank", f"Invalid query parameters: {detail}", title="Validation Error")


@bp.get("/api/v1/audit/export")
@doc("Export audit events, signed, with whole-chain verification (JSON or CSV)",
     query=ExportQuery,
     responses={200: AuditExport, 400: ProblemDetails, 401: ProblemDetails, 500: ProblemDetails},
     tags=["export"])
async def export_events(request):
    values, errors = _parse_query(request, request.app.ctx.settings.max_offset)
    if errors:
        EXPORT_FAILURES.labels(reason="validation").inc()
        metrics.VALIDATION_FAILURES.labels(field="openapi_middleware",
                                           reason="validation_error").inc()
        raise validation(" | ".join(f'parameter "{k}" in query has an error: {v}'
                                    for k, v in errors.items()), errors)
    user = user_of(request)
    if not user:
        EXPORT_FAILURES.labels(reason="unauthorized").inc()
        raise Problem(401, "about:blank", UNAUTHORIZED, title="Unauthorized")
    for name in ("start_time", "end_time"):
        if values[name] is not None:
            try:
                values[name] = parse_rfc3339(values[name], require_zone=True)
            except TimeFormatError as exc:
                raise _bad_filter(f"invalid {name} format: {exc}") from None
    if values["start_time"] and values["end_time"] and values["start_time"] > values["end_time"]:
        raise _bad_filter("start_time must not be after end_time")
    req = ExportRequest(exported_by=user, **values)
    settings = request.app.ctx.settings
    result = await export.run(request.app.ctx.db, request.app.ctx.signer, req,
                              timeout=max(60.0, settings.db_timeout * 6))
    try:
        response = await request.respond(
            status=200, content_type=result.content_type,
            headers={**result.headers, "content-length": str(result.size)})
        for chunk in result.chunks():
            await response.send(chunk)
        await response.eof()
    finally:
        result.close()
    if result.total != result.valid:
        log.warning("export by %s contained %d event(s) failing chain verification: %s", user,
                    result.total - result.valid, ", ".join(result.tampered[:10]))


@bp.get("/api/v1/audit/export/certificate")
@doc("The certificate that signs exports (PEM), for auditors to pin", responses={200: None},
     tags=["export"])
async def certificate(request):
    return HTTPResponse(request.app.ctx.signer.cert_pem, content_type="application/x-pem-file")


@bp.before_server_start
async def _load_signer(app):
    try:
        app.ctx.signer = Signer.from_settings(app.ctx.settings)
    except SigningError as exc:
        log.critical("export signing key: %s", exc)
        raise
