"""POST /api/v1/audit/remediation-requests/{correlation_id}/reconstruct against
the real service: events go in through the audit API, the YAML comes back and
is read with PyYAML as a Kubernetes object."""
from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import yaml

from app.models.reconstruction import ReconstructionResponse
from tests.api.test_foundation import assert_problem
from harness import unique

PATH = "/api/v1/audit/remediation-requests/{}/reconstruct"
TYPE = "https://kubernaut.ai/problems/"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

# spec §6.4 (e2e FULL-01). Time-dependent lines and the payload placeholder
# are substituted before comparing.
SPEC_EXAMPLE = """\
apiVersion: remediation.kubernaut.ai/v1alpha1
kind: RemediationRequest
metadata:
  annotations:
    kubernaut.ai/correlation-id: {cid}
    kubernaut.ai/reconstructed-at: "{at}"
    kubernaut.ai/reconstruction-source: audit-trail
  creationTimestamp: null
  finalizers:
  - kubernaut.ai/audit-retention
  labels:
    app.kubernetes.io/managed-by: kubernaut-datastorage
    kubernaut.ai/correlation-id: {cid}
    kubernaut.ai/reconstructed: "true"
  name: {name}
  namespace: kubernaut-system
spec:
  deduplication:
    firstOccurrence: null
    lastOccurrence: null
  firingTime: null
  originalPayload: {payload}
  providerData: eyJpbmNpZGVudF9pZCI6ImUyZS1pbmNpZGVudC0xMjMiLCJhbmFseXNpc19wcmV2aWV3IjoiSGlnaCBDUFUgdXNhZ2UgZGV0ZWN0ZWQgaW4gcHJvZHVjdGlvbiBwb2RzIiwibmVlZHNfaHVtYW5fcmV2aWV3IjpmYWxzZSwid2FybmluZ3NfY291bnQiOjB9
  receivedTime: null
  severity: ""
  signalAnnotations:
    description: Pod app-pod-123 CPU usage is at 92%
    summary: CPU usage exceeded 80%
  signalFingerprint: ""
  signalLabels:
    alertname: HighCPUUsage
    pod: app-pod-123
    severity: critical
  signalName: HighCPUUsage
  signalType: prometheus-alert
  targetResource:
    kind: ""
    name: ""
  targetType: ""
status:
  executionRef:
    apiVersion: workflowexecution.kubernaut.ai/v1alpha1
    kind: WorkflowExecution
    name: we-e2e-123
  selectedWorkflowRef:
    containerImage: registry.io/workflows/cpu-remediation@sha256:abc123def456789012345678901234567890123456789012345678901234
    version: v1.2.0
    workflowId: cpu-remediation-workflow
  timeoutConfig:
    analyzing: 15m0s
    executing: 30m0s
    global: 1h0m0s
    processing: 10m0s
"""

IMAGE = ("registry.io/workflows/cpu-remediation@sha256:"
         "abc123def456789012345678901234567890123456789012345678901234")
ORIGINAL_PAYLOAD = {"alert": "HighCPUUsage", "status": "firing",
                    "labels": {"alertname": "HighCPUUsage", "severity": "critical"}}


# -- event builders (the original's e2e trail, with contract enum values) ----

def _ts(seconds_ago: float) -> str:
    ts = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    return ts.isoformat().replace("+00:00", "Z")


def envelope(cid: str, event_type: str, data: dict, seconds_ago: float, **extra) -> dict:
    category = {"gateway": "gateway", "orchestrator": "orchestration", "aianalysis": "analysis",
                "workflowexecution": "workflowexecution"}[event_type.split(".")[0]]
    return {"version": "1.0", "event_type": event_type, "event_timestamp": _ts(seconds_ago),
            "event_category": category, "event_action": event_type.rsplit(".", 1)[1],
            "event_outcome": "success", "correlation_id": cid,
            "event_data": {"event_type": event_type, **data}, **extra}


