"""GET /openapi.json: generated from the registered routes and their models."""
from sanic import Blueprint

from .. import __version__
from ..http import json_response
from ..openapi import build, doc

bp = Blueprint("openapi")


@bp.get("/openapi.json")
@doc("This service's OpenAPI document", responses={200: None}, tags=["health"])
async def openapi_document(request):
    if not hasattr(request.app.ctx, "openapi"):
        request.app.ctx.openapi = build(request.app, "datastorage", __version__)
    return json_response(request.app.ctx.openapi)
