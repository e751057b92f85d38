"""Our canonical event forms and hash chain digest, in Python.

Byte for byte what `datastorage.canonical_event()` / `datastorage.link_hash()`
compute in SQL (docs/hash-chain.md is the specification; the property tests
in tests/db/test_canonical_property.py hold the two to the same bytes):

    event_hash = hex(sha256(previous_event_hash || canonical_event(row)))

Two versions of the canonical text exist; each stored event names its own
(`hash_version`, 1 when an export does not say): version 1 is the jsonb text
of an object of the 30 members, version 2 three lines (the scalar members as
a JSON array of strings, event_data, event_metadata).

`render()` writes a JSON value the way PostgreSQL prints jsonb: object members
sorted by key (UTF-8 byte length first, then bytes), ", " and ": " as
separators, strings escaped like PostgreSQL's escape_json(), numbers as their
exact decimal text. Numbers must therefore reach it as `int` or `Decimal`
(parse JSON with `loads_exact`), never through a binary float.

Used by the offline verifier (app/verifier.py), the export's PII redaction
(re-rendering a redacted event_data) and the tests.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from json.encoder import encode_basestring as _encode_basestring
from typing import Any, Mapping

# The 30 members of the canonical object, in the order PostgreSQL sorts
# them (by UTF-8 length, then bytes). `render()` sorts by itself; the tuple
# documents the set and is used to pick the members out of an exported event.
CANONICAL_FIELDS = (
    "span_id", "version", "actor_id", "actor_ip", "event_id", "severity", "trace_id",
    "chain_seq", "namespace", "actor_type", "error_code", "event_data", "event_date",
    "event_type", "duration_ms", "resource_id", "cluster_name", "event_action",
    "is_sensitive", "error_message", "event_outcome", "resource_name", "resource_type",
    "correlation_id", "event_category", "event_metadata", "retention_days",
    "event_timestamp", "parent_event_id", "parent_event_date",
)
_UUID_FIELDS = ("event_id", "parent_event_id")
_DATE_FIELDS = ("event_date", "parent_event_date")
_INT_FIELDS = ("chain_seq", "duration_ms", "retention_days")
_JSON_FIELDS = ("event_data", "event_metadata")

_CANONICAL_TS = re.compile(r"^\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                      r"([Zz]|[+-]\d{2}:\d{2})$")
# Python refuses to convert longer digit strings to int (CVE-2020-10735);
# PostgreSQL accepts them, so such integers stay Decimals.
_MAX_INT_DIGITS = 4000


class CanonicalError(ValueError):
    """A value that has no canonical rendering (NaN, a float, a bad timestamp...)."""


def quote(s: str) -> str:
    r"""A JSON string as PostgreSQL's escape_json() writes it: \" \\ \b \f \n \r \t,
    other characters below U+0020 as \u00xx (lowercase hex), everything else
    literally -- which is exactly what json.encoder.encode_basestring does."""
    return _encode_basestring(s)


def number(v: int | Decimal | float) -> str:
    """PostgreSQL numeric output: exact decimal text, no exponent, no -0."""
    if isinstance(v, bool):
        raise CanonicalError("a boolean is not a number")
    if isinstance(v, int):
        return str(v) if abs(v).bit_length() < 13000 else format(Decimal(v), "f")
    if isinstance(v, float):
        # Only for callers holding Python floats: the shortest repr is the
        # text a JSON encoder would have sent. Exported data never gets here.
        v = Decimal(repr(v))
    if not isinstance(v, Decimal):
        raise CanonicalError(f"not a number: {type(v).__name__}")
    if not v.is_finite():
        raise CanonicalError(f"{v} is not a JSON number")
    if v.is_zero():
        v = v.copy_abs()
    return format(v, "f")


@lru_cache(maxsize=65536)
def _key(k: str) -> tuple[int, bytes]:
    b = k.encode("utf-8")
    return len(b), b


def _render_object(v: Mapping) -> str:
    for k in v:
        if type(k) is not str:
            raise CanonicalError(f"object key is not a string: {k!r}")
    return "{" + ", ".join(_encode_basestring(k) + ": " + render(v[k])
                           for k in sorted(v, key=_key)) + "}"


def _render_array(v) -> str:
    return "[" + ", ".join([render(x) for x in v]) + "]"


_RENDERERS = {str: _encode_basestring, int: number, Decimal: number, float: number,
              dict: _render_object, list: _render_array, tuple: _render_array}
_LITERALS = {None: "null", True: "true", False: "false"}


def render(v: Any) -> str:
    """A JSON value as jsonb's text output prints it."""
    fn = _RENDERERS.get(type(v))
    if fn is not None:
        return fn(v)
    if v is None or v is True or v is False:
        return _LITERALS[v]
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, (int, Decimal, float)):
        return number(v)
    if isinstance(v, Mapping):
        return _render_object(v)
    if isinstance(v, (list, tuple)):
        return _render_array(v)
    raise CanonicalError(f"not a JSON value: {type(v).__name__}")


def _reject_constant(name: str):
    raise CanonicalError(f"{name} is not a JSON number")