def gateway(cid: str, ago: float = 60, *, extras: bool = True, **data) -> dict:
    body = {"signal_type": "prometheus-alert", "alert_name": "HighCPUUsage",
            "namespace": "production", "fingerprint": "e2e-fingerprint-123"}
    if extras:
        body.update(signal_labels={"alertname": "HighCPUUsage", "severity": "critical",
                                   "pod": "app-pod-123"},
                    signal_annotations={"summary": "CPU usage exceeded 80%",
                                        "description": "Pod app-pod-123 CPU usage is at 92%"},
                    original_payload=ORIGINAL_PAYLOAD)
    body.update(data)
    return envelope(cid, "gateway.signal.received", body, ago)


def orchestrator(cid: str, ago: float = 50, timeouts: dict | None = None,
                 event_type: str = "orchestrator.lifecycle.created") -> dict:
    data = {"rr_name": "rr-e2e-123", "namespace": "production"}
    if timeouts is not False:
        data["timeout_config"] = timeouts or {"global": "1h", "processing": "10m",
                                              "analyzing": "15m", "executing": "30m"}
    return envelope(cid, event_type, data, ago)


def analysis(cid: str, ago: float = 40, **summary) -> dict:
    return envelope(cid, "aianalysis.analysis.completed", {
        "analysis_name": "analysis-e2e-123", "namespace": "production", "phase": "Completed",
        "approval_required": False, "degraded_mode": False, "warnings_count": 0,
        "provider_response_summary": {
            "incident_id": "e2e-incident-123",
            "analysis_preview": "High CPU usage detected in production pods",
            "needs_human_review": False, "warnings_count": 0, **summary}}, ago)


def workflow(cid: str, event_type: str, ago: float, **extra) -> dict:
    data = {"execution_name": "we-e2e-123", "workflow_id": "cpu-remediation-workflow",
            "workflow_version": "v1.2.0", "container_image": IMAGE,
            "target_resource": "deployment/app-deployment", "phase": "Running"}
    return envelope(cid, event_type, data, ago, **extra)


def selection(cid: str, ago: float = 30, **extra) -> dict:
    return workflow(cid, "workflowexecution.selection.completed", ago, **extra)


def execution(cid: str, ago: float = 20, **extra) -> dict:
    return workflow(cid, "workflowexecution.execution.started", ago, **extra)


def full_trail(cid: str) -> list[dict]:
    return [gateway(cid), orchestrator(cid), analysis(cid), selection(cid), execution(cid)]


def store(client, events: list[dict]) -> list[str]:
    resp = client.post("/api/v1/audit/events/batch", json=events)
    assert resp.status_code == 201, resp.text
    return resp.json()["event_ids"]


def reconstruct(client, cid: str):
    return client.post(PATH.format(quote(cid, safe="")))


def ok(client, cid: str) -> tuple[dict, dict]:
    resp = reconstruct(client, cid)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    return body, yaml.safe_load(body["remediation_request_yaml"])


# -- the full trail ----------------------------------------------------------

def test_full_trail_reproduces_the_spec_example(client):
    cid = unique("rr-demo")
    store(client, full_trail(cid))
    resp = reconstruct(client, cid)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert list(body) == ["remediation_request_yaml", "validation", "reconstructed_at",
                          "correlation_id"]
    assert body["validation"] == {"is_valid": True, "completeness": 100, "errors": [],
                                  "warnings": []}
    assert body["correlation_id"] == cid
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["reconstructed_at"])
    ReconstructionResponse.model_validate(body)  # the contract's shape
    assert list(body["validation"]) == ["is_valid", "completeness", "errors", "warnings"]

    text = body["remediation_request_yaml"]
    doc = yaml.safe_load(text)
    meta = doc["metadata"]
    assert re.fullmatch(rf"rr-reconstructed-{re.escape(cid)}-\d+", meta["name"])
    payload = doc["spec"]["originalPayload"]
    assert json.loads(base64.b64decode(payload, validate=True)) == ORIGINAL_PAYLOAD
    expected = SPEC_EXAMPLE.format(cid=cid, name=meta["name"], payload=payload,
                                   at=meta["annotations"]["kubernaut.ai/reconstructed-at"])
    # Line for line, hence field for field and in the same key order.
    assert text.splitlines() == expected.splitlines()
    assert text == expected
    # The e2e test's substring checks.
    for needle in ("HighCPUUsage", "prometheus-alert", "1h", "providerData", "selectedWorkflowRef",
                   "cpu-remediation-workflow", "executionRef", "we-e2e-123"):
        assert needle in text


