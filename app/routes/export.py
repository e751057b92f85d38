"""GET /api/v1/audit/export: signed export, JSON or CSV (spec/audit-api.md §8,
docs/export.md), and the certificate auditors pin to verify it.

Check order as in the original: query parameters (400 validation-error,
like its contract validator) -> identity (401) -> filter semantics (400,
about:blank) -> export. Errors past the validator are `about:blank` problems
with `instance` = the request path.
"""
from __future__ import annotations

import logging

from sanic import Blueprint
from sanic.response import HTTPResponse

from .. import export, metrics
from ..export import ExportRequest
from ..http import parse_query
from ..identity import user_of
from ..metrics import EXPORT_FAILURES
from ..models.contract import RFC7807Problem
from ..models.export import AuditExport, ExportQuery
from ..openapi import doc
from ..problems import Problem, problem, validation
from ..timeutil import TimeFormatError, parse_rfc3339

bp = Blueprint("export")
log = logging.getLogger("datastorage.export")

UNAUTHORIZED = "X-Auth-Request-User header required for audit export"


def _bad_filter(detail: str) -> Problem:
    EXPORT_FAILURES.labels(reason="validation").inc()
    return problem("export-invalid", f"Invalid query parameters: {detail}")


@bp.get("/api/v1/audit/export")
@doc("Export audit events, signed, with whole-chain verification (JSON or CSV)",
     query=ExportQuery,
     responses={200: AuditExport, 400: RFC7807Problem, 401: RFC7807Problem, 500: RFC7807Problem},
     tags=["export"])
async def export_events(request):
    values, errors = parse_query(request, ExportQuery)
    if values.get("include_log_proofs") and values.get("format") == "csv":
        errors["include_log_proofs"] = "inclusion proofs are carried by JSON exports only"
    if errors:
        EXPORT_FAILURES.labels(reason="validation").inc()
        metrics.VALIDATION_FAILURES.labels(field="openapi_middleware",
                                           reason="validation_error").inc()
        raise validation(" | ".join(f'parameter "{k}" in query has an error: {v}'
                                    for k, v in errors.items()), errors)
    user = user_of(request)
    if not user:
        EXPORT_FAILURES.labels(reason="unauthorized").inc()
        raise problem("export-unauthorized", UNAUTHORIZED)
    for name in ("start_time", "end_time"):
        if values[name] is not None:
            try:
                values[name] = parse_rfc3339(values[name], require_zone=True)
            except TimeFormatError as exc:
                raise _bad_filter(f"invalid {name} format: {exc}") from None
    if values["start_time"] and values["end_time"] and values["start_time"] > values["end_time"]:
        raise _bad_filter("start_time must not be after end_time")
    req = ExportRequest(exported_by=user, **values)
    result = await export.run(request.app.ctx.db, request.app.ctx.signer, req,
                              timeout=export.time_budget(request.app.ctx.settings))
    await result.send(request)


@bp.get("/api/v1/audit/export/certificate")
@doc("The certificate that signs exports (PEM), for auditors to pin", responses={200: None},
     tags=["export"])
async def certificate(request):
    return HTTPResponse(request.app.ctx.signer.cert_pem, content_type="application/x-pem-file")
