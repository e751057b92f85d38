"""Export and chain-verification shapes (contract: AuditExportResponse; the
verify-chain route is ours, spec/audit-api.md §9). Used for /openapi.json;
the export body itself is written by app/export.py, not serialised from
these models."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .common import MAX_OFFSET
from .contract import (AuditExportResponseEventsItem, AuditExportResponseExportMetadata,
                       AuditExportResponseHashChainVerification)


class ExportQuery(BaseModel):
    """Query of GET /api/v1/audit/export, parsed by app.http.parse_query.
    Booleans take the contract validator's spellings (1, t, true, ...) and
    mean what they say (the original took only `true` as true)."""
    start_time: str | None = Field(None, json_schema_extra={"format": "date-time"},
                                   description="event_timestamp >= start_time (RFC 3339 with zone)")
    end_time: str | None = Field(None, json_schema_extra={"format": "date-time"},
                                 description="event_timestamp <= end_time (RFC 3339 with zone)")
    correlation_id: str | None = None
    event_category: str | None = None
    format: Literal["json", "csv"] = "json"
    include_detached_signature: bool = False
    redact_pii: bool = False
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    limit: int = Field(1000, ge=1, le=10000)
    include_log_proofs: bool = Field(False, description="JSON only: add each event's inclusion "
                                     "proof in the transparency log and the checkpoint they prove "
                                     "against (docs/transparency-log.md)")
    escape_formulas: bool = Field(True, description="CSV only: an apostrophe before cells "
                                                     "starting with = + - @ tab CR '")


class ExportEvent(AuditExportResponseEventsItem):
    """Every member the hash covers (docs/hash-chain.md), plus the verdict."""
    chain_seq: int
    chain_verdict: Literal["ok", "content_mismatch", "link_mismatch", "sequence_gap", "unhashed"]
    pii_redacted: bool | None = None
    hash_version: Literal[2] | None = Field(None, description="the canonical form the hash covers "
                                            "(docs/hash-chain.md); absent: version 1")


class RetentionHorizon(BaseModel):
    """Where a chain pruned by retention starts (docs/retention.md)."""
    first_kept_seq: int
    previous_hash: str
    run_id: int
    pruned_at: str


class ChainSummary(BaseModel):
    correlation_id: str
    total_events: int
    valid_events: int
    broken_events: int
    first_broken_seq: int | None = None
    first_broken_event_id: str | None = None
    head_matches: bool
    is_valid: bool
    retention_horizon: RetentionHorizon | None = None


class ExportVerification(AuditExportResponseHashChainVerification):
    chains_verified: int
    chains: list[ChainSummary]


class ExportMetadata(AuditExportResponseExportMetadata):
    pii_redacted: bool
    signature_scheme: Literal["datastorage-export-v1"]
    certificate: str = Field(description="PEM of the signing certificate")


class AuditExport(BaseModel):
    """Signed export; see docs/export.md for the signed bytes."""
    model_config = ConfigDict(extra="allow")

    events: list[ExportEvent]
    hash_chain_verification: ExportVerification
    export_metadata: ExportMetadata
    detached_signature: str | None = None


class VerifyChainRequest(BaseModel):
    """`correlation_id`: one id or a list; `correlation_ids`: a list."""
    model_config = ConfigDict(extra="ignore")

    correlation_id: str | list[str] | None = None
    correlation_ids: list[str] | None = None


class TamperedEvent(BaseModel):
    event_id: str
    chain_seq: int
    event_timestamp: str
    verdict: str
    expected_hash: str | None
    actual_hash: str | None
    previous_hash: str | None
    expected_previous_hash: str
    message: str


class ChainVerification(BaseModel):
    correlation_id: str
    is_valid: bool
    total_events: int
    verified_events: int
    valid_events: int
    broken_events: int
    first_broken_seq: int | None
    first_broken_event_id: str | None
    tampered_event_ids: list[str]
    head_matches: bool
    pruned_events: int | None = None
    expired: bool | None = None
    tampered_events: list[TamperedEvent] | None = None
    verification_time: str
    message: str


class ChainsVerification(BaseModel):
    is_valid: bool
    total_chains: int
    verification_time: str
    chains: list[ChainVerification]


VerifyChainResponse = ChainVerification | ChainsVerification