def test_document_is_a_kubernetes_object(client):
    cid = unique("rr-k8s")
    store(client, full_trail(cid))
    body, doc = ok(client, cid)
    assert doc["apiVersion"] == "remediation.kubernaut.ai/v1alpha1"
    assert doc["kind"] == "RemediationRequest"
    meta = doc["metadata"]
    assert DNS_SUBDOMAIN.match(meta["name"]) and len(meta["name"]) <= 253
    assert meta["namespace"] == "kubernaut-system"
    assert meta["finalizers"] == ["kubernaut.ai/audit-retention"]
    assert meta["creationTimestamp"] is None
    assert all(isinstance(v, str) and LABEL_VALUE.match(v) for v in meta["labels"].values())
    assert meta["labels"]["kubernaut.ai/reconstructed"] == "true"  # a string, not a bool
    at = meta["annotations"]["kubernaut.ai/reconstructed-at"]
    assert isinstance(at, str) and datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ")
    assert int(meta["name"].rsplit("-", 1)[1]) == int(
        datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
    assert doc["spec"]["severity"] == "" and doc["spec"]["firingTime"] is None
    # What PyYAML reads is exactly the JSON the SQL function built.
    assert yaml.safe_load(yaml.safe_dump(doc)) == doc


def test_reconstruction_is_read_only_and_repeatable(client, module_conn):
    cid = unique("rr-ro")
    store(client, full_trail(cid))
    count = "SELECT count(*), max(chain_seq) FROM audit_events WHERE correlation_id = %s"
    before = module_conn.execute(count, (cid,)).fetchone()
    _, first = ok(client, cid)
    _, second = ok(client, cid)
    assert module_conn.execute(count, (cid,)).fetchone() == before
    for doc in (first, second):
        doc["metadata"].pop("name")
        doc["metadata"]["annotations"].pop("kubernaut.ai/reconstructed-at")
    assert first == second


# -- partial trails: every completeness step ---------------------------------

def _steps(cid):
    gw_bare = gateway(cid, extras=False)
    labels = gateway(cid, extras=False, signal_labels={"alertname": "HighCPUUsage"})
    labels_ann = gateway(cid, extras=False, signal_labels={"a": "b"},
                         signal_annotations={"c": "d"})
    return {
        22: [gw_bare],
        33: [labels],
        44: [labels_ann],
        55: [gateway(cid)],
        66: [gateway(cid), orchestrator(cid)],
        77: [gateway(cid), orchestrator(cid), analysis(cid)],
        88: [gateway(cid), orchestrator(cid), analysis(cid), selection(cid)],
        100: full_trail(cid),
    }


@pytest.mark.parametrize("completeness", [22, 33, 44, 55, 66, 77, 88, 100])
def test_each_completeness_step(client, completeness):
    cid = unique(f"rr-step-{completeness}")
    store(client, _steps(cid)[completeness])
    resp = reconstruct(client, cid)
    if completeness < 50:
        body = assert_problem(resp, 400)
        assert body["type"] == TYPE + "reconstruction/incomplete-data"
        assert body["title"] == "Incomplete Reconstruction"
        assert body["detail"] == f"Reconstructed RR is only {completeness}% complete"
        assert body["validation"]["completeness"] == completeness
        assert len(body["validation"]["warnings"]) == 9 - completeness // 11
        return
    assert resp.status_code == 200, resp.text
    validation = resp.json()["validation"]
    assert validation["completeness"] == completeness
    assert validation["is_valid"] is True and validation["errors"] == []
    assert len(validation["warnings"]) == 9 - completeness // 11
    doc = yaml.safe_load(resp.json()["remediation_request_yaml"])
    if completeness == 55:
        assert doc["status"] == {}
        assert "status: {}" in resp.json()["remediation_request_yaml"].splitlines()


def test_gateway_and_orchestrator_values(client):
    """The original's integration case: 66%, fields as seeded."""
    cid = unique("rr-int")
    store(client, [
        gateway(cid, extras=False, alert_name="HighCPU",
                signal_labels={"alertname": "HighCPU", "severity": "critical"},
                signal_annotations={"summary": "CPU usage is high"},
                original_payload={"alert": "data"}),
        orchestrator(cid, timeouts={"global": "1h", "processing": "10m", "analyzing": "15m"}),
    ])
    body, doc = ok(client, cid)
    assert body["validation"]["completeness"] == 66 and body["validation"]["is_valid"]
    spec = doc["spec"]
    assert spec["signalName"] == "HighCPU" and spec["signalType"] == "prometheus-alert"
    assert spec["signalLabels"] == {"alertname": "HighCPU", "severity": "critical"}
    assert spec["signalAnnotations"] == {"summary": "CPU usage is high"}
    assert json.loads(base64.b64decode(spec["originalPayload"])) == {"alert": "data"}
    assert doc["status"]["timeoutConfig"] == {"global": "1h0m0s", "processing": "10m0s",
                                              "analyzing": "15m0s"}


def test_full02_names_the_missing_parts(client):
    cid = unique("rr-full02")
    store(client, [gateway(cid, extras=False), orchestrator(cid, timeouts={"global": "30m"})])
    body = assert_problem(reconstruct(client, cid), 400)
    assert body["detail"] == "Reconstructed RR is only 33% complete"
    warnings = " ".join(body["validation"]["warnings"])
    for part in ("providerData", "selectedWorkflowRef", "executionRef"):
        assert part in warnings


def test_other_event_types_are_ignored(client):
    cid = unique("rr-full03")
    store(client, [gateway(cid),
                   orchestrator(cid, timeouts=False, event_type="orchestrator.lifecycle.failed")])
    body, doc = ok(client, cid)
    assert body["validation"]["completeness"] == 55
    assert doc["status"] == {}


def test_later_events_win_and_conflicts_are_reported(client):
    cid = unique("rr-merge")
    store(client, [
        gateway(cid, ago=90, alert_name="First", signal_labels={"a": "1", "b": "old"}),
        gateway(cid, ago=80, alert_name="Second", signal_labels={"b": "new", "c": "3"}),
        orchestrator(cid, ago=70, timeouts={"global": "2h", "processing": "5m"}),
        orchestrator(cid, ago=60, timeouts={"executing": "90s"}),
        execution(cid, ago=50, namespace="row-ns"),
    ])
    body, doc = ok(client, cid)
    assert doc["spec"]["signalName"] == "Second"
    assert doc["spec"]["signalLabels"] == {"a": "1", "b": "new", "c": "3"}
    assert doc["status"]["timeoutConfig"] == {"executing": "1m30s"}
    assert doc["status"]["executionRef"]["namespace"] == "row-ns"
    assert body["validation"]["warnings"][-1].startswith(
        'Conflicting gateway.signal.received events: signalName "First" replaced by "Second"')


def test_empty_signal_type_is_returned_invalid(client, module_conn):
    """The contract forbids an empty signal_type on input; a row written by
    a DBA can still have one."""
    cid = unique("rr-notype")
    store(client, [orchestrator(cid)])
    data = gateway(cid)["event_data"] | {"signal_type": ""}
    _append(module_conn, cid, "gateway.signal.received", data)
    body, doc = ok(client, cid)
    assert body["validation"]["is_valid"] is False
    assert body["validation"]["errors"] == ["SignalType is required in Spec"]
    assert body["validation"]["completeness"] == 55
    assert doc["spec"]["signalType"] == ""


# -- errors --------------------------------------------------------------------

def test_unknown_correlation_id_is_404(client):
    cid = unique("rr-none")
    body = assert_problem(reconstruct(client, cid), 404)
    assert body["type"] == TYPE + "audit/correlation-not-found"
    assert body["title"] == "Audit Events Not Found"
    assert body["detail"] == f"No audit events found for correlation_id: {cid}"


def test_orchestrator_only_is_400_missing_gateway(client):
    cid = unique("rr-orch")
    store(client, [orchestrator(cid)])
    body = assert_problem(reconstruct(client, cid), 400)
    assert body["type"] == TYPE + "reconstruction/missing-gateway-event"
    assert body["title"] == "Reconstruction Failed"
    assert "gateway.signal.received" in body["detail"]
    assert body["detail"] == "gateway.signal.received event is required for reconstruction"


def test_only_unparseable_events_is_400(client):
    cid = unique("rr-noalert")
    store(client, [gateway(cid, alert_name="")])
    body = assert_problem(reconstruct(client, cid), 400)
    assert body["type"] == TYPE + "reconstruction/no-parseable-events"
    assert body["detail"] == "No parseable audit events found for reconstruction"


def test_minimal_gateway_is_400_incomplete_22(client):
    cid = unique("rr-partial")
    store(client, [gateway(cid, extras=False)])
    body = assert_problem(reconstruct(client, cid), 400)
    assert body["type"] == TYPE + "reconstruction/incomplete-data"
    assert body["detail"] == "Reconstructed RR is only 22% complete"


def test_invalid_duration_is_400(client):
    cid = unique("rr-dur")
    store(client, [gateway(cid), orchestrator(cid, timeouts={"global": "1d"})])
    body = assert_problem(reconstruct(client, cid), 400)
    assert body["type"] == TYPE + "reconstruction/invalid-duration"
    assert body["title"] == "Reconstruction Failed"
    assert body["detail"] == ("failed to map event orchestrator.lifecycle.created: invalid Global "
                              "duration: invalid duration '1d': time: unknown unit \"d\" in "
                              "duration \"1d\"")


def test_problem_types_carry_a_single_prefix(client):
    cid = unique("rr-prefix")
    body = assert_problem(reconstruct(client, cid), 404)
    assert body["type"].count("https://") == 1


def test_bad_path_encoding_is_400(client):
    body = assert_problem(client.post(PATH.format("%FF")), 400)
    assert body["type"] == TYPE + "validation-error"


# -- malformed stored payloads: reported, never a 500 -------------------------

def _append(conn, cid: str, event_type: str, data, *, event_id: str | None = None,
            seconds_ago: int = 5) -> str:
    """A row written straight through the SQL API (bypasses payload validation)."""
    event_id = event_id or str(uuid.uuid4())
    conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps([{
        "event_id": event_id, "event_timestamp": _ts(seconds_ago), "event_type": event_type,
        "event_category": event_type.split(".")[0], "event_action": "a",
        "event_outcome": "success", "actor_type": "service", "actor_id": "dba",
        "resource_type": "r", "resource_id": "r", "correlation_id": cid,
        "event_data": data}]),))
    return event_id


