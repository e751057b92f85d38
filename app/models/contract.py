# GENERATED FILE - DO NOT EDIT.
# Source: components.schemas of data-storage-v1.yaml (info.version 1.0.0,
#         sha256 33120ff0d9a324ff94e84c7d6312d4b898c5dc19ed4735b459933cac02224855).
# Regenerate from the repository root with:
#     python -m app.models.generate [PATH_TO_CONTRACT]
# (default contract: ../shared/reference/data-storage-v1.yaml)
"""Pydantic v2 models for every schema of the wire contract.

The shared scalar types, the ContractModel base and the event_data validator
are hand-written in app/models/contract_base.py and re-exported here.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from .contract_base import (
    ContractModel,
    DateStr,
    DateTimeStr,
    NumberRange,
    StrictInt32,
    StrictInt64,
    StrictNumber,
    UuidStr,
    make_event_data_validator,
)


# ---------------------------------------------------------------------------
# Models (dependencies first)
# ---------------------------------------------------------------------------


class AIAnalysisApprovalDecisionPayload(ContractModel):
    """Contract schema `AIAnalysisApprovalDecisionPayload`."""

    model_config = ConfigDict(extra="allow")

    approval_required: StrictBool
    approval_reason: StrictStr
    auto_approved: StrictBool
    decision: StrictStr
    reason: StrictStr
    environment: StrictStr
    confidence: StrictNumber = None
    workflow_id: StrictStr = None


class AIAnalysisErrorPayload(ContractModel):
    """Contract schema `AIAnalysisErrorPayload`."""

    model_config = ConfigDict(extra="allow")

    phase: StrictStr
    error_message: StrictStr


class AIAnalysisHolmesGPTCallPayload(ContractModel):
    """Contract schema `AIAnalysisHolmesGPTCallPayload`."""

    model_config = ConfigDict(extra="allow")

    endpoint: StrictStr
    http_status_code: StrictInt32
    duration_ms: StrictInt32


class AIAnalysisPhaseTransitionPayload(ContractModel):
    """Contract schema `AIAnalysisPhaseTransitionPayload`."""

    model_config = ConfigDict(extra="allow")

    old_phase: StrictStr
    new_phase: StrictStr


class AIAnalysisRegoEvaluationPayload(ContractModel):
    """Contract schema `AIAnalysisRegoEvaluationPayload`."""

    model_config = ConfigDict(extra="allow")

    outcome: StrictStr
    degraded: StrictBool
    duration_ms: StrictInt32
    reason: StrictStr


class AsyncAcceptanceResponse(ContractModel):
    """Contract schema `AsyncAcceptanceResponse`."""

    model_config = ConfigDict(extra="allow")

    status: StrictStr
    message: StrictStr


class AuditEventRequest(ContractModel):
    """Contract schema `AuditEventRequest`."""

    model_config = ConfigDict(extra="allow")

    version: Annotated[StrictStr, Field(min_length=1, max_length=20)]
    event_type: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    event_timestamp: DateTimeStr
    event_category: Literal[
        "gateway",
        "notification",
        "analysis",
        "aiagent",
        "signalprocessing",
        "workflow",
        "workflowexecution",
        "orchestration",
        "webhook",
    ]
    event_action: Annotated[StrictStr, Field(min_length=1, max_length=50)]
    event_outcome: Literal["success", "failure", "pending"]
    actor_type: StrictStr = None
    actor_id: StrictStr = None
    resource_type: StrictStr = None
    resource_id: StrictStr = None
    correlation_id: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    parent_event_id: UuidStr | None = None
    namespace: StrictStr | None = None
    cluster_name: StrictStr | None = None
    severity: StrictStr | None = None
    duration_ms: StrictInt | None = None
    event_data: dict[str, Any]


class AuditEvent(AuditEventRequest):
    """Contract schema `AuditEvent`."""

    model_config = ConfigDict(extra="allow")

    event_id: UuidStr = None
    event_date: DateStr | None = None


class AuditEventResponse(ContractModel):
    """Contract schema `AuditEventResponse`."""

    model_config = ConfigDict(extra="allow")

    event_id: UuidStr
    event_timestamp: DateTimeStr
    message: StrictStr


class AuditEventsQueryResponsePagination(ContractModel):
    """Contract schema `AuditEventsQueryResponse.pagination`."""

    model_config = ConfigDict(extra="allow")

    limit: StrictInt = None
    offset: StrictInt = None
    total: StrictInt = None
    has_more: StrictBool = None


class AuditEventsQueryResponse(ContractModel):
    """Contract schema `AuditEventsQueryResponse`."""

    model_config = ConfigDict(extra="allow")

    data: list[AuditEvent] = None
    pagination: AuditEventsQueryResponsePagination = None


class AuditExportResponseEventsItem(ContractModel):
    """Contract schema `AuditExportResponse.events[]`."""

    model_config = ConfigDict(extra="allow")

    event_id: UuidStr = None
    version: StrictStr = None
    event_type: StrictStr = None
    event_timestamp: DateTimeStr = None
    event_category: StrictStr = None
    event_action: StrictStr = None
    event_outcome: StrictStr = None
    correlation_id: StrictStr = None
    event_data: dict[str, Any] = None
    event_hash: StrictStr = None
    previous_event_hash: StrictStr = None
    hash_chain_valid: StrictBool = None
    legal_hold: StrictBool = None


class AuditExportResponseExportMetadataQueryFilters(ContractModel):
    """Contract schema `AuditExportResponse.export_metadata.query_filters`."""

    model_config = ConfigDict(extra="allow")

    start_time: DateTimeStr = None
    end_time: DateTimeStr = None
    correlation_id: StrictStr = None
    event_category: StrictStr = None
    offset: StrictInt = None
    limit: StrictInt = None


class AuditExportResponseExportMetadata(ContractModel):
    """Contract schema `AuditExportResponse.export_metadata`."""

    model_config = ConfigDict(extra="allow")

    export_timestamp: DateTimeStr
    export_format: Literal["json", "csv"]
    query_filters: AuditExportResponseExportMetadataQueryFilters = None
    total_events: StrictInt
    signature: StrictStr
    signature_algorithm: StrictStr = None
    certificate_fingerprint: StrictStr = None
    exported_by: StrictStr = None


class AuditExportResponseHashChainVerification(ContractModel):
    """Contract schema `AuditExportResponse.hash_chain_verification`."""

    model_config = ConfigDict(extra="allow")

    total_events_verified: StrictInt
    valid_chain_events: StrictInt
    broken_chain_events: StrictInt
    chain_integrity_percentage: Annotated[StrictNumber, NumberRange(ge=0.0, le=100.0)] = None
    verification_timestamp: DateTimeStr
    tampered_event_ids: list[StrictStr] = None


class AuditExportResponse(ContractModel):
    """Contract schema `AuditExportResponse`."""

    model_config = ConfigDict(extra="allow")

    export_metadata: AuditExportResponseExportMetadata
    events: list[AuditExportResponseEventsItem]
    hash_chain_verification: AuditExportResponseHashChainVerification
    detached_signature: StrictStr = None


class BatchAuditEventResponse(ContractModel):
    """Contract schema `BatchAuditEventResponse`."""

    model_config = ConfigDict(extra="allow")

    event_ids: list[UuidStr] = None
    message: StrictStr = None


class CustomLabels(ContractModel):
    """Contract schema `CustomLabels`."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, list[StrictStr]] = Field(init=False)


