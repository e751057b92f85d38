"""app.validation.check_json: the nesting check alone (strings=False, the
path of bodies without an escaped NUL) refuses exactly what the full walk
refuses, with the same problem. No database needed."""
from __future__ import annotations

import pytest

from app.problems import Problem
from app.validation import MAX_JSON_DEPTH, check_json


def nested(depth: int, *, dicts: bool = False, siblings: bool = False):
    """A container `depth` levels deep (the outermost is level 1)."""
    value: object = "leaf"
    for level in range(depth):
        value = {"k": value, "s": "x"} if dicts and level % 2 else [value]
        if siblings:
            value = [[1, {"a": []}], value, {"b": "c"}] if not dicts else {"side": [[]], "v": value}
    return value


def levels(value) -> int:
    """Nesting depth by plain recursion (the test values stay shallow enough)."""
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        return 0
    return 1 + max((levels(v) for v in value), default=0)


def outcome(value, strings: bool):
    try:
        check_json(value, strings=strings)
    except Problem as exc:
        return exc.status, exc.type, exc.detail, exc.extensions
    return None


@pytest.mark.parametrize("dicts", [False, True])
@pytest.mark.parametrize("siblings", [False, True])
def test_depth_check_alone_agrees_with_the_full_walk(dicts, siblings):
    for depth in (0, 1, 2, 49, 50, 51, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 130):
        value = nested(depth, dicts=dicts, siblings=siblings)
        if siblings and depth:
            value = [value]   # the deep path is not the first child at every level
        deep = outcome(value, strings=True)
        assert outcome(value, strings=False) == deep, depth
        assert (deep is not None) == (levels(value) > MAX_JSON_DEPTH), (depth, deep)


def test_a_batch_of_shallow_events_passes_and_one_deep_event_fails():
    event = {"event_data": {"labels": {"a": "b"}, "list": [1, [2]]}}
    batch = [dict(event) for _ in range(500)]
    assert outcome(batch, strings=False) is None
    batch[321] = {"event_data": nested(MAX_JSON_DEPTH - 2)}   # 2 + 98 levels: the limit
    assert outcome(batch, strings=False) is None
    batch[321] = {"event_data": nested(MAX_JSON_DEPTH - 1)}   # one more
    refused = outcome(batch, strings=False)
    assert refused is not None and refused == outcome(batch, strings=True)
    assert refused[3] == {"field_errors": {"body": "nested too deep"}}
