"""Notification delivery records (contract: NotificationAudit)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

# The contract's enums plus the values the original's table also accepted.
Channel = Literal["email", "slack", "pagerduty", "webhook", "sms"]
Status = Literal["sent", "failed", "pending", "acknowledged", "escalated"]


def Text(hi: int):  # noqa: N802
    return Annotated[StrictStr, Field(max_length=hi)]


class NotificationAudit(BaseModel):
    model_config = ConfigDict(extra="ignore")

    remediation_id: Text(255)
    notification_id: Text(255)
    recipient: Text(500)
    channel: Channel
    message_summary: Text(1000)
    status: Status
    sent_at: StrictStr
    delivery_status: Text(255) | None = None
    error_message: Text(1000) | None = None
    escalation_level: Annotated[StrictInt, Field(ge=0, le=5)] = 0


class NotificationAuditResponse(NotificationAudit):
    id: int
    created_at: str
    updated_at: str
