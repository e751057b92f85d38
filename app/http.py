"""The HTTP layer's helpers shared by every route: decoding bodies and query
parameters (with the checks of app/validation.py), rendering answers and
problems."""
from __future__ import annotations

import re
from typing import Any, Literal, get_args, get_origin
from urllib.parse import unquote

import orjson
from sanic.response import HTTPResponse

from .problems import CONTENT_TYPE, Problem, validation
from .validation import check_json, count, int_param, needed_checks

JSON = "application/json"


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> HTTPResponse:
    """`body` may be an object, or JSON text already built by SQL."""
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    return HTTPResponse(data, status=status, headers=headers, content_type=JSON)


def render(problem: Problem, path: str, headers: dict | None = None) -> HTTPResponse:
    return HTTPResponse(orjson.dumps(problem.body(path)), status=problem.status,
                        headers=headers, content_type=CONTENT_TYPE)


def read_json(request, *, required: bool = True, nesting: bool = True) -> Any:
    """Decode the body as JSON; wrong media type, bad syntax, NUL characters
    and absurd nesting are 400 problems. nesting=False leaves the nesting
    limit to the caller (check_json(value, strings=False) before anything
    else judges the value), unless a NUL check walks the value anyway."""
    body = request.body
    if not body:
        if not required:
            return None
        count("body", "missing")
        raise validation("request body has an error: value is required but missing")
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != JSON and not ctype.endswith("+json"):
        count("body", "content_type")
        raise Problem(415 if ctype else 400, "validation-error",
                      f'header Content-Type has unexpected value: "{ctype}"')
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        count("body", "invalid_json")
        raise validation(f"request body has an error: malformed JSON: {exc}") from None
    nul, deep = needed_checks(body, nesting)
    if nul or deep:
        check_json(value, strings=nul)
    return value


def param_error(name: str, reason: str, where: str = "query") -> Problem:
    count("openapi_middleware", "validation_error")
    return validation(f'parameter "{name}" in {where} has an error: {reason}', {name: reason})


def query_int(args, name: str, default: int, lo: int, hi: int | None) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    value, reason = int_param(raw, lo, hi)
    if reason:
        raise param_error(name, reason)
    return value


def path_param(name: str, raw: str) -> str:
    """A path segment as the client meant it: Sanic's router hands it over
    still percent-encoded (`rr%20a` for the id `rr a`)."""
    try:
        value = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        value = None
    if value is None or "\x00" in value:
        reason = "must be percent-encoded UTF-8 without NUL characters"
        raise validation(f'parameter "{name}" in path has an error: {reason}', {name: reason})
    return value


def check_query(request) -> None:
    """Every route: no NUL in a query parameter's name or value (PostgreSQL
    cannot hold one). Runs before the handler, so before any identity check."""
    if "%00" not in request.query_string and "\x00" not in request.query_string:
        return
    for name, values in request.get_args(keep_blank_values=True).items():
        if "\x00" in name or any("\x00" in v for v in values):
            raise param_error(name.replace("\x00", ""), "NUL character not allowed")


# --- query parameters, through the model that documents them ---------------

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _allowed(field) -> list[str] | None:
    if get_origin(field.annotation) is Literal:
        return list(get_args(field.annotation))
    args = [a for a in get_args(field.annotation) if get_origin(a) is Literal]
    if args:
        return list(get_args(args[0]))
    extra = field.json_schema_extra or {}
    return list(extra["enum"]) if "enum" in extra else None


def _bounds(field) -> tuple[int, int | None]:
    lo, hi = -(2**63), None
    for m in field.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    return lo, hi


def _one(field, raw: str):
    """(value, None) or (None, the contract validator's reason) for one value."""
    allowed = _allowed(field)
    if allowed is not None and raw not in allowed:
        return None, f"value is not one of the allowed values [{' '.join(allowed)}]"
    if field.annotation is bool:
        if raw in _TRUE or raw in _FALSE:
            return raw in _TRUE, None
        return None, f"value {raw}: an invalid boolean: invalid syntax"
    if field.annotation is int:
        return int_param(raw, *_bounds(field))
    if (field.json_schema_extra or {}).get("format") == "date-time" and not _DATE_TIME.match(raw):
        return None, 'string doesn\'t match the format "date-time"'
    return raw, None


def parse_query(request, model, *, blank_is_absent: bool = False) -> tuple[dict, dict[str, str]]:
    """The query parameters `model` documents (its fields, in their order):
    typed values and the validator-style reasons, all of them at once. An
    absent parameter takes the field's default; an empty one too when the
    field has a default other than None (or with blank_is_absent), else it
    is refused."""
    args = request.get_args(keep_blank_values=True)
    values: dict = {}
    errors: dict[str, str] = {}
    for name, field in model.model_fields.items():
        raw = args.get(name)
        if raw is None or raw == "" and (blank_is_absent or field.default is not None):
            values[name] = field.default
        elif raw == "":
            errors[name] = "empty value is not allowed"
        else:
            values[name], reason = _one(field, raw)
            if reason:
                errors[name] = reason
    return values, errors


def query(request, model, **kw) -> dict:
    """parse_query, refusing the first bad parameter as a 400 problem."""
    values, errors = parse_query(request, model, **kw)
    if errors:
        name, reason = next(iter(errors.items()))
        raise param_error(name, reason)
    return values