def test_malformed_payload_is_a_validation_error_naming_the_event(client, module_conn):
    cid = unique("rr-bad")
    store(client, full_trail(cid))
    bad = _append(module_conn, cid, "aianalysis.analysis.completed",
                  {"event_type": "aianalysis.analysis.completed", "analysis_name": "x",
                   "namespace": "n", "phase": "Completed", "approval_required": "yes",
                   "degraded_mode": False, "warnings_count": 0})
    body, doc = ok(client, cid)
    assert body["validation"]["is_valid"] is False
    assert body["validation"]["completeness"] == 100  # the earlier analysis still counts
    assert body["validation"]["errors"] == [
        f"Event {bad} (aianalysis.analysis.completed) skipped: malformed event_data: "
        'field "approval_required": expected boolean, got string']


def test_malformed_only_gateway_is_400_with_the_reason(client, module_conn):
    cid = unique("rr-badgw")
    store(client, [orchestrator(cid)])
    bad = _append(module_conn, cid, "gateway.signal.received",
                  {"event_type": "gateway.signal.received", "alert_name": "A"})
    body = assert_problem(reconstruct(client, cid), 400)
    assert body["type"] == TYPE + "reconstruction/missing-gateway-event"
    assert body["errors"] == [f"Event {bad} (gateway.signal.received) skipped: malformed "
                              'event_data: missing required field "signal_type"']


