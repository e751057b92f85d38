"""The one-pass event validation (app.models.audit.validate_one_pass) against
the two passes it shortcuts (app.events.validate_two_passes): a valid event
gives the same envelope and stored event_data either way; an invalid one
gets None from the fast pass, so its problem is exactly the two passes'.

No database needed. Payloads come from the contract (every discriminator
value), like tests/test_contract_models.py.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

from app import events
from app.models.audit import validate_one_pass
from app.problems import Problem
from tests.test_contract_models import (MAPPING, SCHEMAS, _resolve, minimal, minimal_event_data,
                                        needs_contract)


def envelope(event_data: Any, **overrides: Any) -> dict[str, Any]:
    body = {"version": "1.0", "event_type": "x.y", "event_timestamp": "2025-01-02T03:04:05Z",
            "event_category": "gateway", "event_action": "received", "event_outcome": "success",
            "correlation_id": "rr-1", "event_data": event_data}
    body.update(overrides)
    return body


def gateway(**members: Any) -> dict[str, Any]:
    return {"event_type": "gateway.signal.received", "signal_type": "prometheus-alert",
            "alert_name": "HighCPUUsage", "namespace": "payments", "fingerprint": "fp-1",
            **members}


def assert_same(body: Any) -> None:
    """Both paths agree on `body`: same result, or None against a problem."""
    sent = copy.deepcopy(body)
    fast = validate_one_pass(body)
    try:
        env, event_data = events.validate_two_passes(body)
    except Problem as exc:
        assert fast is None, f"fast pass accepted what two passes refuse: {exc.detail}"
        with pytest.raises(Problem) as via_prepare:
            events.prepare(body, max_event_data_bytes=1 << 20, check_window=False)
        assert (via_prepare.value.status, via_prepare.value.type, via_prepare.value.detail,
                via_prepare.value.extensions) == (exc.status, exc.type, exc.detail, exc.extensions)
        return
    assert fast is not None, "a valid event must take the fast pass"
    fast_env, fast_data = fast
    # Equal as JSON objects; the member order may differ (jsonb keeps none).
    assert fast_data == event_data
    assert fast_env.model_dump(exclude={"event_data"}) == env.model_dump(exclude={"event_data"})
    assert fast_env.model_fields_set == env.model_fields_set
    assert body == sent, "input must not be mutated"


@needs_contract
@pytest.mark.parametrize("value", list(MAPPING))
def test_every_payload_type_gives_the_same_result_both_ways(value):
    data = minimal_event_data(value)
    assert_same(envelope(data))
    # `global` is the wire name; the Python name `global_` stays an unknown member.
    data["timeout_config"] = {"global_": "1h", "processing": "5m"}
    data["old_timeout_config"] = {"global": "2h"}
    data["x_unknown"] = {"nested": [1, 2.5, "three", None, True]}
    assert_same(envelope(data, severity="", actor_id="a", duration_ms=5, retention_days=30,
                         parent_event_id="123e4567-e89b-12d3-a456-426614174000"))


def full(schema: dict[str, Any]) -> Any:
    """A valid value for `schema` with every member the contract declares,
    at every depth (arrays of one item), so nested models are sent too."""
    schema = _resolve(schema)
    if "pattern" in schema:
        return schema["example"]   # the contract's own example matches its pattern
    if "enum" in schema or schema.get("type") not in ("object", "array", None) \
            or schema.get("type") is None and "properties" not in schema:
        return minimal(schema)
    if schema.get("type") == "array":
        return [full(schema["items"]) for _ in range(max(1, schema.get("minItems", 0)))]
    return {name: full(prop) for name, prop in schema.get("properties", {}).items()}


@needs_contract
@pytest.mark.parametrize("value", list(MAPPING))
def test_every_member_sent_gives_the_same_result_both_ways(value):
    data = full(SCHEMAS[MAPPING[value]])
    data["event_type"] = value
    assert validate_one_pass(envelope(data)) is not None
    assert_same(envelope(data))
    # Nested objects without their optional members: their defaults apply.
    assert_same(envelope({k: (minimal(SCHEMAS[MAPPING[value]]["properties"][k])
                              if isinstance(v, dict) and k != "event_type" else v)
                          for k, v in data.items()}))


@needs_contract
@pytest.mark.parametrize("body", [
    envelope(gateway(severity="critical", signal_labels={"a": "b"})),
    envelope(gateway(global_="by its Python name: an unknown member")),
    envelope(gateway(), extra_member="ignored"),
    envelope(gateway(), severity=None, namespace=None),
])
def test_valid_variants_give_the_same_result_both_ways(body):
    assert validate_one_pass(body) is not None
    assert_same(body)


@needs_contract
@pytest.mark.parametrize("body", [
    None, [], "text", {},
    envelope(None), envelope([]), envelope("gateway.signal.received"),
    envelope({}), envelope({"event_type": 7}), envelope({"event_type": "no.such.type"}),
    envelope(gateway(occurrence_count="1")),                      # payload only
    envelope(gateway(), event_category="nope"),                   # envelope only
    envelope(gateway(fingerprint=None), version=""),              # both: the envelope's wins
    envelope(gateway(), correlation_id="x" * 256, event_outcome=1),
    envelope({"event_type": "gateway.signal.received", "signal_type": "prometheus-alert"}),
    {k: v for k, v in envelope(gateway()).items() if k != "event_action"},
    envelope(gateway(), duration_ms=2**31), envelope(gateway(), retention_days=True),
])
def test_invalid_bodies_get_the_two_pass_problem(body):
    assert validate_one_pass(body) is None
    assert_same(body)
