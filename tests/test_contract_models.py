"""The generated contract models (app/models/contract.py) mirror the wire contract.

No database needed. Payloads are built from the contract itself (required
members only), so every one of the 47 `event_data` discriminator values is
covered without hand-written fixtures drifting from the contract.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.models import contract as c
from app.models import generate

CONTRACT_PATH = generate.DEFAULT_CONTRACT
needs_contract = pytest.mark.skipif(
    not CONTRACT_PATH.exists(), reason=f"contract not found at {CONTRACT_PATH}"
)


def _load_contract() -> dict[str, Any]:
    if not CONTRACT_PATH.exists():
        return {"components": {"schemas": {}}}
    return yaml.load(CONTRACT_PATH.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


CONTRACT = _load_contract()
SCHEMAS: dict[str, Any] = CONTRACT["components"]["schemas"]
EVENT_DATA = SCHEMAS.get("AuditEventRequest", {}).get("properties", {}).get("event_data", {})
MAPPING: dict[str, str] = {
    value: ref.rsplit("/", 1)[-1]
    for value, ref in EVENT_DATA.get("discriminator", {}).get("mapping", {}).items()
}

UUID = "123e4567-e89b-12d3-a456-426614174000"
TIMESTAMP = "2025-01-02T03:04:05Z"


# ---------------------------------------------------------------------------
# Building payloads from the contract
# ---------------------------------------------------------------------------

def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def minimal(schema: dict[str, Any]) -> Any:
    """The smallest valid value for `schema`: required members only."""
    schema = _resolve(schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        assert "pattern" not in schema, "teach minimal() this pattern"
        fmt = schema.get("format")
        if fmt == "date-time":
            return TIMESTAMP
        if fmt == "date":
            return "2025-01-02"
        if fmt == "uuid":
            return UUID
        return "x" * max(1, schema.get("minLength", 0))
    if kind == "integer":
        return schema.get("minimum", 0)
    if kind == "number":
        return min(0.5, schema.get("maximum", 0.5)) if "minimum" not in schema else schema["minimum"]
    if kind == "boolean":
        return True
    if kind == "array":
        return [minimal(schema["items"]) for _ in range(schema.get("minItems", 0))]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: minimal(props[name]) for name in schema.get("required", [])}
    if kind is None:  # untyped: anything goes
        return {"free": ["form", 1, None]}
    raise AssertionError(f"minimal() does not know {schema}")


def with_defaults(schema: dict[str, Any], value: Any) -> Any:
    """`value` plus the defaults the contract declares, at every depth."""
    schema = _resolve(schema)
    if isinstance(value, list) and "items" in schema:
        return [with_defaults(schema["items"], v) for v in value]
    if isinstance(value, dict) and "properties" in schema:
        out = dict(value)
        for name, prop in schema["properties"].items():
            if name in out:
                out[name] = with_defaults(prop, out[name])
            elif "default" in _resolve(prop):
                out[name] = _resolve(prop)["default"]
        return out
    return value


def minimal_event_data(value: str) -> dict[str, Any]:
    payload = minimal(SCHEMAS[MAPPING[value]])
    payload["event_type"] = value
    return payload


def expected_event_data(value: str, payload: dict[str, Any]) -> dict[str, Any]:
    return with_defaults(SCHEMAS[MAPPING[value]], payload)


def gateway(**overrides: Any) -> dict[str, Any]:
    payload = {
        "event_type": "gateway.signal.received",
        "signal_type": "prometheus-alert",
        "alert_name": "HighMemoryUsage",
        "namespace": "payment",
        "fingerprint": "abc123",
    }
    payload.update(overrides)
    return payload


def holmes(**response_overrides: Any) -> dict[str, Any]:
    response = {
        "incident_id": "inc-1",
        "analysis": "root cause",
        "root_cause_analysis": {"summary": "s", "severity": "high", "contributing_factors": []},
        "confidence": 0.85,
        "timestamp": TIMESTAMP,
    }
    response.update(response_overrides)
    return {
        "event_type": "holmesgpt.response.complete",
        "event_id": "evt-1",
        "incident_id": "inc-1",
        "response_data": response,
    }


def audit_request(**overrides: Any) -> dict[str, Any]:
    body = {
        "version": "1.0",
        "event_type": "gateway.signal.received",
        "event_timestamp": TIMESTAMP,
        "event_category": "gateway",
        "event_action": "received",
        "event_outcome": "success",
        "correlation_id": "rr-2025-001",
        "event_data": gateway(),
    }
    body.update(overrides)
    return body


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> list[dict[str, Any]]:
    return exc.value.errors(include_url=False)


def locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[Any, ...]]:
    return [tuple(e["loc"]) for e in errors_of(exc)]


# ---------------------------------------------------------------------------
# The generated file and its coverage of the contract
# ---------------------------------------------------------------------------

@needs_contract
def test_generated_file_is_up_to_date_with_generator_and_contract():
    committed = Path(c.__file__).read_text(encoding="utf-8")
    assert committed == generate.render(CONTRACT_PATH), (
        "app/models/contract.py is stale: run `python -m app.models.generate`"
    )


@needs_contract
def test_every_contract_schema_is_a_model_class():
    assert len(SCHEMAS) == 59
    for name in SCHEMAS:
        cls = getattr(c, name, None)
        assert isinstance(cls, type) and issubclass(cls, BaseModel), name
        assert name in c.__all__


@needs_contract
def test_event_data_schemas_follow_the_discriminator_mapping():
    assert len(MAPPING) == 47
    assert list(c.EVENT_DATA_SCHEMAS) == list(MAPPING)
    for value, schema_name in MAPPING.items():
        assert c.EVENT_DATA_SCHEMAS[value] is getattr(c, schema_name)
    assert c.EVENT_DATA_DISCRIMINATOR == EVENT_DATA["discriminator"]["propertyName"]


@needs_contract
def test_generated_code_carries_no_contract_prose():
    text = Path(c.__file__).read_text(encoding="utf-8")

    def descriptions(node: Any):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "description" and isinstance(value, str):
                    yield value
                else:
                    yield from descriptions(value)
        elif isinstance(node, list):
            for item in node:
                yield from descriptions(item)

    for description in descriptions(SCHEMAS):
        for line in description.splitlines():
            if len(line.strip()) >= 25:
                assert line.strip() not in text, line


def test_declared_defaults_are_valid_for_their_own_types():
    for name in c.__all__:
        cls = getattr(c, name)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            continue
        for field_name, info in cls.model_fields.items():
            if not info.is_required() and info.default is not None:
                adapter = TypeAdapter(info.rebuild_annotation())
                assert adapter.validate_python(info.default) == info.default, (name, field_name)


def test_every_model_produces_a_json_schema():
    # app/openapi.py builds the service's own document from these models.
    for name in c.__all__:
        cls = getattr(c, name)
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            for mode in ("validation", "serialization"):
                schema = cls.model_json_schema(mode=mode)
                assert "properties" in schema or "additionalProperties" in schema or schema


# ---------------------------------------------------------------------------
# event_data: every discriminator value, minimal payloads
# ---------------------------------------------------------------------------

@needs_contract
@pytest.mark.parametrize("value", list(MAPPING))
def test_minimal_payload_for_every_discriminator_value_validates(value):
    payload = minimal_event_data(value)
    sent = copy.deepcopy(payload)
    out = c.validate_event_data(payload)
    assert payload == sent, "input must not be mutated"
    assert out == expected_event_data(value, payload)
    assert out["event_type"] == value
    assert None not in out.values(), "no None for optional members the client did not send"


@needs_contract
@pytest.mark.parametrize(
    ("value", "member"),
    [
        (value, member)
        for value, schema_name in MAPPING.items()
        for member in SCHEMAS[schema_name].get("required", [])
        if member != "event_type"
    ],
)
def test_missing_required_member_is_named(value, member):
    payload = minimal_event_data(value)
    del payload[member]
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data(payload)
    assert ("event_data", member) in locs(exc)
    assert {e["type"] for e in errors_of(exc)} == {"missing"}


def test_unknown_member_in_all_payloads_is_kept_verbatim():
    for value in MAPPING:
        payload = minimal_event_data(value)
        payload["x_unknown"] = {"nested": [1, 2.5, "three", None, True]}
        out = c.validate_event_data(payload)
        assert out["x_unknown"] == {"nested": [1, 2.5, "three", None, True]}, value


# ---------------------------------------------------------------------------
# event_data: discriminator handling
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("data", [None, [], ["event_type"], "gateway.signal.received", 42, True])
def test_event_data_must_be_an_object(data):
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data(data)
    assert locs(exc) == [("event_data",)]
    assert 'doesn\'t match any schema from "oneOf"' in errors_of(exc)[0]["msg"]


@pytest.mark.parametrize("data", [{}, {"signal_type": "prometheus-alert"}, {"event_type": None},
                                  {"event_type": 7}, {"event_type": ["llm_request"]}])
def test_missing_or_non_string_discriminator(data):
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data(data)
    (error,) = errors_of(exc)
    assert error["loc"] == ("event_data",)
    assert 'input does not contain the discriminator property "event_type"' in error["msg"]


@pytest.mark.parametrize("value", ["nope", "", "GATEWAY.SIGNAL.RECEIVED", "gateway.signal.received ",
                                   "GatewayAuditPayload"])
def test_unknown_discriminator_value(value):
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data(gateway(event_type=value))
    (error,) = errors_of(exc)
    assert error["loc"] == ("event_data", "event_type")
    assert 'discriminator property "event_type" has invalid value' in error["msg"]


def test_discriminator_value_must_fit_the_payload_enum_too():
    # Shared payload schemas declare event_type as an enum of their own values.
    out = c.validate_event_data(gateway(event_type="gateway.crd.failed"))
    assert out["event_type"] == "gateway.crd.failed"


def test_payload_without_declared_event_type_still_returns_it():
    out = c.validate_event_data({"event_type": "aianalysis.error.occurred", "phase": "Investigating",
                                 "error_message": "timeout"})
    assert out == {"event_type": "aianalysis.error.occurred", "phase": "Investigating",
                   "error_message": "timeout"}


# ---------------------------------------------------------------------------
# event_data: refusals name the member
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("payload", "loc", "error_type"),
    [
        # enums: exact and case-sensitive
        (gateway(signal_type="prometheus"), ("event_data", "signal_type"), "literal_error"),
        (gateway(signal_type="Prometheus-Alert"), ("event_data", "signal_type"), "literal_error"),
        (gateway(deduplication_status="NEW"), ("event_data", "deduplication_status"), "literal_error"),
        # strings: no numbers, no null for non-nullable members
        (gateway(alert_name=1), ("event_data", "alert_name"), "string_type"),
        (gateway(severity=None), ("event_data", "severity"), "string_type"),
        (gateway(alert_name=["a"]), ("event_data", "alert_name"), "string_type"),
        # integers: strict, within int32/int64
        (gateway(occurrence_count="5"), ("event_data", "occurrence_count"), "int_type"),
        (gateway(occurrence_count=True), ("event_data", "occurrence_count"), "int_type"),
        (gateway(occurrence_count=5.0), ("event_data", "occurrence_count"), "int_type"),
        (gateway(occurrence_count=2**31), ("event_data", "occurrence_count"), "less_than_equal"),
        (gateway(occurrence_count=-(2**31) - 1), ("event_data", "occurrence_count"),
         "greater_than_equal"),
        # maps of strings
        (gateway(signal_labels={"a": 1}), ("event_data", "signal_labels", "a"), "string_type"),
        (gateway(signal_labels=["a"]), ("event_data", "signal_labels"), "dict_type"),
        (gateway(original_payload="{}"), ("event_data", "original_payload"), "dict_type"),
        # nested $ref
        (gateway(error_details={"message": "m", "code": "c", "component": "gateway"}),
         ("event_data", "error_details", "retry_possible"), "missing"),
        (gateway(error_details={"message": "m", "code": "c", "component": "gateway",
                                "retry_possible": "true"}),
         ("event_data", "error_details", "retry_possible"), "bool_type"),
        (gateway(error_details={"message": "m", "code": "c", "component": "gateway",
                                "retry_possible": True, "stack_trace": "frame"}),
         ("event_data", "error_details", "stack_trace"), "list_type"),
        # numbers: no strings, no bools, finite, within bounds
        (holmes(confidence="0.5"), ("event_data", "response_data", "confidence"), "number_type"),
        (holmes(confidence=True), ("event_data", "response_data", "confidence"), "number_type"),
        (holmes(confidence=math.nan), ("event_data", "response_data", "confidence"),
         "finite_number"),
        (holmes(confidence=1.5), ("event_data", "response_data", "confidence"), "less_than_equal"),
        (holmes(confidence=-0.1), ("event_data", "response_data", "confidence"),
         "greater_than_equal"),
        # booleans: strict
        (holmes(needs_human_review=1), ("event_data", "response_data", "needs_human_review"),
         "bool_type"),
        (holmes(needs_human_review="false"), ("event_data", "response_data", "needs_human_review"),
         "bool_type"),
        # date-time members
        (holmes(timestamp="2025-01-02T03:04:05"), ("event_data", "response_data", "timestamp"),
         "date_time_format"),
        (holmes(timestamp=1735787045), ("event_data", "response_data", "timestamp"),
         "string_type"),
        # nested additionalProperties: false
        (holmes(root_cause_analysis={"summary": "s", "severity": "h", "contributing_factors": [],
                                     "extra": 1}),
         ("event_data", "response_data", "root_cause_analysis", "extra"), "extra_forbidden"),
        (holmes(selected_workflow={"workflow_id": "w", "score": 1}),
         ("event_data", "response_data", "selected_workflow", "score"), "extra_forbidden"),
        (holmes(alternative_workflows=[{"workflow_id": "w"}, {"workflow_id": "v", "why": "x"}]),
         ("event_data", "response_data", "alternative_workflows", 1, "why"), "extra_forbidden"),
    ],
)
def test_invalid_event_data_is_refused_with_its_location(payload, loc, error_type):
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data(payload)
    matching = [e for e in errors_of(exc) if tuple(e["loc"]) == loc]
    assert matching, errors_of(exc)
    assert matching[0]["type"] == error_type


def test_all_errors_are_reported_together():
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data({"event_type": "llm_request", "event_id": 1, "prompt_length": -1})
    assert set(locs(exc)) == {
        ("event_data", "event_id"),
        ("event_data", "incident_id"),
        ("event_data", "model"),
        ("event_data", "prompt_length"),
        ("event_data", "prompt_preview"),
    }


def test_error_text_reads_as_field_paths():
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data(gateway(signal_type="bogus"))
    assert "event_data.signal_type" in str(exc.value)


# ---------------------------------------------------------------------------
# event_data: what is returned
# ---------------------------------------------------------------------------

def test_values_are_returned_verbatim():
    payload = holmes(confidence=1, timestamp="2025-01-02T03:04:05.123456789+05:30")
    payload["response_data"]["selected_workflow"] = {"workflow_id": "w", "confidence": 0.123456789,
                                                     "parameters": {"a": {"b": [1, "2"]}}}
    out = c.validate_event_data(payload)
    data = out["response_data"]
    assert data["confidence"] == 1 and type(data["confidence"]) is int
    assert data["timestamp"] == "2025-01-02T03:04:05.123456789+05:30"
    assert data["selected_workflow"] == {"workflow_id": "w", "confidence": 0.123456789,
                                         "parameters": {"a": {"b": [1, "2"]}}}


def test_unknown_members_are_kept_at_every_open_level():
    payload = gateway(
        custom_member="kept",
        original_payload={"alert": {"labels": {"x": "y"}}, "n": 1},
        error_details={"message": "m", "code": "c", "component": "gateway",
                       "retry_possible": False, "vendor": {"id": 7}},
    )
    out = c.validate_event_data(payload)
    assert out["custom_member"] == "kept"
    assert out["original_payload"] == {"alert": {"labels": {"x": "y"}}, "n": 1}
    assert out["error_details"]["vendor"] == {"id": 7}
    holmes_out = c.validate_event_data(holmes(vendor_extension=[1]))
    assert holmes_out["response_data"]["vendor_extension"] == [1]


def test_tool_result_is_untyped_and_kept():
    for result in ({"rows": [1, 2]}, [1, "a"], "text", 3, None, False):
        payload = minimal_event_data("llm_tool_call")
        payload["tool_result"] = result
        assert c.validate_event_data(payload)["tool_result"] == result


def test_schema_defaults_are_injected():
    out = c.validate_event_data(holmes())
    assert out["response_data"]["needs_human_review"] is False
    assert out["response_data"]["target_in_owner_chain"] is True
    assert "human_review_reason" not in out["response_data"]
    assert "selected_workflow" not in out["response_data"]

    llm = minimal_event_data("llm_response")
    assert c.validate_event_data(llm)["tool_call_count"] == 0
    attempt = minimal_event_data("workflow_validation_attempt")
    assert c.validate_event_data(attempt)["is_final_attempt"] is False


def test_sent_values_win_over_defaults():
    out = c.validate_event_data(holmes(needs_human_review=True, target_in_owner_chain=False))
    assert out["response_data"]["needs_human_review"] is True
    assert out["response_data"]["target_in_owner_chain"] is False
    llm = minimal_event_data("llm_response") | {"tool_call_count": 3}
    assert c.validate_event_data(llm)["tool_call_count"] == 3


def test_keyword_member_name_round_trips_under_its_wire_name():
    payload = {"event_type": "orchestrator.lifecycle.created", "rr_name": "rr", "namespace": "ns",
               "timeout_config": {"global": "1h", "processing": "10m"}}
    out = c.validate_event_data(payload)
    assert out["timeout_config"] == {"global": "1h", "processing": "10m"}
    # The Python attribute name is not a wire name: it stays an unknown member.
    payload["timeout_config"] = {"global_": "1h"}
    assert c.validate_event_data(payload)["timeout_config"] == {"global_": "1h"}
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data(payload | {"timeout_config": {"global": 30}})
    assert locs(exc) == [("event_data", "timeout_config", "global")]
    # Python callers may use the attribute name.
    assert c.TimeoutConfig(global_="2h").model_dump(exclude_unset=True) == {"global": "2h"}


# ---------------------------------------------------------------------------
# Scalar formats
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "2025-01-02T03:04:05Z",
    "2025-01-02T03:04:05.1Z",
    "2025-01-02T03:04:05.123456789012Z",
    "2025-01-02T03:04:05+00:00",
    "2025-01-02T03:04:05-07:30",
    "2024-02-29T23:59:59+14:00",
    "0001-01-01T00:00:00Z",
])
def test_date_time_accepts_rfc3339_with_zone_and_keeps_the_text(value):
    assert TypeAdapter(c.DateTimeStr).validate_python(value) == value


@pytest.mark.parametrize("value", [
    "2025-01-02T03:04:05",          # no zone
    "2025-01-02 03:04:05Z",         # no T
    "2025-01-02T03:04Z",            # no seconds
    "2025-01-02",                   # date only
    "2025-02-30T00:00:00Z",         # not a real date
    "2023-02-29T00:00:00Z",         # not a leap year
    "2025-13-01T00:00:00Z",
    "2025-01-02T24:00:00Z",
    "2025-01-02T03:60:00Z",
    "2025-01-02T03:04:05+24:00",    # offset out of range
    "2025-01-02T03:04:05+0100",     # offset without colon
    "2025-01-02T03:04:05.Z",        # empty fraction
    "2025-01-02T03:04:05Z ",        # trailing text
    "2025-01-02T03:04:05Z\n",
    "٢٠٢٥-01-02T03:04:05Z",         # non-ASCII digits
    "0000-01-01T00:00:00Z",
    "",
])
def test_date_time_rejects(value):
    with pytest.raises(ValidationError) as exc:
        TypeAdapter(c.DateTimeStr).validate_python(value)
    assert errors_of(exc)[0]["type"] == "date_time_format"


def test_date_time_is_strictly_a_string():
    from datetime import datetime, timezone

    with pytest.raises(ValidationError):
        TypeAdapter(c.DateTimeStr).validate_python(datetime.now(timezone.utc))


@pytest.mark.parametrize(("value", "ok"), [
    (UUID, True),
    (UUID.upper(), True),
    ("00000000-0000-0000-0000-000000000000", True),
    ("123e4567e89b12d3a456426614174000", False),
    ("{123e4567-e89b-12d3-a456-426614174000}", False),
    ("urn:uuid:123e4567-e89b-12d3-a456-426614174000", False),
    ("123e4567-e89b-12d3-a456-42661417400", False),
    ("123e4567-e89b-12d3-a456-42661417400g", False),
    ("", False),
])
def test_uuid_canonical_form_only(value, ok):
    adapter = TypeAdapter(c.UuidStr)
    if ok:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


@pytest.mark.parametrize(("value", "ok"), [
    ("2025-01-02", True), ("2024-02-29", True), ("2025-02-29", False), ("2025-1-2", False),
    ("2025-01-02T00:00:00Z", False), ("20250102", False),
])
def test_date_format(value, ok):
    adapter = TypeAdapter(c.DateStr)
    if ok:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


# ---------------------------------------------------------------------------
# Envelope and other models
# ---------------------------------------------------------------------------

def test_audit_event_request_valid_and_event_data_is_free_form_there():
    body = audit_request(event_data={"anything": 1})
    model = c.AuditEventRequest.model_validate(body)
    assert model.event_data == {"anything": 1}
    assert model.model_dump(exclude_unset=True) == body


@pytest.mark.parametrize("member", ["version", "event_type", "event_timestamp", "event_category",
                                    "event_action", "event_outcome", "correlation_id",
                                    "event_data"])
def test_audit_event_request_required_members(member):
    body = audit_request()
    del body[member]
    with pytest.raises(ValidationError) as exc:
        c.AuditEventRequest.model_validate(body)
    assert locs(exc) == [(member,)]


@pytest.mark.parametrize(("member", "value", "error_type"), [
    ("version", "", "string_too_short"),
    ("version", "1" * 21, "string_too_long"),
    ("version", "é" * 21, "string_too_long"),
    ("event_type", "e" * 101, "string_too_long"),
    ("event_action", "a" * 51, "string_too_long"),
    ("correlation_id", "c" * 256, "string_too_long"),
    ("correlation_id", "", "string_too_short"),
    ("event_category", "Gateway", "literal_error"),
    ("event_category", "gateway ", "literal_error"),
    ("event_outcome", "ok", "literal_error"),
    ("event_timestamp", "2025-01-02T03:04:05", "date_time_format"),
    ("parent_event_id", "not-a-uuid", "uuid_format"),
    ("duration_ms", "12", "int_type"),
    ("duration_ms", 1.5, "int_type"),
    ("version", 1.0, "string_type"),
    ("actor_type", None, "string_type"),
    ("event_data", [], "dict_type"),
])
def test_audit_event_request_refusals(member, value, error_type):
    with pytest.raises(ValidationError) as exc:
        c.AuditEventRequest.model_validate(audit_request(**{member: value}))
    (error,) = errors_of(exc)
    assert error["loc"] == (member,)
    assert error["type"] == error_type


def test_lengths_count_code_points():
    for version in ("é" * 20, "😀" * 20, "漢" * 20):
        assert c.AuditEventRequest.model_validate(audit_request(version=version)).version == version
    with pytest.raises(ValidationError):
        c.AuditEventRequest.model_validate(audit_request(version="😀" * 21))


def test_nullable_members_accept_null_and_keep_it():
    body = audit_request(parent_event_id=None, namespace=None, cluster_name=None, severity=None,
                         duration_ms=None)
    model = c.AuditEventRequest.model_validate(body)
    dumped = model.model_dump(exclude_unset=True)
    for member in ("parent_event_id", "namespace", "cluster_name", "severity", "duration_ms"):
        assert member in dumped and dumped[member] is None
    # Absent stays absent.
    assert "namespace" not in c.AuditEventRequest.model_validate(audit_request()).model_dump(
        exclude_unset=True)


def test_unknown_top_level_members_are_kept():
    model = c.AuditEventRequest.model_validate(audit_request(trace={"id": "t"}))
    assert model.model_dump(exclude_unset=True)["trace"] == {"id": "t"}


def test_notification_audit_limits_and_nullables():
    body = {"remediation_id": "r", "notification_id": "n", "recipient": "ops@example.com",
            "channel": "email", "message_summary": "m", "status": "sent", "sent_at": TIMESTAMP}
    assert c.NotificationAudit.model_validate(body | {"delivery_status": None}).delivery_status is None
    with pytest.raises(ValidationError) as exc:
        c.NotificationAudit.model_validate(body | {"remediation_id": "r" * 256,
                                                   "escalation_level": 6, "channel": "sms"})
    assert set(locs(exc)) == {("remediation_id",), ("escalation_level",), ("channel",)}


def test_all_of_inherits_members():
    assert issubclass(c.NotificationAuditResponse, c.NotificationAudit)
    assert issubclass(c.AuditEvent, c.AuditEventRequest)
    with pytest.raises(ValidationError) as exc:
        c.AuditEvent.model_validate(audit_request(event_date="2025-02-30"))
    assert locs(exc) == [("event_date",)]


def test_array_item_constraints():
    labels = {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
              "environment": ["production"], "priority": "P0"}
    assert c.MandatoryLabels.model_validate(labels).environment == ["production"]
    with pytest.raises(ValidationError) as exc:
        c.MandatoryLabels.model_validate(labels | {"environment": []})
    assert locs(exc) == [("environment",)]
    with pytest.raises(ValidationError) as exc:
        c.MandatoryLabels.model_validate(labels | {"environment": ["prod"]})
    assert locs(exc) == [("environment", 0)]


def test_typed_additional_properties_on_a_schema():
    labels = c.CustomLabels.model_validate({"team": ["name=payments"], "constraint": []})
    assert labels.model_dump() == {"team": ["name=payments"], "constraint": []}
    with pytest.raises(ValidationError) as exc:
        c.CustomLabels.model_validate({"team": "payments"})
    assert locs(exc) == [("team",)]


def test_pattern_is_enforced():
    base = {"event_type": "signalprocessing.signal.processed", "phase": "Pending", "signal": "s"}
    ok = base | {"policy_hash": "a" * 64}
    assert c.validate_event_data(ok)["policy_hash"] == "a" * 64
    with pytest.raises(ValidationError) as exc:
        c.validate_event_data(base | {"policy_hash": "A" * 64})
    assert locs(exc) == [("event_data", "policy_hash")]


def test_request_defaults_of_workflow_search():
    filters = {"signal_type": "OOMKilled", "severity": "critical", "component": "pod",
               "environment": "production", "priority": "P0"}
    model = c.WorkflowSearchRequest.model_validate({"filters": filters})
    assert (model.top_k, model.min_score, model.include_disabled) == (10, 0.0, False)
    assert model.model_dump(exclude_unset=True)["top_k"] == 10
    with pytest.raises(ValidationError) as exc:
        c.WorkflowSearchRequest.model_validate({"filters": filters, "top_k": 0})
    assert locs(exc) == [("top_k",)]


# ---------------------------------------------------------------------------
# The generator refuses what it cannot map
# ---------------------------------------------------------------------------

@needs_contract
@pytest.mark.parametrize("mutation", [
    lambda s: s["ErrorDetails"]["properties"]["stack_trace"].update(uniqueItems=True),
    lambda s: s["ErrorDetails"]["properties"]["message"].update(format="hostname"),
    lambda s: s["ErrorDetails"]["properties"]["message"].update(type="str"),
    lambda s: s["ErrorDetails"].update(required=["message", "nope"]),
    lambda s: s["GatewayAuditPayload"]["properties"]["event_type"]["enum"].remove(
        "gateway.crd.failed"),
])
def test_generator_rejects_unsupported_contracts(tmp_path, mutation):
    contract = copy.deepcopy(CONTRACT)
    mutation(contract["components"]["schemas"])
    path = tmp_path / "contract.yaml"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(contract, Dumper=dumper), encoding="utf-8")
    with pytest.raises(generate.ContractError):
        generate.render(path)


@needs_contract
def test_generator_output_is_deterministic():
    assert generate.render(CONTRACT_PATH) == generate.render(CONTRACT_PATH)
