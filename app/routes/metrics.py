"""Prometheus exposition."""
import asyncio

from sanic import Blueprint
from sanic.response import HTTPResponse

from .. import metrics
from ..openapi import doc

bp = Blueprint("metrics")


@bp.get("/metrics")
@doc("Prometheus metrics (text exposition)", responses={200: None}, tags=["health"])
async def scrape(request):
    metrics.GO_GOROUTINES.set(len(asyncio.all_tasks()))
    body, ctype = metrics.exposition()
    return HTTPResponse(body, content_type=ctype)
