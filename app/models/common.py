"""Shapes shared by every area that the contract does not define (its
RFC7807Problem is the problem document)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class HealthStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str
    database: str | None = None
    reason: str | None = None
    error: str | None = None
