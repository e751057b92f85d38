"""Legal hold bodies and responses (contract: /api/v1/audit/legal-hold)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PlaceLegalHoldRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    correlation_id: str
    reason: str


class ReleaseLegalHoldRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    release_reason: str


class LegalHoldPlaced(BaseModel):
    correlation_id: str
    events_affected: int
    placed_by: str
    placed_at: str
    reason: str


class LegalHoldReleased(BaseModel):
    correlation_id: str
    events_released: int
    released_by: str
    released_at: str


class LegalHoldList(BaseModel):
    holds: list[LegalHoldPlaced]
    total: int
