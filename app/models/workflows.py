"""Workflow catalog request and response models.

The request models are the contract's (app/models/contract.py), tightened
where the contract's own consumers or the table columns are stricter than
the schema says, so that nothing accepted here fails later:
  * `maintainer` must be an e-mail address (the generated Go client checks
    `format: email` when it reads a workflow back; "" counts as absent);
  * `expected_duration_seconds` fits the integer column;
  * `disabled_by` / `updated_by` fit their 255-character column;
  * a search carries at most MAX_CUSTOM_LABEL_VALUES custom-label values
    (each one is a scoring term) and a remediation_id that fits a
    correlation id.
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr,
                      field_validator)
from pydantic_core import PydanticCustomError

from .common import MAX_OFFSET
from .contract import (DetectedLabels, RemediationWorkflow, WorkflowDisableRequest,
                       WorkflowListResponse, WorkflowSearchFilters, WorkflowSearchRequest,
                       WorkflowSearchResponse, WorkflowUpdateRequest)

MAX_CUSTOM_LABEL_VALUES = 1000
STATUSES = ("active", "disabled", "deprecated", "archived")

# The WHATWG (HTML) e-mail address grammar: a practical subset of RFC 5322
# that Go's net/mail (used by the generated client) also accepts.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


def _check_email(value: str) -> str:
    if value and _EMAIL.fullmatch(value) is None:
        raise PydanticCustomError("email_format", "Input should be an e-mail address")
    return value


Email = Annotated[StrictStr, Field(max_length=255), AfterValidator(_check_email)]
Name255 = Annotated[StrictStr, Field(max_length=255)]

# Columns of remediation_workflow_catalog that a create stores from the body
# (spec §4.4 step 3); everything else in the body is ignored.
_STORED = ("workflow_name", "version", "name", "description", "owner", "maintainer", "content",
           "content_hash", "parameters", "execution_engine", "container_image",
           "container_digest", "status", "previous_version", "version_notes", "change_summary",
           "approved_by", "approved_at", "expected_success_rate", "expected_duration_seconds",
           "created_by")
_DETECTED_FIELDS = tuple(DetectedLabels.model_fields)


def detected_labels_stored(dl: DetectedLabels | None) -> dict[str, Any]:
    """The storage shape (spec §2.1): false booleans, empty strings and an
    empty failed_detections are left out, as are members the contract does
    not define."""
    if dl is None:
        return {}
    out: dict[str, Any] = {}
    for name in _DETECTED_FIELDS:
        value = getattr(dl, name)
        if value is None or value is False or value == "" or value == []:
            continue
        out[name] = value
    return out


def detected_labels_echo(dl: DetectedLabels | None) -> dict[str, Any]:
    """The query's detected labels as the client sent them (known members only)."""
    if dl is None:
        return {}
    return {k: v for k, v in dl.model_dump(exclude_unset=True).items() if k in _DETECTED_FIELDS}


class WorkflowCreate(RemediationWorkflow):
    """Body of POST /api/v1/workflows (contract: RemediationWorkflow)."""

    maintainer: Email = None
    expected_duration_seconds: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] = None

    def stored(self, created_by: str | None) -> dict[str, Any]:
        doc = {name: getattr(self, name) for name in _STORED if getattr(self, name) is not None}
        if not doc.get("maintainer"):
            doc.pop("maintainer", None)
        if created_by is not None:      # the effective creator (identity.effective_actor)
            doc["created_by"] = created_by
        doc["labels"] = self.labels.model_dump(
            include={"signal_type", "severity", "component", "environment", "priority"})
        if self.custom_labels is not None:
            doc["custom_labels"] = self.custom_labels.model_dump()
        doc["detected_labels"] = detected_labels_stored(self.detected_labels)
        return doc


class WorkflowPatch(WorkflowUpdateRequest):
    """Body of PATCH /api/v1/workflows/{id} (contract: WorkflowUpdateRequest)."""

    disabled_by: Name255 = None


class WorkflowDisable(WorkflowDisableRequest):
    """Body of PATCH /api/v1/workflows/{id}/disable (optional)."""

    updated_by: Name255 = None


class SearchFilters(WorkflowSearchFilters):
    # Not in the contract's schema, accepted by the original and ignored;
    # here it restricts the search to one workflow_name.
    workflow_name: StrictStr = None

    @field_validator("custom_labels")
    @classmethod
    def _bounded_custom_labels(cls, value):
        n = sum(len(v) for v in (value.model_extra or {}).values()) if value is not None else 0
        if n > MAX_CUSTOM_LABEL_VALUES:
            raise PydanticCustomError(
                "too_many_custom_labels",
                "custom_labels may hold at most {limit} values in total (got {n})",
                {"limit": MAX_CUSTOM_LABEL_VALUES, "n": n})
        return value


class SearchRequest(WorkflowSearchRequest):
    """Body of POST /api/v1/workflows/search (contract: WorkflowSearchRequest)."""

    remediation_id: Annotated[StrictStr, Field(max_length=255)] = None
    filters: SearchFilters


class WorkflowVersions(BaseModel):
    """GET /api/v1/workflows/by-name/{workflow_name}/versions (not in the contract)."""
    model_config = ConfigDict(extra="allow")

    workflow_name: str
    versions: list[RemediationWorkflow]
    total: int


class WorkflowListQuery(BaseModel):
    """Query of GET /api/v1/workflows, parsed by app.http.query (empty values
    count as absent). `custom_labels[<key>]=v1,v2` filters are accepted too."""

    status: str | None = Field(None, json_schema_extra={"enum": list(STATUSES)})
    environment: str | None = None
    priority: str | None = None
    component: str | None = None
    workflow_name: str | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


__all__ = ["MAX_CUSTOM_LABEL_VALUES", "RemediationWorkflow", "SearchFilters", "SearchRequest",
           "STATUSES", "WorkflowCreate", "WorkflowDisable", "WorkflowListQuery",
           "WorkflowListResponse", "WorkflowPatch", "WorkflowSearchResponse", "WorkflowVersions",
           "detected_labels_echo", "detected_labels_stored"]
