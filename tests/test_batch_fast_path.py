"""The batch fast path (app.events.valid_batch: one pydantic-core call for
the whole list, event_data handed on as the JSON text it was measured by)
against the event-by-event path it shortcuts (app.events.batch_by_event,
what every batch went through before, after read_json's nesting check):

  * a batch both accept gives byte-identical SQL input (the payload text
    append_audit_events receives, event ids aside), so identical rows and
    hashes: varied envelopes, every discriminator value, random members;
  * valid batches really take the fast path (unless an event carries an
    unknown envelope member);
  * anything else gets exactly the old problem (status, type, detail,
    field errors).

No database needed: the payload text is the whole of what the service
hands PostgreSQL for a batch.
"""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import events
from app.problems import Problem
from app.validation import MAX_JSON_DEPTH, check_json
from tests.test_contract_models import MAPPING, SCHEMAS, minimal_event_data, needs_contract
from tests.test_json_depth import nested
from tests.test_one_pass import full, gateway

LIMIT = 1 << 20
MAX_EVENTS = 5000
# One clock for both paths and for the events' times: problem texts quote
# ages, and the acceptance window must not move while the suite runs.
NOW = datetime.now(timezone.utc)


def stamp(delta: timedelta = timedelta(minutes=-5), form: str = "Z") -> str:
    """A time `delta` from NOW in one of the textual forms clients send."""
    t = NOW.replace(microsecond=123456) + delta
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "Z": base + "Z",
        "ms": base + ".123Z",
        "us": base + ".123456Z",
        "one": base + ".1Z",
        "two": base + ".12Z",
        "four": base + ".1234Z",
        "five": base + ".12345Z",
        "ns": base + ".123456789Z",                                   # truncated, not rounded
        "offset": (t + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + ".5+02:00",
        "lower": base.replace("T", "t") + "z",
    }[form]


def event(data: dict, **overrides: Any) -> dict:
    body = {"version": "1.0", "event_type": data.get("event_type", "x.y"),
            "event_timestamp": stamp(), "event_category": "gateway",
            "event_action": "received", "event_outcome": "success",
            "correlation_id": "rr-batch", "event_data": data}
    body.update(overrides)
    return body


def sql_input(rows: list[dict]) -> bytes:
    """The payload text append_audit_events gets, with positional event ids."""
    rows = [{**row, "event_id": f"id-{i}"} for i, row in enumerate(rows)]
    return events.payload(rows).encode()


def old_path(body: Any) -> list[dict]:
    """What the route did before: read_json's nesting check, then each event."""
    check_json(body, strings=False)
    return [ev.row for ev in events.batch_by_event(body, max_events=MAX_EVENTS,
                                                   max_event_data_bytes=LIMIT, now=NOW)]


def outcome(fn, body: Any) -> tuple:
    try:
        return ("ok", sql_input(fn(copy.deepcopy(body))))
    except Problem as exc:
        return ("problem", exc.status, exc.type, exc.detail, exc.extensions)


def new_path(body: Any) -> list[dict]:
    return events.prepare_batch(body, max_events=MAX_EVENTS, max_event_data_bytes=LIMIT, now=NOW)


def fast(body: Any) -> list[dict] | None:
    return events.valid_batch(body, max_events=MAX_EVENTS, max_event_data_bytes=LIMIT, now=NOW)


def assert_same(body: Any, *, takes_fast_path: bool | None = None) -> tuple:
    sent = copy.deepcopy(body)
    before, after = outcome(old_path, body), outcome(new_path, body)
    assert after == before
    if takes_fast_path is not None:
        assert (fast(body) is not None) == takes_fast_path
    assert body == sent, "input must not be mutated"
    return after


@needs_contract
def test_every_payload_type_in_one_batch_takes_the_fast_path_with_the_same_rows():
    batch = []
    for i, value in enumerate(MAPPING):
        batch.append(event(minimal_event_data(value), correlation_id=f"rr-{i % 7}"))
        data = full(SCHEMAS[MAPPING[value]])
        data["event_type"] = value
        data["x_unknown"] = {"nested": [1, 2.5, -0.0, 1e300, "ü\u2028", None, True]}
        # `global` is the wire name; the Python name `global_` stays an unknown member.
        data["timeout_config"] = {"global_": "1h", "processing": "5m"}
        batch.append(event(data, severity="", actor_id="", duration_ms=5, retention_days=30,
                           namespace="", cluster_name="c", resource_id="r",
                           parent_event_id="123E4567-E89B-12D3-A456-426614174000"))
    assert_same(batch, takes_fast_path=True)


