"""How the drainer cuts spooled audit-event records into calls on a cluster
(app/writes.py, replay_calls): per chain, in spool order, with records of
several chains and children of other chains' events as barriers."""
from __future__ import annotations

import orjson

from app.writes import replay_calls, single_chain


def rec(*chains: str, parent: str | None = None) -> bytes:
    return orjson.dumps([{"event_id": f"{c}-{i}", "correlation_id": c,
                          **({"parent_event_id": parent} if parent else {})}
                         for i, c in enumerate(chains)])


def shape(calls) -> list[tuple[str | None, list[list[str]]]]:
    return [(chain, [[e["correlation_id"] for e in orjson.loads(b)] for b in bodies])
            for chain, bodies in calls]


def test_records_of_one_chain_go_together_in_spool_order():
    a1, b1, a2 = rec("a"), rec("b"), rec("a", "a")
    calls = replay_calls([a1, b1, a2])
    assert calls == [("a", [a1, a2]), ("b", [b1])]


def test_a_record_of_several_chains_is_replayed_alone_after_what_came_before():
    calls = replay_calls([rec("a"), rec("a", "b"), rec("a")])
    assert shape(calls) == [("a", [["a"]]), (None, [["a", "b"]]), ("a", [["a"]])]


def test_a_child_replays_after_everything_older():
    # b's child of an event of a: everything before it is stored first.
    calls = replay_calls([rec("b"), rec("a"), rec("b", parent="a-0"), rec("b")])
    assert shape(calls) == [("b", [["b"]]), ("a", [["a"]]), ("b", [["b"], ["b"]])]


def test_what_is_not_an_array_of_objects_goes_alone_to_the_database():
    calls = replay_calls([rec("a"), b"[1, 2]", b"{oops", rec("a")])
    assert calls == [("a", [rec("a")]), (None, [b"[1, 2]"]), (None, [b"{oops"]), ("a", [rec("a")])]


def test_single_chain():
    assert single_chain([{"correlation_id": "x"}, {"correlation_id": "x"}]) == "x"
    assert single_chain([{"correlation_id": "x"}, {"correlation_id": "y"}]) is None
    assert single_chain([]) is None
    assert single_chain([{"correlation_id": 5}]) is None
