"""Console pages under /console/ (docs/console.md).

Reads call the SQL functions the API uses (plus the console_* aggregates in
sql/functions/500_console.sql); the two actions, export and legal hold, go
through the same code and SQL functions as their API routes, need an
identity and a CSRF token, and nothing here writes an audit event.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import Decimal

import orjson
from sanic import Blueprint
from sanic.response import redirect

from .. import export, metrics
from ..db import DatabaseError, DatabaseUnavailable
from ..export import ExportRequest
from ..identity import user_of
from ..models.workflows import STATUSES, SearchRequest
from ..problems import Problem, from_database_error
from ..routes import audit, reconstruction
from ..validation import parse_model
from . import security, views
from .render import STATIC, fragment, page
from .transparency import log_state

log = logging.getLogger("datastorage.console")
bp = Blueprint("console", url_prefix="/console", strict_slashes=True)
bp.static("/static", str(STATIC), name="static")

HOLD_ACTIONS = {"place": "datastorage.place_legal_hold", "release": "datastorage.release_legal_hold"}
# The notices a redirect may ask the trail page to show (never free text).
NOTICES = {"placed": "Legal hold placed.", "released": "Legal hold released."}
WORKFLOW_PAGE = 25


def refuse(status: int, title: str, detail: str) -> Problem:
    """An error shown as a friendly page (error_page below): status, title, sentence."""
    return Problem(status, "about:blank", detail, title=title)


def _text(args, name: str, *, required: bool = True) -> str:
    form = views.text_fields(args, (name,))
    if form.errors:
        raise refuse(400, "Invalid input", f"{name}: {form.errors[name]}")
    value = form.values[name]
    if required and not value:
        raise refuse(400, "Invalid input", f"{name} is required")
    return value


async def _json(request, function: str, *args):
    return orjson.loads(await request.app.ctx.db.call(function, *args))


# -- pages -------------------------------------------------------------------

@bp.get("", name="root")
async def root(request):
    return redirect("/console/", status=308)


@bp.get("/")
async def overview(request):
    app = request.app
    now = datetime.now(timezone.utc)
    day = await _json(request, "datastorage.console_overview", now)
    holds = await _json(request, "datastorage.list_legal_holds")
    spool = app.ctx.spool.health() if getattr(app.ctx, "spool", None) else None
    return page(request, "overview.html", nav="overview", day=day,
                chart=views.hourly_chart(day["hours"]),
                categories=views.share_bars(day["by_category"]),
                outcomes=views.share_bars(day["by_outcome"]),
                holds=holds["holds"], spool=spool, log=await log_state(app))


@bp.get("/search")
async def search(request):
    form, sql = views.search_form(request.args)
    result, pager = None, None
    if form.filled and not form.errors:
        offset = views.offset_param(request.args)
        result = orjson.loads(await audit.find_events(
            request.app.ctx.db, sql["correlation_id"], sql["event_type"], sql["event_category"],
            sql["event_outcome"], sql["severity"], sql["since"], sql["until"], views.SEARCH_PAGE,
            offset))
        pager = views.Pager(offset, views.SEARCH_PAGE, len(result["data"]),
                            result["pagination"]["total"])
    return page(request, "search.html", status=400 if form.errors else 200, nav="search",
                form=form, outcomes=views.OUTCOMES, result=result, pager=pager)


async def _trail(request, cid: str, offset: int) -> dict:
    doc = await _json(request, "datastorage.console_trail", cid, offset, views.TRAIL_PAGE)
    if not doc["found"]:
        raise refuse(404, "Trail not found", f"No audit events for correlation id {cid}.")
    doc["pager"] = views.Pager(offset, views.TRAIL_PAGE, len(doc["events"]),
                               doc["chain"]["total_events"])
    doc["log"] = await log_state(request.app, [e["event_id"] for e in doc["events"]])
    return doc


@bp.get("/trail")
async def trail(request):
    cid = _text(request.args, "correlation_id")
    doc = await _trail(request, cid, views.offset_param(request.args))
    notice = NOTICES.get(request.args.get("done") or "")
    return page(request, "trail.html", nav="search", trail=doc, cid=cid, notice=notice,
                page_size=views.TRAIL_PAGE, export_limit=export.MAX_EVENTS)


@bp.get("/trail/events")
async def trail_events(request):
    """The next page of a trail as HTML rows, for console.js's "load more"."""
    cid = _text(request.args, "correlation_id")
    doc = await _trail(request, cid, views.offset_param(request.args))
    pager = doc["pager"]
    headers = {"X-Console-Last": str(pager.last), "X-Console-Total": str(pager.total)}
    if pager.next is not None:
        headers["X-Console-Next-Fragment"] = views.url("/console/trail/events",
                                                       correlation_id=cid, offset=pager.next)
        headers["X-Console-Next-Page"] = views.url("/console/trail", correlation_id=cid,
                                                   offset=pager.next)
    return fragment("trail_events.html", headers, trail=doc, cid=cid)


@bp.get("/reconstruction")
async def reconstruction_page(request):
    cid = _text(request.args, "correlation_id")
    try:
        result, problem = await reconstruction.build(request.app.ctx.db, cid), None
    except Problem as exc:
        result, problem = None, exc
    return page(request, "reconstruction.html", status=problem.status if problem else 200,
                nav="search", cid=cid, result=result, problem=problem)


