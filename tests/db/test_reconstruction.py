"""Reconstruction properties against a real database: what the SQL function
builds survives the YAML renderer unchanged for any strings, and Go duration
text parses back to the same value."""
from __future__ import annotations

import json
import uuid

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.reconstruction_yaml import _go_key_less, render, scalar

# Text PostgreSQL can store (no NUL, no lone surrogates).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=40)
PROPS = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


def _append(conn, cid: str, data: dict) -> None:
    conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps([{
        "event_id": str(uuid.uuid4()), "event_timestamp": "2026-01-14T10:00:00Z",
        "event_type": "gateway.signal.received", "event_category": "gateway",
        "event_action": "received", "event_outcome": "success", "actor_type": "service",
        "actor_id": "t", "resource_type": "r", "resource_id": "r", "correlation_id": cid,
        "event_data": data}]),))


@PROPS
@given(labels=st.dictionaries(TEXT, TEXT, min_size=1, max_size=8),
       annotations=st.dictionaries(TEXT, TEXT, min_size=1, max_size=4),
       cid=TEXT.filter(bool))
def test_sql_document_survives_yaml(conn, labels, annotations, cid):
    cid = f"{cid}-{uuid.uuid4().hex[:6]}"
    _append(conn, cid, {"event_type": "gateway.signal.received", "signal_type": "prometheus-alert",
                        "alert_name": "A", "namespace": "n", "fingerprint": "f",
                        "signal_labels": labels, "signal_annotations": annotations,
                        "original_payload": {"labels": labels}})
    result = conn.execute("SELECT datastorage.reconstruct_remediation_request(%s)",
                          (cid,)).fetchone()[0]
    document = result["remediation_request"]
    assert yaml.safe_load(render(document)) == document
    assert document["spec"]["signalLabels"] == labels
    assert document["metadata"]["annotations"]["kubernaut.ai/correlation-id"] == cid


# Any JSON value, to put in place of a payload member.
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)
MEMBERS = {"gateway": ["signal_type", "alert_name", "signal_labels", "original_payload",
                       "occurrence_count", "error_details", "fingerprint"],
           "aianalysis": ["approval_required", "warnings_count", "provider_response_summary",
                          "confidence", "phase"],
           "workflowexecution": ["started_at", "completed_at", "container_image",
                                 "error_details"],
           "orchestrator": ["timeout_config", "duration_ms", "required_by", "rr_name"]}
VALID = {"gateway": {"event_type": "gateway.signal.received", "signal_type": "prometheus-alert",
                     "alert_name": "A", "namespace": "n", "fingerprint": "f"},
         "aianalysis": {"event_type": "aianalysis.analysis.completed", "analysis_name": "a",
                        "namespace": "n", "phase": "Completed", "approval_required": False,
                        "degraded_mode": False, "warnings_count": 0},
         "workflowexecution": {"event_type": "workflowexecution.execution.started",
                               "workflow_id": "w", "workflow_version": "1",
                               "target_resource": "t", "phase": "Running",
                               "container_image": "i", "execution_name": "e"},
         "orchestrator": {"event_type": "orchestrator.lifecycle.created", "rr_name": "r",
                          "namespace": "n"}}


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), shape=st.sampled_from(sorted(VALID)))
def test_fast_check_agrees_with_the_explanation(conn, data, shape):
    """The jsonpath verdict is a shortcut: whenever it accepts a payload, the
    explaining checker finds nothing wrong with it (and a valid one passes)."""
    payload = dict(VALID[shape])
    member = data.draw(st.sampled_from(MEMBERS[shape]))
    value = data.draw(JSON | st.sampled_from(["2026-01-31T23:59:59.5+01:00", "2026-02-29T00:00:00Z",
                                              "2024-02-29T00:00:00Z", 2**31, -2**63, 1.0]))
    payload[member] = value
    fast, problem, valid_fast = conn.execute(
        "SELECT jsonb_path_match(%s::jsonb, datastorage.reconstruction_shape_path(%s)),"
        "       datastorage.reconstruction_payload_problem(%s::jsonb, %s),"
        "       jsonb_path_match(%s::jsonb, datastorage.reconstruction_shape_path(%s))",
        (json.dumps(payload), shape, json.dumps(payload), shape,
         json.dumps(VALID[shape]), shape)).fetchone()
    assert valid_fast is True
    if fast:
        assert problem is None, (payload, problem)


