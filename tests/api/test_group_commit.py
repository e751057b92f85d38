"""Group commit of single-event writes (app/writes.py, GroupCommit) against
the real service and database: concurrent requests share append calls, yet
each one gets the answer it would have got alone, and nothing acknowledged
is lost or stored twice when PostgreSQL dies under them.

The service runs with DS_WRITE_CALLS=1 (one append call in flight), so
every request arriving during a call waits for the next one: coalescing is
forced. That it happened is read from the database: the events one call
stored share its transaction id (`xmin`)."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.api.test_audit_events import gateway_event
from tests.api.test_spool_faults import (Load, chains_valid, pg_back,  # noqa: F401
                                         start_service, stored, wait_drained)
from harness import Service

EVENTS = "/api/v1/audit/events"


@pytest.fixture(scope="module")
def coalescing(module_db, tmp_path_factory):
    spool = tmp_path_factory.mktemp("coalescing") / "spool"
    svc = Service(module_db, env={"DS_WRITE_CALLS": "1", "DS_SPOOL_DIR": str(spool)}).start()
    try:
        yield svc
    finally:
        svc.stop()


def burst(svc: Service, bodies: list[dict], clients: int = 32) -> list:
    """POST the bodies from `clients` keep-alive connections at once (client
    k sends bodies k, k + clients, ...); the responses in the bodies' order."""
    def send(k):
        with svc.client() as c:
            return [(i, c.post(EVENTS, json=bodies[i])) for i in range(k, len(bodies), clients)]
    answers = {}
    with ThreadPoolExecutor(clients) as pool:
        for part in pool.map(send, range(clients)):
            answers.update(part)
    return [answers[i] for i in range(len(bodies))]


def transactions(conn, event_ids: list[str]) -> int:
    """How many transactions stored these events."""
    return conn.execute("SELECT count(DISTINCT xmin::text) FROM audit_events "
                        "WHERE event_id = ANY(%s::uuid[])", (event_ids,)).fetchone()[0]


def test_concurrent_writes_share_calls_and_each_gets_its_own_answer(coalescing, module_db,
                                                                    module_conn):
    chains = [f"gc-{i}-{uuid.uuid4()}" for i in range(8)]
    with coalescing.client() as c:
        parent = c.post(EVENTS, json=gateway_event(chains[0])).json()["event_id"]
        # What a request with a missing parent gets when it is alone.
        alone = c.post(EVENTS, json=gateway_event(chains[1], parent_event_id=str(uuid.uuid4())))
    assert alone.status_code == 400, alone.text

    # A clean burst: calls carried several events (fewer transactions than events).
    clean = burst(coalescing, [gateway_event(chains[i % 8]) for i in range(160)])
    assert {r.status_code for r in clean} == {201}
    clean_ids = [r.json()["event_id"] for r in clean]
    assert transactions(module_conn, clean_ids) < len(clean_ids)

    # A burst with refusals mixed in: each refused request gets the answer it
    # got alone, every other request is stored, once.
    bodies, bad = [], set()
    for i in range(160):
        if i % 37 == 5:
            bad.add(i)
            bodies.append(gateway_event(chains[i % 8], parent_event_id=str(uuid.uuid4())))
        elif i % 5 == 0:
            bodies.append(gateway_event(chains[i % 8], parent_event_id=parent))
        else:
            bodies.append(gateway_event(chains[i % 8]))
    mixed = burst(coalescing, bodies)
    for i, r in enumerate(mixed):
        if i in bad:
            assert r.status_code == alone.status_code, r.text
            body, expected = r.json(), alone.json()
            assert (body["type"], body["title"]) == (expected["type"], expected["title"])
            assert "parent event does not exist" in body["detail"]
        else:
            assert r.status_code == 201, r.text
    good = [r.json()["event_id"] for i, r in enumerate(mixed) if i not in bad]
    counts = dict(module_conn.execute(
            "SELECT event_id::text, count(*) FROM audit_events WHERE event_id = ANY(%s::uuid[]) "
            "GROUP BY 1", (good + clean_ids,)).fetchall())
    assert counts == {i: 1 for i in good + clean_ids}
    parents = dict(module_conn.execute(
        "SELECT event_id::text, parent_event_id::text FROM audit_events "
        "WHERE event_id = ANY(%s::uuid[])", (good,)).fetchall())
    assert sum(1 for p in parents.values() if p == parent) == \
        sum(1 for i in range(160) if i not in bad and i % 5 == 0)
    assert all(chains_valid(module_db, chains).values())


def test_database_killed_under_coalesced_writes_loses_nothing(pg_back, db_url, tmp_path):  # noqa: F811
    """PostgreSQL stops (immediate) while 16 clients write through one
    coalescing call at a time, then comes back: every acknowledged event
    (201 committed, 202 spooled) is stored exactly once."""
    spool_dir = tmp_path / "spool"
    svc = start_service(db_url, spool_dir, DS_WRITE_CALLS="1")
    try:
        chains = [f"gckill-{i}-{uuid.uuid4()}" for i in range(8)]
        load = Load(svc, chains, clients=16).start()
        load.wait_for(150)
        pg_back.stop_server("immediate")
        load.stopped_at = time.monotonic()
        load.wait_for(load.requests + 100)
        load.stop()
        assert load.unexpected == [] and load.in_flight_lost == 0
        assert load.after_stop[202] > 0, load.after_stop
        pg_back.start_server()
        wait_drained(svc, spool_dir)
        counts = stored(db_url)
        acked = load.acked
        missing = [i for i in acked if counts.get(i, 0) == 0]
        twice = {i: n for i, n in counts.items() if n > 1}
        extra = set(counts) - set(acked)
        assert (missing, twice, extra) == ([], {}, set())
        assert all(chains_valid(db_url, chains).values())
    finally:
        svc.stop()
