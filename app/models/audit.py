"""Audit event write models.

The envelope mirrors the contract's AuditEventRequest, tightened to the
column limits of audit_events so that anything accepted here can be stored
(no "poison" events that pass the API and fail at INSERT). `event_data` is
validated separately against the payload schema its discriminator selects.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from . import contract
from .common import MAX_OFFSET
from .contract import (EVENT_DATA_DISCRIMINATOR, EVENT_DATA_SCHEMAS, AuditEventResponse,
                       BatchAuditEventResponse)
from .contract_base import make_one_pass_validator

EventCategory = Literal["gateway", "notification", "analysis", "aiagent", "signalprocessing",
                        "workflow", "workflowexecution", "orchestration", "webhook"]
EventOutcome = Literal["success", "failure", "pending"]
RETENTION_DAYS_DEFAULT = 2555
RETENTION_DAYS_MIN, RETENTION_DAYS_MAX = 1, 36500


def Text(lo: int, hi: int):  # noqa: N802 - reads as a type
    return Annotated[StrictStr, Field(min_length=lo, max_length=hi)]


class AuditEventEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: Text(1, 20)
    event_type: Text(1, 100)
    # Parsed after model validation: a zone-less value is the original's
    # `invalid_request` problem, not a schema error.
    event_timestamp: StrictStr
    event_category: EventCategory
    event_action: Text(1, 50)
    event_outcome: EventOutcome
    correlation_id: Text(1, 255)
    event_data: dict[str, Any]
    actor_type: Text(0, 50) | None = None
    actor_id: Text(0, 255) | None = None
    resource_type: Text(0, 100) | None = None
    resource_id: Text(0, 255) | None = None
    parent_event_id: StrictStr | None = None
    namespace: Text(0, 253) | None = None
    cluster_name: Text(0, 255) | None = None
    severity: Text(0, 20) | None = None
    duration_ms: Annotated[StrictInt, Field(ge=-2**31, le=2**31 - 1)] | None = None
    # Not in the original contract (it always stored 2555): how long retention
    # keeps the event (docs/retention.md). 1 day .. 100 years.
    retention_days: Annotated[StrictInt, Field(ge=RETENTION_DAYS_MIN, le=RETENTION_DAYS_MAX)] | None = None


# A valid event in one validation pass; anything else gets None, and the
# two passes (AuditEventEnvelope, then validate_event_data) explain it.
validate_one_pass = make_one_pass_validator(AuditEventEnvelope, EVENT_DATA_SCHEMAS,
                                            EVENT_DATA_DISCRIMINATOR)


class AsyncAcceptanceResponse(contract.AsyncAcceptanceResponse):
    """202 when the database is unreachable and the request was spooled."""
    event_id: str | None = None
    event_ids: list[str] | None = None


class Pagination(BaseModel):
    limit: int
    offset: int
    total: int
    has_more: bool


class AuditEventsQueryResponse(BaseModel):
    data: list[dict[str, Any]]
    pagination: Pagination


class AuditEventsQuery(BaseModel):
    """Query of GET /api/v1/audit/events, parsed by app.http.query in this
    order (the first bad parameter is the answer)."""
    event_type: str | None = None
    event_category: str | None = None
    event_outcome: EventOutcome | None = None
    severity: str | None = None
    correlation_id: str | None = None
    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    since: str | None = Field(None, description="24h, 7d, 1h30m, RFC 3339 or a date")
    until: str | None = Field(None, description="24h, 7d, 1h30m, RFC 3339 or a date")


__all__ = ["AsyncAcceptanceResponse", "AuditEventEnvelope", "AuditEventResponse",
           "AuditEventsQuery", "AuditEventsQueryResponse", "BatchAuditEventResponse", "validate_one_pass"]