def leaves(value: Any, path: tuple = ()):
    """The path of every scalar inside `value` (dicts and lists)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, (*path, i))
    else:
        yield path


def replaced(value: Any, path: tuple, new: Any) -> Any:
    value = copy.deepcopy(value)
    *parents, last = path
    target = value
    for key in parents:
        target = target[key]
    target[last] = new
    return value


@needs_contract
@pytest.mark.parametrize("value", list(MAPPING))
def test_a_wrong_type_at_any_depth_of_any_payload_gets_the_old_problem(value):
    # Payloads stored as sent are validated into TypedDicts on the fast
    # path (nested models too): each member, at every depth, of the wrong
    # type in turn; the second event of the batch is the broken one.
    data = full(SCHEMAS[MAPPING[value]])
    data["event_type"] = value
    refused = 0
    for path in leaves(data):
        if path == ("event_type",):
            continue
        leaf = data
        for key in path:
            leaf = leaf[key]
        body = [event(copy.deepcopy(data)),
                event(replaced(data, path, 12345 if isinstance(leaf, str) else "text"))]
        refused += assert_same(body)[0] == "problem"
    assert refused, "some member must have a type to break"


@pytest.mark.parametrize("form", ["Z", "ms", "us", "one", "two", "four", "five", "ns", "offset",
                                  "lower"])
def test_every_timestamp_form_takes_the_fast_path_with_the_same_rows(form):
    # The UTC forms most clients send are parsed by datetime.fromisoformat,
    # the others as before (app.timeutil.parse_utc_micro).
    assert_same([event(gateway()), event(gateway(), event_timestamp=stamp(form=form))],
                takes_fast_path=True)


def test_unknown_envelope_members_go_event_by_event_with_the_same_rows():
    # Ignored either way, but untyped: their nesting is not bounded by the models.
    batch = [event(gateway()), event(gateway(), x_envelope_extra={"ignored": [1, 2]})]
    assert assert_same(batch, takes_fast_path=False)[0] == "ok"


def test_nesting_at_the_limit_is_stored_one_deeper_is_refused_as_before():
    # List, event and event_data take three levels; nested(k) adds k - 1.
    at_limit = [event(gateway(x=nested(MAX_JSON_DEPTH - 3)))]
    assert assert_same(at_limit)[0] == "ok"
    too_deep = [event(gateway(x=nested(MAX_JSON_DEPTH - 2)))]
    result = assert_same(too_deep, takes_fast_path=False)
    assert result[0] == "problem" and "nested deeper" in result[3]
    # Deep under an ignored envelope member: refused too, never stored.
    hidden = [event(gateway(), x_extra=nested(MAX_JSON_DEPTH))]
    assert assert_same(hidden, takes_fast_path=False)[0] == "problem"


@pytest.mark.parametrize("body", [
    {}, "text", 7, None, [], [1], [event(gateway()), "x"],
    [event(gateway()), event(gateway(), event_outcome="bogus")],
    [event(gateway(occurrence_count="1"))],
    [event({"event_type": "no.such.type"})],
    [event(gateway(), event_timestamp=stamp(timedelta(days=-8)))],
    [event(gateway()), event(gateway(), event_timestamp=stamp(timedelta(hours=2)))],
    [event(gateway(), event_timestamp="2025-01-02T24:00:00Z")],
    [event(gateway(), event_timestamp="2025-01-02T03:04:05")],
    [event(gateway(), event_timestamp="not a time")],
    [event(gateway(), parent_event_id="not-a-uuid")],
    [event(gateway(), event_category="nope", version="")],
    [event(gateway(fingerprint=None), version="")],
], ids=lambda b: orjson.dumps(b).decode()[:60])
def test_invalid_batches_get_the_old_problem(body):
    assert fast(body) is None
    assert assert_same(body)[0] == "problem"


def test_size_and_count_limits_are_the_old_ones():
    def both(body, *, max_events=MAX_EVENTS, max_bytes=LIMIT):
        before = outcome(lambda b: [ev.row for ev in events.batch_by_event(
            b, max_events=max_events, max_event_data_bytes=max_bytes, now=NOW)], body)
        after = outcome(lambda b: events.prepare_batch(
            b, max_events=max_events, max_event_data_bytes=max_bytes, now=NOW), body)
        assert after == before
        return after

    big = [event(gateway(blob="x" * 200))]
    assert both(big, max_bytes=1000)[0] == "ok"
    assert both(big, max_bytes=100)[1] == 413
    assert both([event(gateway())] * 3, max_events=3)[0] == "ok"
    assert "maximum of 2" in both([event(gateway())] * 3, max_events=2)[3]


# --- random events -------------------------------------------------------------

json_leaf = (st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)
optional_text = st.none() | st.text(max_size=8)
timestamps = st.builds(lambda minutes, form: stamp(timedelta(minutes=minutes), form),
                       st.integers(-7 * 24 * 60 + 5, 55),
                       st.sampled_from(["Z", "ms", "us", "one", "two", "four", "five", "ns",
                                        "offset", "lower"]))


@st.composite
def random_event(draw) -> dict:
    data = gateway(fingerprint=draw(st.text(min_size=1, max_size=10)))
    data.update(draw(st.dictionaries(st.text(min_size=1, max_size=8).filter(
        lambda k: k not in data and k not in ("event_type",)), json_value, max_size=4)))
    ev = event(data, event_timestamp=draw(timestamps),
               correlation_id=draw(st.sampled_from(["rr-a", "rr-b", "rr-c"])),
               event_category=draw(st.sampled_from(["gateway", "workflow", "webhook"])))
    for name in ("actor_type", "actor_id", "resource_type", "resource_id", "namespace",
                 "cluster_name", "severity"):
        value = draw(st.none() | st.just(False) | optional_text)   # False: member absent
        if value is not False:
            ev[name] = value
    for name, values in (("duration_ms", st.integers(-5, 5)),
                         ("retention_days", st.integers(1, 36500))):
        if draw(st.booleans()):
            ev[name] = draw(values)
    return ev


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_event(), min_size=1, max_size=6))
def test_random_batches_give_the_same_sql_input_both_ways(batch):
    assert assert_same(batch, takes_fast_path=True)[0] == "ok"
