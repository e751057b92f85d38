"""Turning a client's audit event into the row the SQL append function stores.

Everything the hash covers is fixed here, before the first write attempt:
the event id, server defaults, the timestamp at microsecond precision. A
spooled event therefore replays to exactly what the client was told.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from pydantic import ValidationError

from . import metrics
from .validation import field_errors, parse_model
from .models.audit import RETENTION_DAYS_DEFAULT, AuditEventEnvelope, validate_one_pass
from .models.contract import validate_event_data
from .problems import Problem, problem, validation
from .timeutil import TimeFormatError, go_duration, parse_rfc3339, utc_micro

MAX_FUTURE = timedelta(minutes=60)
MAX_AGE = timedelta(days=7)


class Prepared:
    __slots__ = ("row", "timestamp", "category")

    def __init__(self, row: dict, timestamp: datetime, category: str):
        self.row = row
        self.timestamp = timestamp
        self.category = category


def new_event_ids(n: int) -> list[str]:
    """`n` random (version 4) UUIDs as text, what str(uuid.uuid4()) gives,
    from one read of the random source: the system call, not the
    formatting, is most of an id's cost, and a batch pays it once."""
    b = bytearray(os.urandom(16 * n))
    for i in range(6, 16 * n, 16):
        b[i] = b[i] & 0x0F | 0x40              # version 4
        b[i + 2] = b[i + 2] & 0x3F | 0x80      # RFC 4122 variant
    h = b.hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-{h[i + 20:i + 32]}"
            for i in range(0, 32 * n, 32)]


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
        ts = parse_rfc3339(env.event_timestamp)
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
    category = env.event_category
    sent = data.keys()
    row = {
        "event_id": event_id or new_event_id(),
        "event_version": env.version,
        "event_timestamp": utc_micro(ts),
        "event_type": env.event_type,
        "event_category": category,
        "event_action": env.event_action,
        "event_outcome": env.event_outcome,
        "correlation_id": env.correlation_id,
        # Defaults apply only when the key is absent (explicit "" is stored).
        "actor_type": env.actor_type if env.actor_type is not None else "service",
        "actor_id": env.actor_id if env.actor_id is not None else f"{category}-service",
        "resource_type": env.resource_type if env.resource_type is not None else category,
        "resource_id": env.resource_id if env.resource_id is not None else env.correlation_id,
        "parent_event_id": parent,
        "namespace": env.namespace or None,
        "cluster_name": env.cluster_name or None,
        "severity": ("info" if "severity" not in sent else (env.severity or None)),
        "duration_ms": env.duration_ms or None,
        "retention_days": (env.retention_days if env.retention_days is not None
                           else RETENTION_DAYS_DEFAULT),
        "is_sensitive": False,
        "event_data": event_data,
    }
    return Prepared(row, ts, category)


def check_event_data_size(event_data: Any, max_bytes: int) -> None:
    size = len(orjson.dumps(event_data))
    if size > max_bytes:
        raise problem("payload-too-large",
                      f"event_data is {size} bytes; the limit is {max_bytes} bytes")


def payload(rows: list[dict]) -> str:
    return orjson.dumps(rows).decode()