def test_fast_check_refuses_nested_arrays_in_string_maps_and_lists(conn):
    """Found by the property above: in lax mode a jsonpath filter unwraps an
    array, so a map value `[]` or `["x"]` once passed the shortcut while the
    explaining checker (rightly) refused it."""
    error = {"message": "m", "code": "c", "component": "k", "retry_possible": False}
    cases = [("gateway", "signal_labels", {"": []}),
             ("gateway", "signal_labels", {"a": ["x"]}),
             ("gateway", "error_details", dict(error, stack_trace=[["x"]])),
             ("gateway", "error_details", dict(error, stack_trace=[[]]))]
    for shape, member, value in cases:
        payload = dict(VALID[shape], **{member: value})
        fast, problem = conn.execute(
            "SELECT jsonb_path_match(%s::jsonb, datastorage.reconstruction_shape_path(%s)),"
            "       datastorage.reconstruction_payload_problem(%s::jsonb, %s)",
            (json.dumps(payload), shape, json.dumps(payload), shape)).fetchone()
        assert fast is False and problem, (value, fast, problem)
    ok = dict(VALID["gateway"], signal_labels={"a": "x"}, error_details=dict(error, stack_trace=["x"]))
    assert conn.execute("SELECT jsonb_path_match(%s::jsonb, datastorage.reconstruction_shape_path('gateway'))",
                        (json.dumps(ok),)).fetchone()[0] is True


@settings(max_examples=200, deadline=None)
@given(value=TEXT)
def test_any_string_reads_back_as_itself(value):
    assert yaml.safe_load(f"k: {scalar(value)}\n") == {"k": value}
    assert yaml.safe_load(f"{scalar(value)}: v\n") == {value: "v"}


def test_strings_that_read_as_other_types_are_quoted():
    for value in ("true", "yes", "y", "N", "off", "null", "~", "", "123", "1e3", "0x1F", "1:30",
                  "2026-01-14T10:00:00Z", "2026-01-14", ".inf", "<<", "="):
        assert scalar(value).startswith('"'), value
    for value in ("1h0m0s", "30m0s", "v1.2.0", "HighCPUUsage", "kubernaut.ai/audit-retention",
                  "registry.io/w@sha256:abc", "CPU usage exceeded 80%", "eyJhIjoxfQ=="):
        assert scalar(value) == value


def test_keys_follow_go_yaml_order():
    keys = ["b", "a10", "Z", "a", "_x", "a9", "B", "1"]
    # Insertion sort with go-yaml's Less, independent of the renderer's sort.
    ordered = keys[:]
    for i in range(1, len(ordered)):
        j = i
        while j > 0 and _go_key_less(ordered[j], ordered[j - 1]):
            ordered[j], ordered[j - 1] = ordered[j - 1], ordered[j]
            j -= 1
    assert ordered == ["_x", "1", "B", "Z", "a", "a9", "a10", "b"]
    text = render(dict.fromkeys(keys, "v"))
    assert [line.split(":")[0] for line in text.splitlines()] == [
        '"1"' if k == "1" else k for k in ordered]


def test_very_long_keys_use_explicit_form():
    key = "k" * 2000
    assert yaml.safe_load(render({key: {"a": "b"}, "x": [key]})) == {key: {"a": "b"}, "x": [key]}


def test_sequences_and_empty_collections():
    doc = {"s": [{"b": 1, "a": [1, 2]}, [3, "x"], None], "e": {}, "l": [], "f": 1.5, "t": True}
    assert yaml.safe_load(render(doc)) == doc
    assert "e: {}" in render(doc) and "l: []" in render(doc)


def test_duration_text_parses_back(conn):
    values = [0, 1, -1, 999, 1000, 1500, 999_999, 1_000_000, 1_500_000, 999_999_999,
              1_000_000_000, 90_000_000_000, 3_600_000_000_000, 5_400_000_000_000,
              2**63 - 1, -(2**63), 86_400_123_456_789]
    rows = conn.execute("""
        SELECT n, datastorage.go_duration_text(n), (datastorage.go_duration_parse(
                   datastorage.go_duration_text(n))).nanos
          FROM unnest(%s::numeric[]) n""", (values,)).fetchall()
    for n, text, back in rows:
        assert back == n, (n, text)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_any_int64_duration_round_trips(conn, n):
    text, back = conn.execute(
        "SELECT datastorage.go_duration_text(%s::numeric), "
        "(datastorage.go_duration_parse(datastorage.go_duration_text(%s::numeric))).nanos",
        (n, n)).fetchone()
    assert back == n, text
