"""The service's own OpenAPI document, generated from routes and models.

A handler declares what it takes and returns with `@doc(...)`; the document
is assembled from the router, so it cannot drift from what is served.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

REF = "#/components/schemas/{model}"


def doc(summary: str, *, body: Any = None, responses: dict[int, Any] | None = None,
        query: type[BaseModel] | None = None, tags: list[str] | None = None):
    def wrap(handler):
        handler.__openapi__ = {"summary": summary, "body": body, "responses": responses or {},
                               "query": query, "tags": tags or []}
        return handler
    return wrap


def _schema(model: Any, components: dict) -> dict:
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    schema = adapter.json_schema(ref_template=REF, mode="serialization")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    if isinstance(model, type) and issubclass(model, BaseModel):
        components.setdefault(model.__name__, schema)
        return {"$ref": REF.format(model=model.__name__)}
    return schema


def build(app, title: str, version: str) -> dict:
    paths: dict[str, dict] = {}
    components: dict[str, dict] = {}
    for route in app.router.routes:
        meta = getattr(route.handler, "__openapi__", None)
        if meta is None:
            continue
        path = _openapi_path(route)
        for method in sorted(route.methods):
            if method in ("HEAD", "OPTIONS"):
                continue
            op: dict[str, Any] = {"summary": meta["summary"], "tags": meta["tags"],
                                  "responses": {}}
            params = [{"name": p.name, "in": "path", "required": True,
                       "schema": {"type": "string"}} for p in route.params.values()]
            if meta["query"] is not None:
                qs = meta["query"].model_json_schema(ref_template=REF)
                for name, prop in qs.get("properties", {}).items():
                    params.append({"name": name, "in": "query",
                                   "required": name in qs.get("required", []), "schema": prop})
            if params:
                op["parameters"] = params
            if meta["body"] is not None:
                op["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": _schema(meta["body"], components)}}}
            for status, model in meta["responses"].items():
                entry: dict[str, Any] = {"description": str(status)}
                if model is not None:
                    ctype = "application/problem+json" if status >= 400 else "application/json"
                    entry["content"] = {ctype: {"schema": _schema(model, components)}}
                op["responses"][str(status)] = entry
            paths.setdefault(path, {})[method.lower()] = op
    return {"openapi": "3.0.3", "info": {"title": title, "version": version},
            "paths": dict(sorted(paths.items())), "components": {"schemas": components}}


def _openapi_path(route) -> str:
    parts = []
    for seg in route.path.split("/"):
        if seg.startswith("<") and seg.endswith(">"):
            seg = "{" + seg[1:-1].split(":")[0] + "}"
        parts.append(seg)
    return "/" + "/".join(parts).lstrip("/")