def test_payload_of_the_wrong_json_type_is_400_not_500(client, module_conn):
    cid = unique("rr-array")
    _append(module_conn, cid, "gateway.signal.received", ["not", "an", "object"])
    body = assert_problem(reconstruct(client, cid), 400)
    assert body["type"] == TYPE + "reconstruction/no-parseable-events"
    assert "expected an object, got array" in body["errors"][0]


# -- unicode and large payloads ------------------------------------------------

AWKWARD = {
    "unicode": "Ünïcødé ✓ 日本語 🚀",
    "yes": "yes", "no": "NO", "y": "y", "bool": "true", "null": "null", "tilde": "~",
    "int": "123", "octal": "0o17", "hex": "0x1F", "float": "1e3", "sexagesimal": "1:30",
    "date": "2026-01-14", "timestamp": "2026-01-14T10:00:00Z", "empty": "",
    "lead": " leading space", "trail": "trailing space ", "colon": "a: b", "hash": "a #b",
    "dash": "- item", "quote": "'single' \"double\"", "backslash": "C:\\path\\n",
    "newline": "line one\nline two\n", "tab": "a\tb", "brace": "{x}", "star": "*ref",
    "percent": "%TAG", "bang": "!tag", "at": "@x", "pipe": "|", "gt": ">", "question": "? q",
    "control": "bell\u0007", "nel": "a\u0085b", "ls": "a\u2028b", "bom": "\ufeffx",
    "nbsp": "\u00a0x\u00a0", "merge": "<<", "equals": "=", "docstart": "--- x", "docend": "...",
    "123": "numeric key", "true": "bool key", "": "empty key", "a: b": "colon key",
}


