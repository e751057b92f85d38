"""app.events: the ids the service gives events."""
from __future__ import annotations

import uuid

from app.events import new_event_id, new_event_ids


def test_event_ids_are_canonical_random_v4_uuids():
    ids = [new_event_id() for _ in range(2000)]
    for text in ids:
        u = uuid.UUID(text)
        assert (u.version, u.variant, str(u)) == (4, uuid.RFC_4122, text)
    assert len(set(ids)) == len(ids)
    # 122 random bits: every hex digit outside the fixed ones varies.
    assert len({text[0] for text in ids}) == 16


def test_a_batch_of_ids_is_as_random_and_canonical_as_single_ids():
    ids = new_event_ids(2000) + new_event_ids(1)
    for text in ids:
        u = uuid.UUID(text)
        assert (u.version, u.variant, str(u)) == (4, uuid.RFC_4122, text)
    assert len(set(ids)) == len(ids)
    for pos in range(36):   # every position outside the fixed ones varies
        if pos not in (8, 13, 14, 18, 19, 23):
            assert len({text[pos] for text in ids}) == 16, pos
    assert {text[19] for text in ids} == set("89ab")
