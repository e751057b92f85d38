"""Workflow catalog: create, list, get, status changes, versions, label search
(spec/workflow-catalog.md). The rules live in sql/functions/200_workflow_catalog.sql
and 210_workflow_search.sql; this module validates input, calls one function and shapes the answer."""
from __future__ import annotations

import re
import time
import uuid
from decimal import Decimal

import orjson
from sanic import Blueprint

from .. import events
from ..http import json_response, path_param, query, read_json
from ..identity import effective_actor, user_of
from ..models.contract import RFC7807Problem
from ..models.workflows import (RemediationWorkflow, SearchRequest, WorkflowCreate,
                                WorkflowDisable, WorkflowListQuery, WorkflowListResponse,
                                WorkflowPatch, WorkflowSearchResponse, WorkflowVersions,
                                detected_labels_echo)
from ..openapi import doc
from ..problems import problem, validation
from ..validation import parse_model
from ..workflows import created_event, search_event, updated_event

bp = Blueprint("workflows")
TAGS = ["Workflow Catalog API"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CUSTOM_LABEL_PARAM = re.compile(r"custom_labels\[(.+)\]")
# PATCH may not touch these (DD-WORKFLOW-012); the detail text is the original's.
IMMUTABLE = ("description", "content", "labels")
IMMUTABLE_DETAIL = ("Cannot update immutable fields (description, content, labels). "
                    "Create a new version instead. See DD-WORKFLOW-012.")


def _workflow_id(raw: str) -> str:
    if _UUID.fullmatch(raw) is None:
        reason = "must be a UUID (8-4-4-4-12 hexadecimal digits)"
        raise validation(f'parameter "workflow_id" in path has an error: {reason}',
                         {"workflow_id": reason})
    return raw.lower()


def _object_body(body, *, what: str = "request body") -> dict:
    if not isinstance(body, dict):
        raise validation(f"{what} has an error: value must be an object", {"body": "must be an object"})
    return body


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


@bp.post("/api/v1/workflows")
@doc("Create a workflow version (it becomes the latest of its name)", body=WorkflowCreate,
     responses={201: RemediationWorkflow, 400: RFC7807Problem, 409: RFC7807Problem}, tags=TAGS)
async def create_workflow(request):
    settings = request.app.ctx.settings
    wf = parse_model(WorkflowCreate, _object_body(read_json(request)))
    if wf.status == "deprecated":
        # The created event's payload schema has no `deprecated`: such an
        # event would be unreadable for strict clients. Create, then PATCH.
        raise validation('request body has an error: Error at "/status": a workflow cannot be '
                         'created deprecated; create it active, then PATCH its status',
                         {"status": "cannot be created deprecated"})
    workflow_id = str(uuid.uuid4())
    created_by, claimed = effective_actor(user_of(request), wf.created_by)
    event = created_event(workflow_id, wf, max_bytes=settings.max_body_bytes, claimed_by=claimed)
    body = await request.app.ctx.db.call("datastorage.create_workflow",
                                         _dumps(wf.stored(created_by)), workflow_id,
                                         events.payload([event]))
    return json_response(body, 201)


@bp.get("/api/v1/workflows")
@doc("List workflows, newest first", query=WorkflowListQuery,
     responses={200: WorkflowListResponse, 400: RFC7807Problem}, tags=TAGS)
async def list_workflows(request):
    args = request.args
    custom: dict[str, list[str]] = {}
    for name, values in args.items():
        m = _CUSTOM_LABEL_PARAM.fullmatch(name)
        if m:
            wanted = [v for v in values[0].split(",") if v]
            if wanted:
                custom[m.group(1)] = wanted
    q = query(request, WorkflowListQuery, blank_is_absent=True)
    body = await request.app.ctx.db.call(
        "datastorage.list_workflows", q["status"], q["environment"], q["priority"],
        q["component"], q["workflow_name"], _dumps(custom) if custom else None,
        q["limit"], q["offset"])
    return json_response(body)


@bp.get("/api/v1/workflows/<workflow_id>")
@doc("Get one workflow version", responses={200: RemediationWorkflow, 400: RFC7807Problem,
                                           404: RFC7807Problem}, tags=TAGS)
async def get_workflow(request, workflow_id: str):
    return json_response(await request.app.ctx.db.call("datastorage.get_workflow",
                                                       _workflow_id(workflow_id)))


@bp.patch("/api/v1/workflows/<workflow_id>")
@doc("Update a workflow's mutable fields (status)", body=WorkflowPatch,
     responses={200: RemediationWorkflow, 400: RFC7807Problem, 404: RFC7807Problem}, tags=TAGS)
async def update_workflow(request, workflow_id: str):
    settings = request.app.ctx.settings
    wid = _workflow_id(workflow_id)
    raw = _object_body(read_json(request))
    patch = parse_model(WorkflowPatch, raw)
    if any(raw.get(k) is not None for k in IMMUTABLE):
        raise problem("immutable-field-violation", IMMUTABLE_DETAIL)
    user = user_of(request)
    by = reason = claimed = None
    fields: dict[str, str] = {}
    if patch.status == "disabled":
        by, claimed = effective_actor(user, patch.disabled_by)
        by = by or ""
        reason = patch.disabled_reason or ""
        fields = {"status": "disabled", "disabled_by": by, "disabled_reason": reason}
        fields = {k: v for k, v in fields.items() if v}
    elif patch.status is not None:
        fields = {"status": patch.status}
    event = updated_event(wid, fields, max_bytes=settings.max_body_bytes, claimed_by=claimed)
    body = await request.app.ctx.db.call("datastorage.set_workflow_status", wid, patch.status,
                                         by, reason, user, events.payload([event]))
    return json_response(body)


@bp.patch("/api/v1/workflows/<workflow_id>/disable")
@doc("Disable a workflow version (body optional)", body=WorkflowDisable,
     responses={200: RemediationWorkflow, 400: RFC7807Problem, 404: RFC7807Problem}, tags=TAGS)
async def disable_workflow(request, workflow_id: str):
    settings = request.app.ctx.settings
    wid = _workflow_id(workflow_id)
    # The body is optional (the original required one): no body means {}.
    raw = read_json(request) if request.body else {}
    req = parse_model(WorkflowDisable, _object_body(raw))
    user = user_of(request)
    by, claimed = effective_actor(user, req.updated_by)
    by = by or ""
    reason = req.reason or ""
    event = updated_event(wid, {"status": "disabled", "disabled_by": by, "disabled_reason": reason},
                          max_bytes=settings.max_body_bytes, claimed_by=claimed)
    body = await request.app.ctx.db.call("datastorage.set_workflow_status", wid, "disabled",
                                         by, reason, user, events.payload([event]))
    return json_response(body)


@bp.get("/api/v1/workflows/by-name/<workflow_name>/versions")
@doc("Every version of one workflow name, newest first",
     responses={200: WorkflowVersions, 400: RFC7807Problem}, tags=TAGS)
async def workflow_versions(request, workflow_name: str):
    name = path_param("workflow_name", workflow_name)
    return json_response(await request.app.ctx.db.call("datastorage.workflow_versions", name))


@bp.post("/api/v1/workflows/search")
@doc("Label-based workflow search with weighted scoring", body=SearchRequest,
     responses={200: WorkflowSearchResponse, 400: RFC7807Problem}, tags=TAGS)
async def search_workflows(request):
    app = request.app
    raw = _object_body(read_json(request))
    req = parse_model(SearchRequest, raw)
    started = time.perf_counter()
    # One row: both result arrays already rendered as JSON text by SQL.
    found = await app.ctx.db.call("datastorage.search_workflows_rendered",
                                  _dumps(raw["filters"]), req.top_k, Decimal(str(req.min_score)),
                                  req.include_disabled)
    searched = time.perf_counter()
    response = {"workflows": orjson.Fragment(found["workflows"]),
                "total_results": found["total_matches"], "filters": _filters_echo(req.filters)}
    auditing = time.perf_counter()
    event = search_event(req, found, int((searched - started) * 1000),
                         max_bytes=app.ctx.settings.max_body_bytes)
    # Queued for the group-commit writer; waits only when its backlog is full.
    await app.ctx.workflow_audit.submit(event)
    done = time.perf_counter()
    # search: the SQL call; audit: building and queueing the audit event.
    timing = f"search;dur={(searched - started) * 1000:.3f}, audit;dur={(done - auditing) * 1000:.3f}"
    return json_response(response, headers={"Server-Timing": timing})


def _filters_echo(f) -> dict:
    echo = {"signal_type": f.signal_type, "severity": f.severity, "component": f.component,
            "environment": f.environment, "priority": f.priority,
            "detected_labels": detected_labels_echo(f.detected_labels)}
    custom = f.custom_labels.model_dump() if f.custom_labels is not None else {}
    if custom:
        echo["custom_labels"] = custom
    if f.status:
        echo["status"] = f.status
    if f.workflow_name:
        echo["workflow_name"] = f.workflow_name
    return echo
