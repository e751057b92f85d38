"""Query parameters of the transparency log's proof routes (app/routes/tlog.py)."""
from __future__ import annotations

from pydantic import BaseModel, Field


class InclusionQuery(BaseModel):
    event_id: str = Field(description="the event (UUID)")
    tree_size: int | None = Field(None, ge=0, le=2**63 - 1,
                                  description="tree size to prove against (default: the latest "
                                              "checkpoint's)")


class ConsistencyQuery(BaseModel):
    first: int = Field(ge=1, le=2**63 - 1, description="the older tree size")
    second: int = Field(ge=1, le=2**63 - 1, description="the newer tree size")
