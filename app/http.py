"""The HTTP layer's helpers shared by every route: decoding bodies and query
parameters (with the checks of app/validation.py), rendering answers and
problems."""
from __future__ import annotations

from typing import Any

import orjson
from sanic.response import HTTPResponse

from .problems import CONTENT_TYPE, Problem, validation
from .validation import check_json, count, int_param, may_need_check

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


def read_json(request, *, required: bool = True) -> Any:
    """Decode the body as JSON; wrong media type, bad syntax, NUL characters
    and absurd nesting are 400 problems."""
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
    if may_need_check(body):
        check_json(value)
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


def check_query(request) -> None:
    """Every route: no NUL in a query parameter's name or value (PostgreSQL
    cannot hold one). Runs before the handler, so before any identity check."""
    if "%00" not in request.query_string and "\x00" not in request.query_string:
        return
    for name, values in request.get_args(keep_blank_values=True).items():
        if "\x00" in name or any("\x00" in v for v in values):
            raise param_error(name.replace("\x00", ""), "NUL character not allowed")
