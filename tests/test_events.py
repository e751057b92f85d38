"""app.events: the ids the service gives events."""
from __future__ import annotations

import uuid

from app.events import new_event_id


def test_event_ids_are_canonical_random_v4_uuids():
    ids = [new_event_id() for _ in range(2000)]
    for text in ids:
        u = uuid.UUID(text)
        assert (u.version, u.variant, str(u)) == (4, uuid.RFC_4122, text)
    assert len(set(ids)) == len(ids)
    # 122 random bits: every hex digit outside the fixed ones varies.
    assert len({text[0] for text in ids}) == 16