def _parse_int(text: str) -> int | Decimal:
    return Decimal(text) if len(text) > _MAX_INT_DIGITS else int(text)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise CanonicalError(f"duplicate object member {dup!r}")
    return obj


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON keeping every number exact (int or Decimal), refusing
    NaN/Infinity and duplicate member names (PostgreSQL never prints either;
    a file that has them was not written by the service)."""
    return json.loads(text, parse_float=Decimal, parse_int=_parse_int,
                      parse_constant=_reject_constant, object_pairs_hook=_unique_members)


def timestamp_text(v: str | datetime) -> str:
    """An instant as the canonical form writes it: UTC, six fractional digits.

    Exported values already have that shape and pass through unchanged;
    other RFC 3339 texts (up to six fractional digits: the stored precision)
    and aware datetimes are converted."""
    if isinstance(v, str):
        if _CANONICAL_TS.match(v):
            return v
        m = _RFC3339.match(v)
        if not m or len(m.group(7) or "") > 7:
            raise CanonicalError(f"not an RFC 3339 timestamp with a zone and at most six "
                                 f"fractional digits: {v!r}")
        y, mo, d, h, mi, s, frac, zone = m.groups()
        micros = (frac or ".")[1:].ljust(6, "0")
        offset = "+00:00" if zone in ("Z", "z") else zone
        try:
            v = datetime.fromisoformat(f"{y}-{mo}-{d}T{h}:{mi}:{s}.{micros}{offset}")
        except ValueError as exc:
            raise CanonicalError(f"not a valid timestamp: {v!r} ({exc})") from None
    if not isinstance(v, datetime) or v.tzinfo is None:
        raise CanonicalError(f"timestamp without a time zone: {v!r}")
    u = v.astimezone(timezone.utc)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
            f"{u.second:02d}.{u.microsecond:06d}Z")


def _date_text(v: str | date) -> str:
    if isinstance(v, datetime):
        raise CanonicalError(f"expected a date, got a timestamp: {v!r}")
    if isinstance(v, date):
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
    return v


def _uuid_text(v: str | uuid.UUID) -> str:
    try:
        return str(v if isinstance(v, uuid.UUID) else uuid.UUID(v))
    except (ValueError, TypeError, AttributeError):
        raise CanonicalError(f"not a UUID: {v!r}") from None


def _int_value(name: str, v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, Decimal) and v.is_finite() and v.as_tuple().exponent >= 0:
        return v                          # an integer too long for int()
    raise CanonicalError(f"{name} must be an integer, got {v!r}")


def canonical_members(event: Mapping[str, Any]) -> dict[str, Any]:
    """The 30 canonical members of an event, normalised to canonical values.

    `event` may be an exported event (extra members are ignored) or raw
    values (datetimes, dates, UUIDs, ints/Decimals). A missing member is an
    error: an exported event always carries all of them, null included."""
    missing = [k for k in CANONICAL_FIELDS if k not in event]
    if missing:
        raise CanonicalError("missing member(s): " + ", ".join(missing))
    out: dict[str, Any] = {}
    for k in CANONICAL_FIELDS:
        v = event[k]
        if v is None or k in _JSON_FIELDS:
            out[k] = v
        elif k == "event_timestamp":
            out[k] = timestamp_text(v)
        elif k in _DATE_FIELDS:
            out[k] = _date_text(v)
        elif k in _UUID_FIELDS:
            out[k] = _uuid_text(v)
        elif k in _INT_FIELDS:
            out[k] = _int_value(k, v)
        elif k == "is_sensitive":
            if not isinstance(v, bool):
                raise CanonicalError(f"is_sensitive must be a boolean, got {v!r}")
            out[k] = v
        else:
            if not isinstance(v, str):
                raise CanonicalError(f"{k} must be a string, got {v!r}")
            out[k] = v
    return out


_MEMBER_PREFIXES = [(k, ("{" if i == 0 else ", ") + _encode_basestring(k) + ": ")
                    for i, k in enumerate(CANONICAL_FIELDS)]
assert [k for k, _ in _MEMBER_PREFIXES] == sorted(CANONICAL_FIELDS, key=_key)


# Version 2's first line: these members as strings, after the version "2".
V2_SCALARS = tuple(k for k in CANONICAL_FIELDS if k not in _JSON_FIELDS)
HASH_VERSIONS = (1, 2)


def _scalar_text(v: Any) -> str | None:
    """A normalised scalar member as version 2 writes it (PostgreSQL's text
    of the column: integers in decimal, booleans true/false)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return number(v)


def _canonical_v1(members: dict[str, Any]) -> str:
    return "".join([prefix + render(members[k]) for k, prefix in _MEMBER_PREFIXES]) + "}"


def _canonical_v2(members: dict[str, Any]) -> str:
    line = ",".join(["\"2\""] + ["null" if t is None else _encode_basestring(t)
                                   for t in map(_scalar_text, (members[k] for k in V2_SCALARS))])
    return "[" + line + "]\n" + render(members["event_data"]) + "\n" + render(members["event_metadata"])


def hash_version(event: Mapping[str, Any]) -> int:
    """The version an exported event's hash covers (1 when it does not say)."""
    v = event.get("hash_version", 1)
    if type(v) is not int or v not in HASH_VERSIONS:
        raise CanonicalError(f"unknown hash_version {v!r} (this verifier knows {HASH_VERSIONS})")
    return v


def canonical_event(event: Mapping[str, Any], version: int = 1) -> str:
    """The canonical text of an event in the given version (what the SQL
    function returns for a row of that hash_version)."""
    members = canonical_members(event)
    if version == 2:
        return _canonical_v2(members)
    if version == 1:
        return _canonical_v1(members)
    raise CanonicalError(f"unknown hash_version {version!r}")


def link_hash(previous_hash: str, canonical: str) -> str:
    try:
        data = (previous_hash + canonical).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalError(f"text is not valid Unicode ({exc.reason})") from None
    return hashlib.sha256(data).hexdigest()


def event_hash(previous_hash: str, event: Mapping[str, Any], version: int | None = None) -> str:
    """The hash of an event; its version is the event's own `hash_version`
    unless given."""
    return link_hash(previous_hash, canonical_event(
        event, hash_version(event) if version is None else version))
