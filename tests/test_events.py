"""app.events: event ids, and the NUL check for callers without request bytes."""
from __future__ import annotations

import uuid

import pytest

from app.events import new_event_id, prepare
from app.problems import Problem
from bench.common import audit_event


def test_event_ids_are_canonical_random_v4_uuids():
    ids = [new_event_id() for _ in range(2000)]
    for text in ids:
        u = uuid.UUID(text)
        assert (u.version, u.variant, str(u)) == (4, uuid.RFC_4122, text)
    assert len(set(ids)) == len(ids)
    # 122 random bits: every hex digit outside the fixed ones varies.
    assert len({text[0] for text in ids}) == 16


@pytest.mark.parametrize("where", ["event_data", "envelope"])
def test_a_nul_is_refused_without_the_request_bytes(where):
    ev = audit_event("nul-check")
    if where == "event_data":
        ev["event_data"]["nested"] = {"list": ["ok", "bad\x00value"]}
    else:
        ev["resource_id"] = "bad\x00id"
    with pytest.raises(Problem) as exc:
        prepare(ev, max_event_data_bytes=1 << 20)
    assert exc.value.status == 400 and "NUL" in exc.value.detail


def test_backslash_u0000_as_text_is_not_a_nul():
    ev = audit_event("nul-text")
    ev["event_data"]["note"] = "the six characters \\u0000 are fine"
    row = prepare(ev, max_event_data_bytes=1 << 20).row
    assert row["event_data"]["note"] == "the six characters \\u0000 are fine"
