"""Turning a client's audit event into the row the SQL append function stores.

Everything the hash covers is fixed here, before the first write attempt:
the event id, server defaults, the timestamp at microsecond precision. A
spooled event therefore replays to exactly what the client was told.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from itertools import repeat
from operator import add
from typing import Any

import orjson
from pydantic import ValidationError

from . import metrics
from .validation import MAX_JSON_DEPTH, check_json, field_errors, parse_model
from .models.audit import RETENTION_DAYS_DEFAULT, AuditEventEnvelope, validate_one_pass
from .models.contract import validate_event_data
from .problems import Problem, problem, validation
from .timeutil import TimeFormatError, go_duration, parse_utc_micro, parse_utc_micro_many

MAX_FUTURE = timedelta(minutes=60)
MAX_AGE = timedelta(days=7)
ENVELOPE_MEMBERS = frozenset(AuditEventEnvelope.model_fields)


# Byte maps setting a UUID's version (4) and variant (RFC 4122) bits.
_VERSION_4 = bytes(x & 0x0F | 0x40 for x in range(256))
_RFC_4122_VARIANT = bytes(x & 0x3F | 0x80 for x in range(256))


class Prepared:
    __slots__ = ("row", "timestamp", "category")

    def __init__(self, row: dict, timestamp: datetime, category: str):
        self.row = row
        self.timestamp = timestamp
        self.category = category


def new_event_ids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs as text, what str(uuid.uuid4()) gives,
    from one read of the random source: the system call, not the
    formatting, is most of an id's cost, and a batch pays it once. The
    version and variant bits are set for every id at once (bytes.translate
    over an extended slice)."""
    b = bytearray(os.urandom(16 * n))
    b[6::16] = b[6::16].translate(_VERSION_4)
    b[8::16] = b[8::16].translate(_RFC_4122_VARIANT)
    if n < _COLUMNS_FROM:
        h = b.hex()
        return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-"
                f"{h[i + 20:i + 32]}" for i in range(0, 32 * n, 32)]
    # Many ids: each of the 32 hex digits placed for all ids by one extended
    # slice, into 37-character records (the id and a space) that one split
    # cuts apart: a few C calls for the batch instead of a format per id.
    h = b.hex().encode()
    out = bytearray(b"-" * 36 + b" ") * n
    for digit, pos in enumerate(_HEX_POSITIONS):
        out[pos::37] = h[digit::32]
    return out.decode().split()


# Where an id's 32 hex digits go among its 36 characters (dashes between).
_HEX_POSITIONS = [p for p in range(36) if p not in (8, 13, 18, 23)]
# From this many ids on, the column-wise formatting is the cheaper one.
_COLUMNS_FROM = 32


def new_event_id() -> str:
    return new_event_ids(1)[0]


def _invalid_request(detail: str) -> Problem:
    metrics.VALIDATION_FAILURES.labels(field="body", reason="invalid_json").inc()
    return problem("invalid_request", detail)


def validate_two_passes(data: Any, prefix: str = "") -> tuple[AuditEventEnvelope, dict]:
    """The envelope, then the payload its event_type selects: the order that
    decides which problem an invalid event gets. Valid events skip this
    (validate_one_pass gives the same result in one call)."""
    env = parse_model(AuditEventEnvelope, data, prefix=prefix)
    try:
        return env, validate_event_data(env.event_data)
    except ValidationError as exc:
        errors = field_errors(exc, prefix)
        metrics.VALIDATION_FAILURES.labels(field="openapi_middleware",
                                           reason="validation_error").inc()
        raise validation("request body has an error: " + " | ".join(
            f'Error at "/{f.replace(".", "/")}": {m}' for f, m in errors.items()), errors) from None