class DetectedLabels(ContractModel):
    """Contract schema `DetectedLabels`."""

    model_config = ConfigDict(extra="allow")

    failed_detections: list[
        Literal[
            "gitOpsManaged",
            "pdbProtected",
            "hpaEnabled",
            "stateful",
            "helmManaged",
            "networkIsolated",
            "serviceMesh",
        ]
    ] = None
    gitOpsManaged: StrictBool = None
    gitOpsTool: Literal["argocd", "flux", "*"] = None
    pdbProtected: StrictBool = None
    hpaEnabled: StrictBool = None
    stateful: StrictBool = None
    helmManaged: StrictBool = None
    networkIsolated: StrictBool = None
    serviceMesh: Literal["istio", "linkerd", "*"] = None


class ErrorDetails(ContractModel):
    """Contract schema `ErrorDetails`."""

    model_config = ConfigDict(extra="allow")

    message: StrictStr
    code: StrictStr
    component: Literal[
        "gateway",
        "aianalysis",
        "workflowexecution",
        "remediationorchestrator",
        "signalprocessing",
        "authwebhook",
    ]
    retry_possible: StrictBool
    stack_trace: list[StrictStr] = None


class GatewayAuditPayload(ContractModel):
    """Contract schema `GatewayAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal[
        "gateway.signal.received",
        "gateway.signal.deduplicated",
        "gateway.crd.created",
        "gateway.crd.failed",
    ]
    original_payload: dict[str, Any] = None
    signal_labels: dict[str, StrictStr] = None
    signal_annotations: dict[str, StrictStr] = None
    signal_type: Literal["prometheus-alert", "kubernetes-event"]
    alert_name: StrictStr
    namespace: StrictStr
    fingerprint: StrictStr
    severity: StrictStr = None
    resource_kind: StrictStr = None
    resource_name: StrictStr = None
    remediation_request: StrictStr = None
    deduplication_status: Literal["new", "duplicate"] = None
    occurrence_count: StrictInt32 = None
    error_details: ErrorDetails = None


class IncidentResponseDataAlternativeWorkflowsItem(ContractModel):
    """Contract schema `IncidentResponseData.alternative_workflows[]`."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: StrictStr = None
    rationale: StrictStr = None


class IncidentResponseDataRootCauseAnalysis(ContractModel):
    """Contract schema `IncidentResponseData.root_cause_analysis`."""

    model_config = ConfigDict(extra="forbid")

    summary: StrictStr
    severity: StrictStr
    contributing_factors: list[StrictStr]


