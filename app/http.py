"""Request parsing and response helpers shared by every route."""
from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from sanic.response import HTTPResponse

from . import metrics
from .problems import Problem, validation

JSON = "application/json"
M = TypeVar("M")


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
