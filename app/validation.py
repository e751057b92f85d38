"""Input checks shared by the HTTP layer and the domain modules (events,
workflows): pydantic errors as field errors, and the limits every client
value obeys whatever route it arrives on. No HTTP here: failures are
`Problem`s, which the HTTP layer renders.

The limits exist because PostgreSQL, asyncpg or pydantic would otherwise
fail on them with an internal error instead of a clear 400:
  * JSON nested deeper than MAX_JSON_DEPTH (pydantic and recursive walks
    give up somewhere in the hundreds);
  * NUL (U+0000) in any string: PostgreSQL text and jsonb cannot hold it;
  * integers with more than MAX_INT_DIGITS digits (`int()` refuses 4,300+,
    and no column holds 20);
  * date-times whose UTC equivalent leaves years 1-9999 (app/timeutil.py).
"""
from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from . import metrics
from .problems import validation

M = TypeVar("M")
MAX_JSON_DEPTH = 100
MAX_INT_DIGITS = 19
NUL = "\x00"
# Decimal only: the original's validator also took `0x10` and `1_000`, its
# handlers did not.
_INT = re.compile(r"^[+-]?\d+$")


def count(field: str, reason: str) -> None:
    metrics.VALIDATION_FAILURES.labels(field=field, reason=reason).inc()


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
        count("openapi_middleware", "validation_error")
        detail = f"{what} has an error: " + " | ".join(
            f'Error at "/{f.replace(".", "/")}": {m}' for f, m in errors.items())
        raise validation(detail, errors) from None


def check_json(value: Any, *, what: str = "request body", strings: bool = True) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH or holding a NUL in
    any key or string. Iterative, so the check itself cannot recurse too deep.
    strings=False checks the nesting alone (the caller knows that no string
    can hold a NUL)."""
    if not strings:
        _check_depth(value, what)
        return
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                count("body", "nul_character")
                raise validation(f"{what} has an error: strings must not contain NUL (\\u0000)",
                                 {"body": "NUL character not allowed"})
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(what)
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        else:
            stack.extend((v, depth + 1) for v in item)


def _check_depth(value: Any, what: str) -> None:
    """The nesting check alone, one level of containers at a time: it visits
    no strings and builds no tuples (a 500-event batch has some 2,000
    containers to look at)."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 1
    while level:
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(what)
        below: list = []
        for item in level:
            below += [v for v in (item.values() if type(item) is dict else item)
                      if type(v) is dict or type(v) is list]
        level = below
        depth += 1


def _too_deep(what: str) -> Exception:
    count("body", "too_deep")
    return validation(f"{what} has an error: JSON nested deeper than {MAX_JSON_DEPTH} levels",
                      {"body": "nested too deep"})


def needed_checks(raw: bytes, nesting: bool = True) -> tuple[bool, bool]:
    """Cheap pre-test on the raw body: (may hold a NUL, may nest too deep).
    JSON text cannot carry a raw NUL, only the escape `\\u0000`; nesting
    deeper than MAX_JSON_DEPTH needs at least that many brackets (not
    counted when the caller checks the nesting itself)."""
    return (_may_hold_nul(raw),
            nesting and raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH)


def _may_hold_nul(raw: bytes) -> bool:
    """`b"\\u0000" in raw`, faster where backslashes are few (most bodies):
    a one-byte find (memchr) jumps from one to the next, where the substring
    search walks every byte (0.25 ms for a 400 KB batch)."""
    i = raw.find(b"\\")
    for _ in range(32):
        if i < 0:
            return False
        if raw.startswith(b"u0000", i + 1):
            return True
        i = raw.find(b"\\", i + 1)
    return raw.find(b"\\u0000", i) >= 0   # many escapes: one search for the rest


def int_param(raw: str, lo: int, hi: int | None) -> tuple[int | None, str | None]:
    """(value, None) or (None, reason) for one integer query parameter."""
    if not _INT.match(raw):
        return None, f"value {raw}: an invalid integer: invalid syntax"
    digits = raw.lstrip("+-").lstrip("0")
    if len(digits) > MAX_INT_DIGITS:   # too long for int() to be sensible
        return None, (f"number must be at least {lo}" if raw.startswith("-")
                      else f"number must be at most {hi if hi is not None else 2**63 - 1}")
    value = int(raw)
    if value < lo:
        return None, f"number must be at least {lo}"
    if hi is not None and value > hi:
        return None, f"number must be at most {hi}"
    return value, None
