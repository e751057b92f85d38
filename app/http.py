"""Request parsing and response helpers shared by every route."""
from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import unquote

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from sanic.response import HTTPResponse

from . import metrics
from .problems import Problem, validation

JSON = "application/json"
M = TypeVar("M")
# Decimal only: the original's validator also took `0x10` and `1_000`, its
# handlers did not.
_INT = re.compile(r"^[+-]?\d+$")


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> HTTPResponse:
    """`body` may be an object, or JSON text already built by SQL."""
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    return HTTPResponse(data, status=status, headers=headers, content_type=JSON)


def read_json(request, *, required: bool = True) -> Any:
    """Decode the body as JSON; wrong media type and bad syntax are 400 problems."""
    body = request.body
    if not body:
        if not required:
            return None
        _count("body", "missing")
        raise validation("request body has an error: value is required but missing")
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype != JSON and not ctype.endswith("+json"):
        _count("body", "content_type")
        raise Problem(415 if ctype else 400, "validation-error",
                      f'header Content-Type has unexpected value: "{ctype}"',
                      title="Validation Error")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        _count("body", "invalid_json")
        raise validation(f"request body has an error: malformed JSON: {exc}") from None


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    errors: dict[str, str] = {}
    for e in exc.errors(include_url=False):
        loc = prefix + ".".join(str(p) for p in e["loc"]) if e["loc"] else (prefix.rstrip(".") or "body")
        errors.setdefault(loc, _message(e))
    return errors


def _message(e: dict) -> str:
    kind = e["type"]
    ctx = e.get("ctx") or {}
    if kind == "missing":
        return f'property "{e["loc"][-1]}" is missing' if e["loc"] else "value is required"
    if kind == "string_too_long":
        return f"maximum string length is {ctx.get('max_length')}"
    if kind == "string_too_short":
        return f"minimum string length is {ctx.get('min_length')}"
    if kind in ("literal_error", "enum"):
        allowed = str(ctx.get("expected", "")).replace("'", "").replace(" or ", " ").replace(",", "")
        return f"value is not one of the allowed values [{allowed}]"
    return e["msg"]


def parse_model(model: type[M] | TypeAdapter, data: Any, *, what: str = "request body",
                prefix: str = "") -> M:
    """Validate decoded JSON against a model; failures become one 400 problem
    listing every field, with the failing field names in `detail` too."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)  # type: ignore[union-attr]
    except ValidationError as exc:
        errors = field_errors(exc, prefix)
        _count("openapi_middleware", "validation_error")
        detail = f"{what} has an error: " + " | ".join(
            f'Error at "/{f.replace(".", "/")}": {m}' for f, m in errors.items())
        raise validation(detail, errors) from None


def _count(field: str, reason: str) -> None:
    metrics.VALIDATION_FAILURES.labels(field=field, reason=reason).inc()


def dump(model: BaseModel) -> dict:
    return model.model_dump(mode="json", exclude_none=True)


def int_param(raw: str, lo: int, hi: int | None) -> tuple[int | None, str | None]:
    """(value, None) or (None, reason) for one integer query parameter."""
    if not _INT.match(raw):
        return None, f"value {raw}: an invalid integer: invalid syntax"
    value = int(raw)
    if value < lo:
        return None, f"number must be at least {lo}"
    if hi is not None and value > hi:
        return None, f"number must be at most {hi}"
    return value, None


def param_error(name: str, reason: str) -> Problem:
    _count("openapi_middleware", "validation_error")
    return validation(f'parameter "{name}" in query has an error: {reason}', {name: reason})


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


def has_nul(value: Any) -> bool:
    """JSON can carry NUL (\\u0000) but PostgreSQL text and jsonb cannot."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False
