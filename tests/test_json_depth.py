"""app.validation.check_json: the nesting check alone (strings=False, the
path of bodies without an escaped NUL) refuses exactly what the full walk
refuses, with the same problem; the NUL pre-test on the raw body answers
as the substring search it shortcuts. No database needed."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.problems import Problem
from app.validation import MAX_JSON_DEPTH, check_json, needed_checks


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


# --- the NUL pre-test on the raw body ---------------------------------------------

# Bodies made of the pieces that matter: backslashes (few or far more than
# the pre-test's jumps), the escape's letters and digits, and filler.
_pieces = st.sampled_from([b"\\", b"u", b"0", b"0000", b"u0000", b"\\u0000", b"\\\\", b'"a"',
                           b"x" * 50, b"\\n", b"\\u00e9"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, max_size=120).map(b"".join))
def test_the_nul_pre_test_answers_as_a_substring_search(raw):
    assert needed_checks(raw, nesting=False)[0] == (b"\\u0000" in raw)


@pytest.mark.parametrize("raw", [b"\\" * 100 + b"u0000", b"\\n" * 40 + b"\\u0000",
                                 b"\\n" * 40, b"\\\\u0000", b"u0000", b"\\u000", b""])
def test_the_nul_pre_test_past_many_escapes(raw):
    assert needed_checks(raw, nesting=False)[0] == (b"\\u0000" in raw)
