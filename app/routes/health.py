"""Liveness, readiness and overall health (spec/dlq-health-metrics.md §2)."""
from sanic import Blueprint

from ..db import DatabaseUnavailable
from ..http import json_response
from ..models.common import HealthStatus
from ..openapi import doc

bp = Blueprint("health")


async def _database_error(app) -> str | None:
    try:
        await app.ctx.db.ping(app.ctx.settings.ready_timeout)
        return None
    except DatabaseUnavailable as exc:
        return str(exc)


def _spool_depth(app) -> int:
    spool = getattr(app.ctx, "spool", None)
    return spool.depth_records() if spool is not None else 0


@bp.get("/health/live")
@doc("Liveness: the process runs", responses={200: HealthStatus}, tags=["health"])
async def live(request):
    return json_response({"status": "alive"})


@bp.get("/health/ready")
@doc("Readiness: the database answers and the service is not shutting down",
     responses={200: HealthStatus, 503: HealthStatus}, tags=["health"])
async def ready(request):
    app = request.app
    if app.ctx.shutting_down:
        return json_response({"status": "not_ready", "reason": "shutting_down"}, 503)
    error = await _database_error(app)
    if error is not None:
        return json_response({"status": "not_ready", "reason": "database_unreachable",
                              "error": error}, 503)
    return json_response({"status": "ready"})


@bp.get("/health")
@doc("Overall health", responses={200: HealthStatus, 503: HealthStatus}, tags=["health"])
async def health(request):
    app = request.app
    error = await _database_error(app)
    depth = _spool_depth(app)
    if error is not None:
        return json_response({"status": "unhealthy", "database": "unreachable", "error": error,
                              "spool_records": depth}, 503)
    body = {"status": "healthy", "database": "connected", "spool_records": depth}
    if depth:
        body["status"] = "degraded"
    return json_response(body)
