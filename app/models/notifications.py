"""Notification delivery records: the contract's NotificationAudit, with
the values the original's table also accepted and `sent_at` parsed by the
route (its own error texts)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictInt, StrictStr

from . import contract


class NotificationAudit(contract.NotificationAudit):
    model_config = ConfigDict(extra="ignore")

    channel: Literal["email", "slack", "pagerduty", "webhook", "sms"]
    status: Literal["sent", "failed", "pending", "acknowledged", "escalated"]
    sent_at: StrictStr
    escalation_level: Annotated[StrictInt, Field(ge=0, le=5)] = 0


class NotificationAuditResponse(NotificationAudit):
    id: int
    created_at: str
    updated_at: str