class IncidentResponseDataSelectedWorkflow(ContractModel):
    """Contract schema `IncidentResponseData.selected_workflow`."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: StrictStr = None
    container_image: StrictStr = None
    confidence: Annotated[StrictNumber, NumberRange(ge=0.0, le=1.0)] = None
    parameters: dict[str, Any] = None


class IncidentResponseData(ContractModel):
    """Contract schema `IncidentResponseData`."""

    model_config = ConfigDict(extra="allow")

    incident_id: StrictStr
    analysis: StrictStr
    root_cause_analysis: IncidentResponseDataRootCauseAnalysis
    selected_workflow: IncidentResponseDataSelectedWorkflow = None
    confidence: Annotated[StrictNumber, NumberRange(ge=0.0, le=1.0)]
    timestamp: DateTimeStr
    needs_human_review: StrictBool = False
    human_review_reason: Literal[
        "workflow_not_found",
        "image_mismatch",
        "parameter_validation_failed",
        "no_matching_workflows",
        "low_confidence",
        "llm_parsing_error",
    ] = None
    target_in_owner_chain: StrictBool = True
    warnings: list[StrictStr] = None
    alternative_workflows: list[IncidentResponseDataAlternativeWorkflowsItem] = None


class HolmesGPTResponsePayload(ContractModel):
    """Contract schema `HolmesGPTResponsePayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["holmesgpt.response.complete"]
    event_id: StrictStr
    incident_id: StrictStr
    response_data: IncidentResponseData


class LLMRequestPayload(ContractModel):
    """Contract schema `LLMRequestPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["llm_request"]
    event_id: StrictStr
    incident_id: StrictStr
    model: StrictStr
    prompt_length: Annotated[StrictInt, Field(ge=0)]
    prompt_preview: StrictStr
    max_tokens: Annotated[StrictInt, Field(ge=0)] = None
    toolsets_enabled: list[StrictStr] = None
    mcp_servers: list[StrictStr] = None


class LLMResponsePayload(ContractModel):
    """Contract schema `LLMResponsePayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["llm_response"]
    event_id: StrictStr
    incident_id: StrictStr
    has_analysis: StrictBool
    analysis_length: Annotated[StrictInt, Field(ge=0)]
    analysis_preview: StrictStr
    tokens_used: Annotated[StrictInt, Field(ge=0)] = None
    tool_call_count: Annotated[StrictInt, Field(ge=0)] = 0


class LLMToolCallPayload(ContractModel):
    """Contract schema `LLMToolCallPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["llm_tool_call"]
    event_id: StrictStr
    incident_id: StrictStr
    tool_call_index: Annotated[StrictInt, Field(ge=0)]
    tool_name: StrictStr
    tool_arguments: dict[str, Any] = None
    tool_result: Any
    tool_result_preview: StrictStr = None


class MandatoryLabels(ContractModel):
    """Contract schema `MandatoryLabels`."""

    model_config = ConfigDict(extra="allow")

    signal_type: StrictStr
    severity: Literal["critical", "high", "medium", "low"]
    component: StrictStr
    environment: Annotated[
        list[Literal["production", "staging", "development", "test", "*"]],
        Field(min_length=1),
    ]
    priority: Literal["P0", "P1", "P2", "P3", "*"]


class NotificationAudit(ContractModel):
    """Contract schema `NotificationAudit`."""

    model_config = ConfigDict(extra="allow")

    remediation_id: Annotated[StrictStr, Field(max_length=255)]
    notification_id: Annotated[StrictStr, Field(max_length=255)]
    recipient: Annotated[StrictStr, Field(max_length=500)]
    channel: Literal["email", "slack", "pagerduty", "webhook"]
    message_summary: Annotated[StrictStr, Field(max_length=1000)]
    status: Literal["sent", "failed", "pending"]
    sent_at: DateTimeStr
    delivery_status: Annotated[StrictStr, Field(max_length=255)] | None = None
    error_message: Annotated[StrictStr, Field(max_length=1000)] | None = None
    escalation_level: Annotated[StrictInt, Field(ge=0, le=5)] = None


class NotificationAuditPayloadRecipientsItem(ContractModel):
    """Contract schema `NotificationAuditPayload.recipients[]`."""

    model_config = ConfigDict(extra="allow")

    email: StrictStr = None
    slack: StrictStr = None
    teams: StrictStr = None
    phone: StrictStr = None
    webhookURL: StrictStr = None


class NotificationAuditPayload(ContractModel):
    """Contract schema `NotificationAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["webhook.notification.cancelled", "webhook.notification.acknowledged"]
    notification_id: StrictStr = None
    notification_name: StrictStr = None
    type: Literal["escalation", "simple", "status-update", "approval", "manual-review"] = None
    notification_type: Literal[
        "escalation",
        "simple",
        "status-update",
        "approval",
        "manual-review",
    ] = None
    priority: Literal["critical", "high", "medium", "low"] = None
    final_status: Literal["Pending", "Sending", "Sent", "Failed", "Cancelled"] = None
    recipients: list[NotificationAuditPayloadRecipientsItem] = None
    cancelled_by: StrictStr = None
    user_uid: StrictStr = None
    user_groups: list[StrictStr] = None
    action: Literal["notification_cancelled", "notification_acknowledged"] = None


class NotificationAuditResponse(NotificationAudit):
    """Contract schema `NotificationAuditResponse`."""

    model_config = ConfigDict(extra="allow")

    id: StrictInt64
    created_at: DateTimeStr
    updated_at: DateTimeStr


class NotificationMessageAcknowledgedPayload(ContractModel):
    """Contract schema `NotificationMessageAcknowledgedPayload`."""

    model_config = ConfigDict(extra="allow")

    notification_id: StrictStr
    subject: StrictStr
    priority: StrictStr
    metadata: dict[str, StrictStr] = None


class NotificationMessageEscalatedPayload(ContractModel):
    """Contract schema `NotificationMessageEscalatedPayload`."""

    model_config = ConfigDict(extra="allow")

    notification_id: StrictStr
    subject: StrictStr
    priority: StrictStr
    reason: StrictStr
    metadata: dict[str, StrictStr] = None