def check_bounds(ts: datetime, now: datetime) -> str | None:
    """The original's acceptance window: now - 7 days .. now + 60 minutes."""
    if ts > now + MAX_FUTURE:
        return (f"invalid timestamp: timestamp is in the future (server time: "
                f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')}, event time: {ts.isoformat()})")
    if ts < now - MAX_AGE:
        return (f"invalid timestamp: timestamp is too old (must be within 7 days, age: "
                f"{go_duration(now - ts)})")
    return None


def prepare(data: Any, *, max_event_data_bytes: int, prefix: str = "",
            now: datetime | None = None, check_window: bool = True,
            event_id: str | None = None) -> Prepared:
    """Validate one event and build its row; raises Problem on bad input.

    `prefix` locates the event inside a batch (`3.`) in field errors;
    `event_id`, one of new_event_ids(), saves a batch an id per event."""
    valid = validate_one_pass(data)
    env, event_data = valid if valid is not None else validate_two_passes(data, prefix)
    check_event_data_size(event_data, max_event_data_bytes)
    try:
        ts, ts_text = parse_utc_micro(env.event_timestamp)
    except TimeFormatError as exc:
        raise _invalid_request(f"{prefix}event_timestamp: {exc}") from None
    parent = None
    if env.parent_event_id is not None:
        try:
            parent = str(uuid.UUID(env.parent_event_id))
        except ValueError:
            raise _invalid_request(
                f"{prefix}parent_event_id: invalid UUID {env.parent_event_id!r}") from None
    if check_window:
        out_of_window = check_bounds(ts, now or datetime.now(timezone.utc))
        if out_of_window:
            metrics.VALIDATION_FAILURES.labels(field="business_rules",
                                               reason="validation_failed").inc()
            raise validation(out_of_window)
    return Prepared(_row(env.__dict__, data, event_data, ts_text, parent,
                         event_id or new_event_id()), ts, env.event_category)


def prepare_batch(body: Any, *, max_events: int, max_event_data_bytes: int,
                  now: datetime | None = None) -> list[dict]:
    """The rows of a batch request's body (decoded by
    app.http.read_json(nesting=False)); raises Problem on bad input. A batch
    of valid events takes valid_batch(); anything else goes the way that
    explains it: the nesting limit first (read_json's last check), then
    batch_by_event()."""
    now = now or datetime.now(timezone.utc)
    rows = valid_batch(body, max_events=max_events,
                       max_event_data_bytes=max_event_data_bytes, now=now)
    if rows is None:
        check_json(body, strings=False)
        rows = [ev.row for ev in batch_by_event(body, max_events=max_events,
                                                max_event_data_bytes=max_event_data_bytes,
                                                now=now)]
    return rows


def batch_by_event(body: Any, *, max_events: int, max_event_data_bytes: int,
                   now: datetime) -> list[Prepared]:
    """A batch checked item by item, raising a Problem at the first fault in
    the order the checks have always run (the nesting limit aside: see
    prepare_batch)."""
    if isinstance(body, dict):
        metrics.VALIDATION_FAILURES.labels(field="body", reason="not_array").inc()
        raise validation("request body must be a JSON array, not a single object "
                         "(value must be an array)")
    if not isinstance(body, list):
        metrics.VALIDATION_FAILURES.labels(field="body", reason="invalid_json_array").inc()
        raise validation("request body must be a JSON array: value must be an array")
    if not body:
        metrics.VALIDATION_FAILURES.labels(field="body", reason="empty_batch").inc()
        raise validation("batch cannot be empty")
    if len(body) > max_events:
        metrics.VALIDATION_FAILURES.labels(field="body", reason="batch_too_large").inc()
        raise validation(f"batch of {len(body)} events exceeds the maximum of "
                         f"{max_events} events per request")
    prepared = []
    ids = new_event_ids(len(body))
    for i, item in enumerate(body):
        if not isinstance(item, dict):
            raise validation(f'request body has an error: Error at "/{i}": value must be an object',
                             {str(i): "value must be an object"})
        ev = prepare(item, max_event_data_bytes=max_event_data_bytes, prefix=f"{i}.", now=now,
                     check_window=False, event_id=ids[i])
        out_of_window = check_bounds(ev.timestamp, now)
        if out_of_window:
            metrics.VALIDATION_FAILURES.labels(field="batch_event", reason="validation_failed").inc()
            raise validation(f"event at index {i}: {out_of_window}")
        prepared.append(ev)
    return prepared


def valid_batch(items: Any, *, max_events: int, max_event_data_bytes: int,
                now: datetime) -> list[dict] | None:
    """The rows of a batch whose every event is plainly valid, validated in
    one pydantic-core call; None as soon as anything is not (then the
    caller goes event by event with prepare(), which explains the first
    fault exactly as before). Never raises a Problem, counts no failure.

    Besides the checks prepare() makes, it proves the nesting limit that
    app.http.read_json(nesting=False) left out: the envelope's members are
    typed scalars (an unknown member, untyped, sends the batch the slow
    way), so an event nests no deeper than its event_data, whose JSON text
    (needed for the size limit anyway) has at least as many opening
    brackets as levels. That text goes into the row as is
    (orjson.Fragment): payload() does not encode event_data again."""
    if type(items) is not list or not items or len(items) > max_events:
        return None
    valid = validate_one_pass.many(items)
    # Unknown envelope members are ignored, but untyped: their nesting is
    # unbounded. (A Python check: pydantic-core's extra="forbid" costs twice.)
    if valid is None or not all(map(ENVELOPE_MEMBERS.issuperset, items)):
        return None
    envs, stored = valid
    # Column by column where C can loop: these checks cost a few hundred
    # nanoseconds per event as Python statements.
    texts = list(map(orjson.dumps, stored))
    if max(map(len, texts)) > max_event_data_bytes:
        return None
    # The list, the event and event_data itself take three levels.
    if max(map(add, map(bytes.count, texts, repeat(b"{")),
               map(bytes.count, texts, repeat(b"[")))) > MAX_JSON_DEPTH - 2:
        return None
    sent = [env["event_timestamp"] for env in envs]
    parsed = parse_utc_micro_many(sent)
    if parsed is None:   # other forms (or invalid): one by one
        try:
            parsed = tuple(zip(*map(parse_utc_micro, sent)))
        except TimeFormatError:
            return None
    times, stamps = parsed
    if min(times) < now - MAX_AGE or max(times) > now + MAX_FUTURE:
        return None
    parents = list(map(dict.get, envs, repeat("parent_event_id")))
    if parents.count(None) != len(parents):
        try:
            parents = [p if p is None else str(uuid.UUID(p)) for p in parents]
        except ValueError:
            return None
    return list(map(_row, envs, items, map(orjson.Fragment, texts), stamps, parents,
                    new_event_ids(len(items))))


def _row(env: Mapping[str, Any], data: dict, event_data: Any, ts_text: str,
         parent: str | None, event_id: str) -> dict:
    """The row append_audit_events stores, server defaults applied. `env`:
    the validated envelope's members (a model's __dict__, or the dict of
    OnePass.many, where members not sent are absent)."""
    category = env["event_category"]
    get = env.get
    return {
        "event_id": event_id,
        "event_version": env["version"],
        "event_timestamp": ts_text,
        "event_type": env["event_type"],
        "event_category": category,
        "event_action": env["event_action"],
        "event_outcome": env["event_outcome"],
        "correlation_id": env["correlation_id"],
        # Defaults apply only when the key is absent (explicit "" is stored).
        "actor_type": v if (v := get("actor_type")) is not None else "service",
        "actor_id": v if (v := get("actor_id")) is not None else f"{category}-service",
        "resource_type": v if (v := get("resource_type")) is not None else category,
        "resource_id": v if (v := get("resource_id")) is not None else env["correlation_id"],
        "parent_event_id": parent,
        "namespace": get("namespace") or None,
        "cluster_name": get("cluster_name") or None,
        "severity": ("info" if "severity" not in data else (get("severity") or None)),
        "duration_ms": get("duration_ms") or None,
        "retention_days": (v if (v := get("retention_days")) is not None
                           else RETENTION_DAYS_DEFAULT),
        "is_sensitive": False,
        "event_data": event_data,
    }


def check_event_data_size(event_data: Any, max_bytes: int) -> None:
    size = len(orjson.dumps(event_data))
    if size > max_bytes:
        raise problem("payload-too-large",
                      f"event_data is {size} bytes; the limit is {max_bytes} bytes")


def payload(rows: list[dict]) -> str:
    return orjson.dumps(rows).decode()