@bp.get("/workflows")
async def workflows(request):
    args = request.args
    status = args.get("status") or None
    if status not in (None, *STATUSES):
        raise refuse(400, "Invalid input", "status: one of " + ", ".join(STATUSES))
    offset = views.offset_param(args)
    catalog = await _json(request, "datastorage.list_workflows", status, None, None, None, None,
                          None, WORKFLOW_PAGE, offset)
    form, body = views.workflow_search_body(args)
    results = None
    if body is not None:
        try:
            req = parse_model(SearchRequest, body)
        except Problem as exc:
            form.errors.update(exc.extensions.get("field_errors") or {"filters": exc.detail})
        else:
            # The console previews scores; unlike POST /api/v1/workflows/search
            # it records no audit event (it writes nothing).
            results = await request.app.ctx.db.call(
                "datastorage.search_workflows", orjson.dumps(body["filters"]).decode(),
                req.top_k, Decimal(str(req.min_score)), req.include_disabled, many=True)
    return page(request, "workflows.html", status=400 if form.errors else 200, nav="workflows",
                catalog=catalog, status_filter=status or "", statuses=STATUSES,
                pager=views.Pager(offset, WORKFLOW_PAGE, len(catalog["workflows"]),
                                  catalog["total"]),
                form=form, results=results, severities=views.WF_SEVERITIES,
                priorities=views.WF_PRIORITIES, bool_labels=views.WF_BOOL_LABELS,
                choice_labels=views.WF_CHOICE_LABELS)


# -- actions (POST, identity + CSRF) ------------------------------------------

def _authorised_form(request) -> tuple[dict, str]:
    """The posted form and the user, once origin, CSRF token and identity pass."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise refuse(415, "Unsupported form", "Send the form from a console page.")
    if not security.same_origin(request):
        raise refuse(403, "Forbidden", "The form was sent from another site.")
    user = user_of(request)
    form = request.form
    try:
        security.check(request.app.ctx.console_key, user, request.cookies.get(security.COOKIE),
                       form.get(security.FIELD))
    except security.CsrfError as exc:
        raise refuse(403, "Form expired", f"{exc}; reload the page and try again.") from None
    if not user:
        raise refuse(401, "Sign-in required",
                           "Exports and legal holds need an identity (X-Auth-Request-User from "
                           "the authenticating proxy).")
    return form, user


@bp.post("/trail/export")
async def trail_export(request):
    form, user = _authorised_form(request)
    cid = _text(form, "correlation_id")
    fmt = form.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise refuse(400, "Invalid input", "format: json or csv")
    req = ExportRequest(format=fmt, correlation_id=cid, redact_pii=form.get("redact_pii") == "on",
                        limit=export.MAX_EVENTS, exported_by=user)
    result = await export.run(request.app.ctx.db, request.app.ctx.signer, req,
                              timeout=export.time_budget(request.app.ctx.settings))
    await result.send(request)


@bp.post("/trail/hold")
async def trail_hold(request):
    form, user = _authorised_form(request)
    cid = _text(form, "correlation_id")
    action = form.get("action") or ""
    if action not in HOLD_ACTIONS:
        raise refuse(400, "Invalid input", "action: place or release")
    reason = _text(form, "reason", required=False)
    if not reason or form.get("confirm") != "yes":
        # First step (or a missing reason): show what will happen and ask.
        return page(request, "hold_confirm.html", status=400 if not reason else 200,
                    nav="search", cid=cid, action=action, reason=reason,
                    error=None if reason else "A reason is required.")
    # Refusals (no such trail, no hold to release) become error pages below.
    await request.app.ctx.db.call(HOLD_ACTIONS[action], cid, reason, user)
    metrics.LEGAL_HOLD_SUCCESSES.labels(operation=action).inc()
    done = "placed" if action == "place" else "released"
    return redirect(views.url("/console/trail", correlation_id=cid, done=done), status=303)


# -- errors and headers ---------------------------------------------------------

@bp.route("/<rest:path>", methods=["GET", "POST", "HEAD"])
async def not_found(request, rest: str):
    raise refuse(404, "Page not found", "There is no console page at this address.")


@bp.exception(Exception)
async def error_page(request, exc):
    if isinstance(exc, DatabaseError):
        exc = from_database_error(exc) or exc  # the API's problem table
    if isinstance(exc, Problem):
        status, title, detail = exc.status, exc.title, exc.detail
    elif isinstance(exc, DatabaseUnavailable):
        status, title, detail = 503, "Database unavailable", "The database did not answer; retry."
    elif 400 <= getattr(exc, "status_code", 500) < 500:
        status, title, detail = exc.status_code, "Bad request", str(exc) or "Bad request"
    else:
        log.error("console error on %s %s", request.method, request.path, exc_info=exc)
        status, title, detail = 500, "Something went wrong", "An unexpected error occurred."
    response = page(request, "error.html", status=status, code=status, title=title,
                    detail=detail)
    response.headers.update(security.HEADERS)
    return response


@bp.on_response
async def _headers(request, response):
    if response is not None:
        for name, value in security.HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith("/console/static/"):
            # Pages show identities and audit data: never keep them in a cache.
            response.headers.setdefault("Cache-Control", "no-store")