class NotificationMessageFailedPayload(ContractModel):
    """Contract schema `NotificationMessageFailedPayload`."""

    model_config = ConfigDict(extra="allow")

    notification_id: StrictStr
    channel: StrictStr
    subject: StrictStr
    body: StrictStr
    priority: StrictStr
    error_type: StrictStr
    error: StrictStr = None
    metadata: dict[str, StrictStr] = None


class NotificationMessageSentPayload(ContractModel):
    """Contract schema `NotificationMessageSentPayload`."""

    model_config = ConfigDict(extra="allow")

    notification_id: StrictStr
    channel: StrictStr
    subject: StrictStr
    body: StrictStr
    priority: StrictStr
    type: StrictStr
    metadata: dict[str, StrictStr] = None


class ProviderResponseSummary(ContractModel):
    """Contract schema `ProviderResponseSummary`."""

    model_config = ConfigDict(extra="allow")

    incident_id: StrictStr
    analysis_preview: StrictStr
    selected_workflow_id: StrictStr = None
    needs_human_review: StrictBool
    warnings_count: StrictInt


class AIAnalysisAuditPayload(ContractModel):
    """Contract schema `AIAnalysisAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["aianalysis.analysis.completed", "aianalysis.analysis.failed"]
    analysis_name: StrictStr
    namespace: StrictStr
    phase: Literal["Pending", "Analyzing", "Completed", "Failed"]
    approval_required: StrictBool
    approval_reason: StrictStr = None
    degraded_mode: StrictBool
    warnings_count: StrictInt
    confidence: StrictNumber = None
    workflow_id: StrictStr = None
    target_in_owner_chain: StrictBool = None
    reason: StrictStr = None
    sub_reason: StrictStr = None
    provider_response_summary: ProviderResponseSummary = None
    error_details: ErrorDetails = None


class RFC7807Problem(ContractModel):
    """Contract schema `RFC7807Problem`."""

    model_config = ConfigDict(extra="allow")

    type: StrictStr
    title: StrictStr
    status: StrictInt32
    detail: StrictStr = None
    instance: StrictStr = None
    field_errors: dict[str, StrictStr] = None


class RemediationApprovalAuditPayload(ContractModel):
    """Contract schema `RemediationApprovalAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["webhook.approval.decided"]
    request_name: StrictStr
    decision: Literal["Approved", "Rejected"]
    decided_at: DateTimeStr
    decision_message: StrictStr
    ai_analysis_ref: StrictStr


class RemediationWorkflow(ContractModel):
    """Contract schema `RemediationWorkflow`."""

    model_config = ConfigDict(extra="allow")

    workflow_id: UuidStr = None
    workflow_name: Annotated[StrictStr, Field(max_length=255)]
    version: Annotated[StrictStr, Field(max_length=50)]
    name: Annotated[StrictStr, Field(max_length=255)]
    description: StrictStr
    owner: Annotated[StrictStr, Field(max_length=255)] = None
    maintainer: Annotated[StrictStr, Field(max_length=255)] = None
    content: StrictStr
    content_hash: Annotated[StrictStr, Field(min_length=64, max_length=64)]
    parameters: dict[str, Any] = None
    execution_engine: StrictStr
    container_image: StrictStr = None
    container_digest: StrictStr = None
    labels: MandatoryLabels
    custom_labels: CustomLabels = None
    detected_labels: DetectedLabels = None
    status: Literal["active", "disabled", "deprecated", "archived"]
    disabled_at: DateTimeStr = None
    disabled_by: Annotated[StrictStr, Field(max_length=255)] = None
    disabled_reason: StrictStr = None
    is_latest_version: StrictBool = None
    previous_version: Annotated[StrictStr, Field(max_length=50)] = None
    deprecation_notice: StrictStr = None
    version_notes: StrictStr = None
    change_summary: StrictStr = None
    approved_by: Annotated[StrictStr, Field(max_length=255)] = None
    approved_at: DateTimeStr = None
    expected_success_rate: Annotated[StrictNumber, NumberRange(ge=0.0, le=1.0)] = None
    expected_duration_seconds: Annotated[StrictInt, Field(ge=0)] = None
    actual_success_rate: Annotated[StrictNumber, NumberRange(ge=0.0, le=1.0)] = None
    total_executions: Annotated[StrictInt, Field(ge=0)] = None
    successful_executions: Annotated[StrictInt, Field(ge=0)] = None
    created_at: DateTimeStr = None
    updated_at: DateTimeStr = None
    created_by: Annotated[StrictStr, Field(max_length=255)] = None
    updated_by: Annotated[StrictStr, Field(max_length=255)] = None


class ScoringV1Audit(ContractModel):
    """Contract schema `ScoringV1Audit`."""

    model_config = ConfigDict(extra="allow")

    confidence: Annotated[StrictNumber, NumberRange(ge=0, le=1)]


class SearchExecutionMetadata(ContractModel):
    """Contract schema `SearchExecutionMetadata`."""

    model_config = ConfigDict(extra="allow")

    duration_ms: StrictInt64
    embedding_dimensions: StrictInt32
    embedding_model: StrictStr


class SignalProcessingAuditPayload(ContractModel):
    """Contract schema `SignalProcessingAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal[
        "signalprocessing.signal.processed",
        "signalprocessing.phase.transition",
        "signalprocessing.classification.decision",
        "signalprocessing.business.classified",
        "signalprocessing.enrichment.completed",
        "signalprocessing.error.occurred",
    ]
    phase: Literal["Pending", "Enriching", "Classifying", "Categorizing", "Completed", "Failed"]
    signal: StrictStr
    severity: Literal["critical", "high", "medium", "low", "unknown"] = None
    external_severity: StrictStr = None
    normalized_severity: Literal["critical", "high", "medium", "low", "unknown"] = None
    determination_source: Literal["rego-policy", "fallback", "default"] = None
    policy_hash: Annotated[StrictStr, Field(pattern=r"^[a-f0-9]{64}$")] = None
    environment: Literal["production", "staging", "development"] = None
    environment_source: Literal["rego", "labels", "default"] = None
    priority: Literal["P0", "P1", "P2", "P3", "P4"] = None
    priority_source: Literal["rego", "severity", "default"] = None
    criticality: Literal["critical", "high", "medium", "low"] = None
    sla_requirement: StrictStr = None
    has_owner_chain: StrictBool = None
    owner_chain_length: StrictInt = None
    degraded_mode: StrictBool = None
    has_pdb: StrictBool = None
    has_hpa: StrictBool = None
    duration_ms: StrictInt = None
    has_namespace: StrictBool = None
    has_pod: StrictBool = None
    has_deployment: StrictBool = None
    business_unit: StrictStr = None
    from_phase: StrictStr = None
    to_phase: StrictStr = None
    error: StrictStr = None


