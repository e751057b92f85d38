"""Shapes shared by every area that the contract does not define (its
RFC7807Problem is the problem document)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# The deepest page of any paged endpoint (issue 12 §5): an offset costs the
# rows it skips. Deeper: narrow by time instead (docs/overload.md).
MAX_OFFSET = 100_000


class HealthStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str
    database: str | None = None
    reason: str | None = None
    error: str | None = None
