"""Shapes shared by every area."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ProblemDetails(BaseModel):
    """RFC 7807 problem document."""
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    field_errors: dict[str, Any] | None = None


class HealthStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str
    database: str | None = None
    reason: str | None = None
    error: str | None = None