class TimeoutConfig(ContractModel):
    """Contract schema `TimeoutConfig`."""

    model_config = ConfigDict(extra="allow")

    global_: StrictStr = Field(None, alias="global")
    processing: StrictStr = None
    analyzing: StrictStr = None
    executing: StrictStr = None


class RemediationOrchestratorAuditPayload(ContractModel):
    """Contract schema `RemediationOrchestratorAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal[
        "orchestrator.lifecycle.started",
        "orchestrator.lifecycle.created",
        "orchestrator.lifecycle.completed",
        "orchestrator.lifecycle.failed",
        "orchestrator.lifecycle.transitioned",
        "orchestrator.approval.requested",
        "orchestrator.approval.approved",
        "orchestrator.approval.rejected",
    ]
    rr_name: StrictStr
    namespace: StrictStr
    outcome: Literal["Success", "Failed", "Pending"] = None
    duration_ms: StrictInt64 = None
    failure_phase: Literal[
        "SignalProcessing",
        "AIAnalysis",
        "WorkflowExecution",
        "Approval",
    ] = None
    failure_reason: Literal[
        "Timeout",
        "ValidationError",
        "InfrastructureError",
        "ApprovalRejected",
        "Unknown",
    ] = None
    error_details: ErrorDetails = None
    from_phase: StrictStr = None
    to_phase: StrictStr = None
    transition_reason: StrictStr = None
    rar_name: StrictStr = None
    required_by: DateTimeStr = None
    workflow_id: StrictStr = None
    confidence_str: StrictStr = None
    decision: Literal["Approved", "Rejected", "Pending"] = None
    approved_by: StrictStr = None
    rejected_by: StrictStr = None
    rejection_reason: StrictStr = None
    message: StrictStr = None
    reason: StrictStr = None
    sub_reason: StrictStr = None
    notification_name: StrictStr = None
    timeout_config: TimeoutConfig = None


class RemediationRequestWebhookAuditPayload(ContractModel):
    """Contract schema `RemediationRequestWebhookAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["webhook.remediationrequest.timeout_modified"]
    rr_name: StrictStr
    namespace: StrictStr
    modified_by: StrictStr
    modified_at: DateTimeStr
    old_timeout_config: TimeoutConfig = None
    new_timeout_config: TimeoutConfig = None


class ValidationResult(ContractModel):
    """Contract schema `ValidationResult`."""

    model_config = ConfigDict(extra="allow")

    is_valid: StrictBool
    completeness: Annotated[StrictInt, Field(ge=0, le=100)]
    errors: list[StrictStr]
    warnings: list[StrictStr]


class ReconstructionResponse(ContractModel):
    """Contract schema `ReconstructionResponse`."""

    model_config = ConfigDict(extra="allow")

    remediation_request_yaml: StrictStr
    validation: ValidationResult
    reconstructed_at: DateTimeStr = None
    correlation_id: StrictStr = None


class WorkflowCatalogCreatedPayload(ContractModel):
    """Contract schema `WorkflowCatalogCreatedPayload`."""

    model_config = ConfigDict(extra="allow")

    workflow_id: UuidStr
    workflow_name: StrictStr
    version: StrictStr
    status: Literal["active", "disabled", "archived"]
    is_latest_version: StrictBool
    execution_engine: StrictStr
    name: StrictStr
    description: StrictStr = None
    labels: dict[str, Any] = None


class WorkflowCatalogUpdatedFields(ContractModel):
    """Contract schema `WorkflowCatalogUpdatedFields`."""

    model_config = ConfigDict(extra="allow")

    status: StrictStr = None
    disabled_by: StrictStr = None
    disabled_reason: StrictStr = None
    version: StrictStr = None
    description: StrictStr = None


class WorkflowCatalogUpdatedPayload(ContractModel):
    """Contract schema `WorkflowCatalogUpdatedPayload`."""

    model_config = ConfigDict(extra="allow")

    workflow_id: UuidStr
    updated_fields: WorkflowCatalogUpdatedFields


class WorkflowDisableRequest(ContractModel):
    """Contract schema `WorkflowDisableRequest`."""

    model_config = ConfigDict(extra="allow")

    reason: StrictStr = None
    updated_by: StrictStr = None


class WorkflowExecutionAuditPayload(ContractModel):
    """Contract schema `WorkflowExecutionAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal[
        "workflowexecution.workflow.started",
        "workflowexecution.workflow.completed",
        "workflowexecution.workflow.failed",
        "workflowexecution.selection.completed",
        "workflowexecution.execution.started",
    ]
    workflow_id: StrictStr
    workflow_version: StrictStr
    target_resource: StrictStr
    phase: Literal["Pending", "Running", "Completed", "Failed"]
    container_image: StrictStr
    execution_name: StrictStr
    started_at: DateTimeStr = None
    completed_at: DateTimeStr = None
    duration: StrictStr = None
    failure_reason: Literal[
        "OOMKilled",
        "DeadlineExceeded",
        "Forbidden",
        "ImagePullBackOff",
        "ConfigurationError",
        "ResourceExhausted",
        "TaskFailed",
        "Unknown",
    ] = None
    failure_message: StrictStr = None
    failed_task_name: StrictStr = None
    error_details: ErrorDetails = None
    pipelinerun_name: StrictStr = None


