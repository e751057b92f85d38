"""Liveness, readiness and overall health (spec/dlq-health-metrics.md §2)."""
from sanic import Blueprint

from .. import metrics
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


def _spool(app) -> dict | None:
    """Spool state for /health: records waiting, bytes, oldest age, writability."""
    spool = getattr(app.ctx, "spool", None)
    return spool.health() if spool is not None else None


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
        metrics.READY.set(0)
        return json_response({"status": "not_ready", "reason": "shutting_down"}, 503)
    error = await _database_error(app)
    metrics.READY.set(error is None)
    if error is not None:
        return json_response({"status": "not_ready", "reason": "database_unreachable",
                              "error": error}, 503)
    return json_response({"status": "ready"})


@bp.get("/health")
@doc("Overall health", responses={200: HealthStatus, 503: HealthStatus}, tags=["health"])
async def health(request):
    app = request.app
    error = await _database_error(app)
    spool = _spool(app)
    depth = spool["records"] if spool else 0
    if error is not None:
        body = {"status": "unhealthy", "database": "unreachable", "error": error,
                "spool_records": depth}
        if spool:
            body["spool"] = spool
        return json_response(body, 503)
    body = {"status": "healthy", "database": "connected", "spool_records": depth}
    if spool:
        body["spool"] = spool
        # Records still waiting for the drainer, or a spool that cannot take
        # the next outage's writes: serving, but not all is well.
        if depth or spool["damaged_records"] or not spool["writable"]:
            body["status"] = "degraded"
    return json_response(body)
