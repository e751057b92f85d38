"""Rule: the append reads its tables (chain heads, the id registry) through
their indexes, however small the tables were when the session made its plans.

append_audit_events keeps one generic plan per statement for the session
(made at its first call, never re-planned per call). A plan made while a
table is nearly empty would scan the whole table; kept, that scan would run
on every later call as the table grows. Here a session makes its plans on
empty tables, the tables grow by a few thousand chains, and the plans of a
later append (auto_explain, every nested statement) must still look rows up
by index: the head update and both parent checks included.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from bench.bench_query import NestedPlans, plan_nodes

TABLES = ("audit_chain_heads", "audit_event_ids")


def event(cid: str, parent: str | None = None) -> dict:
    e = {"event_id": str(uuid.uuid4()), "event_timestamp": datetime.now(timezone.utc).isoformat(),
         "event_type": "t", "event_category": "gateway", "event_action": "a",
         "event_outcome": "success", "actor_type": "service", "actor_id": "x",
         "resource_type": "r", "resource_id": cid, "correlation_id": cid, "event_data": {}}
    if parent:
        e["parent_event_id"] = parent
    return e


def append(conn, events: list[dict]) -> int:
    return conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                        (json.dumps(events),)).fetchone()[0]


def test_plans_made_on_empty_tables_still_use_indexes_once_they_grew(conn):
    first = [event(f"early-{i}") for i in range(6)]
    for e in first:  # the session's plans are made now, on empty tables
        assert append(conn, [e]) == 1
    assert append(conn, [event(f"grown-{i}") for i in range(3000)]) == 3000
    plans = NestedPlans(conn)
    try:
        got = plans.of("SELECT datastorage.append_audit_events(%s::jsonb)",
                       (json.dumps([event("early-0", parent=first[0]["event_id"])]),))
    finally:
        plans.close()
    reads = [(n["Node Type"], n.get("Relation Name") or n.get("Index Name"))
             for p in got for n in plan_nodes(p["Plan"])
             if (n.get("Relation Name") or n.get("Index Name") or "").startswith(TABLES)
             and "Scan" in n["Node Type"]]
    # The head update reads audit_chain_heads; the parent checks read the registry.
    assert {r[1].split("_pkey")[0] for r in reads} >= set(TABLES), reads
    assert not [r for r in reads if r[0] == "Seq Scan"], reads
    assert conn.execute("SELECT last_seq FROM audit_chain_heads WHERE correlation_id = 'early-0'"
                        ).fetchone() == (2,)