def test_unicode_and_awkward_strings_round_trip(client):
    cid = unique("rr-unicode")
    store(client, [gateway(cid, signal_labels=AWKWARD,
                           signal_annotations={"description": "Überlast — 92% CPU 🔥\n" * 3},
                           original_payload={"text": "ü ✓ 🚀", "nested": {"k": [1, "two", None]}})])
    body, doc = ok(client, cid)
    assert doc["spec"]["signalLabels"] == AWKWARD
    assert doc["spec"]["signalAnnotations"] == {"description": "Überlast — 92% CPU 🔥\n" * 3}
    assert json.loads(base64.b64decode(doc["spec"]["originalPayload"]).decode()) == {
        "text": "ü ✓ 🚀", "nested": {"k": [1, "two", None]}}
    # Values stay on one line each (greppable).
    assert "    unicode: Ünïcødé ✓ 日本語 🚀" in body["remediation_request_yaml"].splitlines()


def test_unicode_correlation_id(client):
    cid = unique("Größe/ü 1")
    store(client, full_trail(cid))
    body, doc = ok(client, cid)
    assert body["correlation_id"] == cid
    meta = doc["metadata"]
    assert meta["annotations"]["kubernaut.ai/correlation-id"] == cid
    assert DNS_SUBDOMAIN.match(meta["name"]) and len(meta["name"]) <= 253
    assert LABEL_VALUE.match(meta["labels"]["kubernaut.ai/correlation-id"])
    assert len(meta["labels"]["kubernaut.ai/correlation-id"]) <= 63


def test_large_payloads_round_trip(client):
    cid = unique("rr-large")
    labels = {f"label-{i:04d}": "v" * 50 for i in range(2000)}
    blob = {"samples": ["x" * 1000 for _ in range(600)], "ü": "✓"}
    store(client, [gateway(cid, signal_labels=labels, original_payload=blob)])
    body, doc = ok(client, cid)
    assert doc["spec"]["signalLabels"] == labels
    assert json.loads(base64.b64decode(doc["spec"]["originalPayload"])) == blob
    assert body["validation"]["completeness"] == 55


def test_many_events_merge_in_time_order(client):
    cid = unique("rr-many")
    events = [gateway(cid, ago=600)]
    events += [gateway(cid, ago=500 - i, extras=False, signal_labels={f"k{i}": str(i)},
                       alert_name="HighCPUUsage") for i in range(300)]
    events += [orchestrator(cid, ago=100 - i / 10, timeouts={"global": f"{i + 1}m"})
               for i in range(200)]
    store(client, events)
    body, doc = ok(client, cid)
    assert doc["status"]["timeoutConfig"] == {"global": "3h20m0s"}
    assert len(doc["spec"]["signalLabels"]) == 3 + 300
    assert body["validation"]["completeness"] == 66


def test_openapi_lists_the_endpoint(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/audit/remediation-requests/{correlation_id}/reconstruct"]["post"]
    assert {"200", "400", "404"} <= set(op["responses"])