class WorkflowExecutionWebhookAuditPayload(ContractModel):
    """Contract schema `WorkflowExecutionWebhookAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["webhook.workflow.unblocked"]
    workflow_name: StrictStr
    clear_reason: StrictStr
    cleared_at: DateTimeStr
    previous_state: Literal["Blocked"]
    new_state: Literal["Running"]


class WorkflowListResponse(ContractModel):
    """Contract schema `WorkflowListResponse`."""

    model_config = ConfigDict(extra="allow")

    workflows: list[RemediationWorkflow] = None
    limit: StrictInt = None
    offset: StrictInt = None
    total: StrictInt = None


class WorkflowResultAudit(ContractModel):
    """Contract schema `WorkflowResultAudit`."""

    model_config = ConfigDict(extra="allow")

    workflow_id: UuidStr
    title: StrictStr
    rank: StrictInt32
    scoring: ScoringV1Audit
    owner: StrictStr = None
    maintainer: StrictStr = None
    description: StrictStr = None
    labels: dict[str, Any] = None


class ResultsMetadata(ContractModel):
    """Contract schema `ResultsMetadata`."""

    model_config = ConfigDict(extra="allow")

    total_found: StrictInt32
    returned: StrictInt32
    workflows: list[WorkflowResultAudit]


class WorkflowSearchFilters(ContractModel):
    """Contract schema `WorkflowSearchFilters`."""

    model_config = ConfigDict(extra="allow")

    signal_type: StrictStr
    severity: Literal["critical", "high", "medium", "low"]
    component: StrictStr
    environment: StrictStr
    priority: Literal["P0", "P1", "P2", "P3"]
    custom_labels: CustomLabels = None
    detected_labels: DetectedLabels = None
    status: list[Literal["active", "disabled", "deprecated", "archived"]] = None


class QueryMetadata(ContractModel):
    """Contract schema `QueryMetadata`."""

    model_config = ConfigDict(extra="allow")

    top_k: StrictInt32
    min_score: StrictNumber = None
    filters: WorkflowSearchFilters = None


class WorkflowSearchAuditPayload(ContractModel):
    """Contract schema `WorkflowSearchAuditPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["workflow.catalog.search_completed"]
    query: QueryMetadata
    results: ResultsMetadata
    search_metadata: SearchExecutionMetadata


class WorkflowSearchRequest(ContractModel):
    """Contract schema `WorkflowSearchRequest`."""

    model_config = ConfigDict(extra="allow")

    remediation_id: StrictStr = None
    filters: WorkflowSearchFilters
    top_k: Annotated[StrictInt, Field(ge=1, le=100)] = 10
    min_score: Annotated[StrictNumber, NumberRange(ge=0.0, le=1.0)] = 0.0
    include_disabled: StrictBool = False


class WorkflowSearchResult(ContractModel):
    """Contract schema `WorkflowSearchResult`."""

    model_config = ConfigDict(extra="allow")

    workflow_id: UuidStr
    title: StrictStr
    description: StrictStr
    signal_type: StrictStr
    container_image: StrictStr = None
    container_digest: StrictStr = None
    confidence: Annotated[StrictNumber, NumberRange(ge=0.0, le=1.0)]
    label_boost: Annotated[StrictNumber, NumberRange(ge=0.0, le=0.39)] = None
    label_penalty: Annotated[StrictNumber, NumberRange(ge=0.0, le=0.2)] = None
    final_score: Annotated[StrictNumber, NumberRange(ge=0.0, le=1.0)]
    rank: Annotated[StrictInt, Field(ge=1)]
    custom_labels: CustomLabels = None
    detected_labels: DetectedLabels = None


class WorkflowSearchResponse(ContractModel):
    """Contract schema `WorkflowSearchResponse`."""

    model_config = ConfigDict(extra="allow")

    workflows: list[WorkflowSearchResult] = None
    total_results: StrictInt = None
    filters: WorkflowSearchFilters = None


class WorkflowUpdateRequest(ContractModel):
    """Contract schema `WorkflowUpdateRequest`."""

    model_config = ConfigDict(extra="allow")

    status: Literal["active", "disabled", "deprecated", "archived"] = None
    disabled_by: StrictStr = None
    disabled_reason: StrictStr = None


class WorkflowValidationPayload(ContractModel):
    """Contract schema `WorkflowValidationPayload`."""

    model_config = ConfigDict(extra="allow")

    event_type: Literal["workflow_validation_attempt"]
    event_id: StrictStr
    incident_id: StrictStr
    attempt: Annotated[StrictInt, Field(ge=1)]
    max_attempts: Annotated[StrictInt, Field(ge=1)]
    is_valid: StrictBool
    errors: list[StrictStr] = None
    validation_errors: StrictStr = None
    workflow_id: StrictStr = None
    workflow_name: StrictStr = None
    human_review_reason: StrictStr = None
    is_final_attempt: StrictBool = False


# ---------------------------------------------------------------------------
# AuditEventRequest.event_data: discriminated by 'event_type'
# ---------------------------------------------------------------------------

EVENT_DATA_DISCRIMINATOR = "event_type"
EVENT_DATA_SCHEMAS: dict[str, type[BaseModel]] = {
    "gateway.signal.received": GatewayAuditPayload,
    "gateway.signal.deduplicated": GatewayAuditPayload,
    "gateway.crd.created": GatewayAuditPayload,
    "gateway.crd.failed": GatewayAuditPayload,
    "orchestrator.lifecycle.started": RemediationOrchestratorAuditPayload,
    "orchestrator.lifecycle.created": RemediationOrchestratorAuditPayload,
    "orchestrator.lifecycle.completed": RemediationOrchestratorAuditPayload,
    "orchestrator.lifecycle.failed": RemediationOrchestratorAuditPayload,
    "orchestrator.lifecycle.transitioned": RemediationOrchestratorAuditPayload,
    "orchestrator.approval.requested": RemediationOrchestratorAuditPayload,
    "orchestrator.approval.approved": RemediationOrchestratorAuditPayload,
    "orchestrator.approval.rejected": RemediationOrchestratorAuditPayload,
    "signalprocessing.signal.processed": SignalProcessingAuditPayload,
    "signalprocessing.phase.transition": SignalProcessingAuditPayload,
    "signalprocessing.classification.decision": SignalProcessingAuditPayload,
    "signalprocessing.business.classified": SignalProcessingAuditPayload,
    "signalprocessing.enrichment.completed": SignalProcessingAuditPayload,
    "signalprocessing.error.occurred": SignalProcessingAuditPayload,
    "aianalysis.analysis.completed": AIAnalysisAuditPayload,
    "aianalysis.analysis.failed": AIAnalysisAuditPayload,
    "workflowexecution.workflow.started": WorkflowExecutionAuditPayload,
    "workflowexecution.workflow.completed": WorkflowExecutionAuditPayload,
    "workflowexecution.workflow.failed": WorkflowExecutionAuditPayload,
    "workflowexecution.selection.completed": WorkflowExecutionAuditPayload,
    "workflowexecution.execution.started": WorkflowExecutionAuditPayload,
    "webhook.notification.cancelled": NotificationAuditPayload,
    "webhook.notification.acknowledged": NotificationAuditPayload,
    "webhook.workflow.unblocked": WorkflowExecutionWebhookAuditPayload,
    "webhook.approval.decided": RemediationApprovalAuditPayload,
    "webhook.remediationrequest.timeout_modified": RemediationRequestWebhookAuditPayload,
    "workflow.catalog.search_completed": WorkflowSearchAuditPayload,
    "datastorage.workflow.created": WorkflowCatalogCreatedPayload,
    "datastorage.workflow.updated": WorkflowCatalogUpdatedPayload,
    "aianalysis.phase.transition": AIAnalysisPhaseTransitionPayload,
    "aianalysis.holmesgpt.call": AIAnalysisHolmesGPTCallPayload,
    "aianalysis.approval.decision": AIAnalysisApprovalDecisionPayload,
    "aianalysis.rego.evaluation": AIAnalysisRegoEvaluationPayload,
    "aianalysis.error.occurred": AIAnalysisErrorPayload,
    "notification.message.sent": NotificationMessageSentPayload,
    "notification.message.failed": NotificationMessageFailedPayload,
    "notification.message.acknowledged": NotificationMessageAcknowledgedPayload,
    "notification.message.escalated": NotificationMessageEscalatedPayload,
    "holmesgpt.response.complete": HolmesGPTResponsePayload,
    "llm_request": LLMRequestPayload,
    "llm_response": LLMResponsePayload,
    "llm_tool_call": LLMToolCallPayload,
    "workflow_validation_attempt": WorkflowValidationPayload,
}

validate_event_data = make_event_data_validator(EVENT_DATA_SCHEMAS, EVENT_DATA_DISCRIMINATOR)


__all__ = [
    "AIAnalysisApprovalDecisionPayload",
    "AIAnalysisAuditPayload",
    "AIAnalysisErrorPayload",
    "AIAnalysisHolmesGPTCallPayload",
    "AIAnalysisPhaseTransitionPayload",
    "AIAnalysisRegoEvaluationPayload",
    "AsyncAcceptanceResponse",
    "AuditEvent",
    "AuditEventRequest",
    "AuditEventResponse",
    "AuditEventsQueryResponse",
    "AuditEventsQueryResponsePagination",
    "AuditExportResponse",
    "AuditExportResponseEventsItem",
    "AuditExportResponseExportMetadata",
    "AuditExportResponseExportMetadataQueryFilters",
    "AuditExportResponseHashChainVerification",
    "BatchAuditEventResponse",
    "ContractModel",
    "CustomLabels",
    "DateStr",
    "DateTimeStr",
    "DetectedLabels",
    "EVENT_DATA_DISCRIMINATOR",
    "EVENT_DATA_SCHEMAS",
    "ErrorDetails",
    "GatewayAuditPayload",
    "HolmesGPTResponsePayload",
    "IncidentResponseData",
    "IncidentResponseDataAlternativeWorkflowsItem",
    "IncidentResponseDataRootCauseAnalysis",
    "IncidentResponseDataSelectedWorkflow",
    "LLMRequestPayload",
    "LLMResponsePayload",
    "LLMToolCallPayload",
    "MandatoryLabels",
    "NotificationAudit",
    "NotificationAuditPayload",
    "NotificationAuditPayloadRecipientsItem",
    "NotificationAuditResponse",
    "NotificationMessageAcknowledgedPayload",
    "NotificationMessageEscalatedPayload",
    "NotificationMessageFailedPayload",
    "NotificationMessageSentPayload",
    "NumberRange",
    "ProviderResponseSummary",
    "QueryMetadata",
    "RFC7807Problem",
    "ReconstructionResponse",
    "RemediationApprovalAuditPayload",
    "RemediationOrchestratorAuditPayload",
    "RemediationRequestWebhookAuditPayload",
    "RemediationWorkflow",
    "ResultsMetadata",
    "ScoringV1Audit",
    "SearchExecutionMetadata",
    "SignalProcessingAuditPayload",
    "StrictInt32",
    "StrictInt64",
    "StrictNumber",
    "TimeoutConfig",
    "UuidStr",
    "ValidationResult",
    "WorkflowCatalogCreatedPayload",
    "WorkflowCatalogUpdatedFields",
    "WorkflowCatalogUpdatedPayload",
    "WorkflowDisableRequest",
    "WorkflowExecutionAuditPayload",
    "WorkflowExecutionWebhookAuditPayload",
    "WorkflowListResponse",
    "WorkflowResultAudit",
    "WorkflowSearchAuditPayload",
    "WorkflowSearchFilters",
    "WorkflowSearchRequest",
    "WorkflowSearchResponse",
    "WorkflowSearchResult",
    "WorkflowUpdateRequest",
    "WorkflowValidationPayload",
    "validate_event_data",
]

for _model in (
    AIAnalysisApprovalDecisionPayload,
    AIAnalysisErrorPayload,
    AIAnalysisHolmesGPTCallPayload,
    AIAnalysisPhaseTransitionPayload,
    AIAnalysisRegoEvaluationPayload,
    AsyncAcceptanceResponse,
    AuditEventRequest,
    AuditEvent,
    AuditEventResponse,
    AuditEventsQueryResponsePagination,
    AuditEventsQueryResponse,
    AuditExportResponseEventsItem,
    AuditExportResponseExportMetadataQueryFilters,
    AuditExportResponseExportMetadata,
    AuditExportResponseHashChainVerification,
    AuditExportResponse,
    BatchAuditEventResponse,
    CustomLabels,
    DetectedLabels,
    ErrorDetails,
    GatewayAuditPayload,
    IncidentResponseDataAlternativeWorkflowsItem,
    IncidentResponseDataRootCauseAnalysis,
    IncidentResponseDataSelectedWorkflow,
    IncidentResponseData,
    HolmesGPTResponsePayload,
    LLMRequestPayload,
    LLMResponsePayload,
    LLMToolCallPayload,
    MandatoryLabels,
    NotificationAudit,
    NotificationAuditPayloadRecipientsItem,
    NotificationAuditPayload,
    NotificationAuditResponse,
    NotificationMessageAcknowledgedPayload,
    NotificationMessageEscalatedPayload,
    NotificationMessageFailedPayload,
    NotificationMessageSentPayload,
    ProviderResponseSummary,
    AIAnalysisAuditPayload,
    RFC7807Problem,
    RemediationApprovalAuditPayload,
    RemediationWorkflow,
    ScoringV1Audit,
    SearchExecutionMetadata,
    SignalProcessingAuditPayload,
    TimeoutConfig,
    RemediationOrchestratorAuditPayload,
    RemediationRequestWebhookAuditPayload,
    ValidationResult,
    ReconstructionResponse,
    WorkflowCatalogCreatedPayload,
    WorkflowCatalogUpdatedFields,
    WorkflowCatalogUpdatedPayload,
    WorkflowDisableRequest,
    WorkflowExecutionAuditPayload,
    WorkflowExecutionWebhookAuditPayload,
    WorkflowListResponse,
    WorkflowResultAudit,
    ResultsMetadata,
    WorkflowSearchFilters,
    QueryMetadata,
    WorkflowSearchAuditPayload,
    WorkflowSearchRequest,
    WorkflowSearchResult,
    WorkflowSearchResponse,
    WorkflowUpdateRequest,
    WorkflowValidationPayload,
):
    _model.model_rebuild()
del _model
