"""Fault tests of the dead-letter spool with real processes and the real
database (issue 5): PostgreSQL stopped mid-stream (and again mid-replay),
the service SIGKILLed with a non-empty spool, a torn record, a full spool,
an unwritable spool directory. Each prints the counts it checked.

These stop and restart the session's PostgreSQL; the `pg_back` fixture
always starts it again."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import orjson
import psycopg
import pytest

from app.migrate import libpq_url
from app.spool import list_segments
from tests.api.test_audit_events import gateway_event, notification
from tests.api.test_foundation import assert_problem
from tests.db.test_spool_drain import gated_backends, install_gate, set_gate
from harness import ROOT, Service, poll

DRAIN_TIMEOUT = 180


@pytest.fixture
def pg_back(pg, db_url):
    """The session cluster, started again after the test (before db_url drops its database).

    The test cluster runs with synchronous_commit off, so an immediate stop
    may forget transactions that already reported COMMIT: a 201 (or a
    replay) would vanish for reasons that have nothing to do with the spool.
    The test's database gets synchronous commits."""
    with connect(db_url) as c:
        c.execute(f'ALTER DATABASE "{c.info.dbname}" SET synchronous_commit = on')
    try:
        yield pg
    finally:
        pg.start_server()


def connect(url: str):
    return psycopg.connect(libpq_url(url), autocommit=True)


def start_service(db_url: str, spool_dir: Path, workers: int = 1, **env) -> Service:
    return Service(db_url, env={"DS_SPOOL_DIR": str(spool_dir), **env}, workers=workers).start()


class Load:
    """Concurrent clients writing single events and batches; remembers what
    the service acknowledged (201/202) and what it answered otherwise."""

    def __init__(self, svc: Service, chains: list[str], clients: int = 4):
        self.svc, self.chains, self.clients = svc, chains, clients
        self.acked: dict[str, int] = {}
        self.statuses: Counter = Counter()
        self.unexpected: list = []
        self.in_flight_lost = 0          # events of requests cut off without an answer
        self.requests = 0
        self.after_stop: Counter = Counter()
        self.stopped_at: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(clients)]

    def start(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def wait_for(self, requests: int, timeout: float = 120) -> None:
        poll(lambda: self.requests >= requests, timeout=timeout,
             what=f"{requests} requests answered")

    def _run(self, i: int) -> None:
        rng = random.Random(i)
        with self.svc.client() as c:
            while not self._stop.is_set():
                cid = rng.choice(self.chains)
                started = time.monotonic()
                try:
                    if rng.random() < 0.6:
                        n = 1
                        resp = c.post("/api/v1/audit/events", json=gateway_event(cid))
                    else:
                        n = rng.randint(2, 8)
                        resp = c.post("/api/v1/audit/events/batch",
                                      json=[gateway_event(cid) for _ in range(n)])
                except httpx.ConnectError:
                    time.sleep(0.05)       # never sent: nothing to account for
                    continue
                except httpx.TransportError:
                    with self._lock:
                        self.in_flight_lost += n
                    continue
                with self._lock:
                    self.requests += 1
                    self.statuses[resp.status_code] += 1
                    if self.stopped_at is not None and started > self.stopped_at:
                        self.after_stop[resp.status_code] += 1
                    if resp.status_code not in (201, 202):
                        self.unexpected.append((resp.status_code, resp.text[:300]))
                        continue
                    body = resp.json()
                    ids = body.get("event_ids") or [body["event_id"]]
                    assert len(ids) == n
                    for event_id in ids:
                        self.acked[event_id] = resp.status_code


def health(svc: Service) -> dict:
    return httpx.get(svc.base_url + "/health", timeout=10).json()


def wait_drained(svc: Service, spool_dir: Path) -> dict:
    """Until the database is connected, nothing waits and no segment is left."""
    last: dict = {}

    def drained():
        last.update(body=health(svc))
        spool = last["body"].get("spool") or {}
        return last["body"].get("database") == "connected" and spool.get("records") == 0 \
            and not spool.get("damaged_records") and not list_segments(spool_dir)

    if not poll(drained, timeout=DRAIN_TIMEOUT, interval=0.2, fail=False):
        raise AssertionError(f"spool not drained: {last.get('body')}\n{svc.logs()}")
    return last["body"]


def stored(db_url: str, table: str = "audit_events") -> dict[str, int]:
    with connect(db_url) as c:
        return dict(c.execute(f"SELECT event_id::text, count(*) FROM {table} GROUP BY 1"))


def chains_valid(db_url: str, cids) -> dict[str, bool]:
    with connect(db_url) as c:
        return {cid: c.execute("SELECT is_valid FROM datastorage.verify_chain_summary(%s)",
                               (cid,)).fetchone()[0] for cid in cids}


def metric_sum(svc: Service, name: str, **labels) -> float:
    text = httpx.get(svc.base_url + "/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
    return total


def quarantine(spool_dir: Path) -> list[dict]:
    path = spool_dir / "quarantine.jsonl"
    return [orjson.loads(x) for x in path.read_bytes().splitlines()] if path.exists() else []


def wait_until(predicate, what: str, timeout: float = 60):
    return poll(predicate, timeout=timeout, what=what, interval=0.1)


# --- 1 ------------------------------------------------------------------------

def test_outage_mid_stream_and_mid_replay_loses_nothing(pg_back, db_url, conn, tmp_path):
    """PostgreSQL stops (immediate) under concurrent single and batch writes
    from two workers, comes back, and stops again while a replay transaction
    is provably in flight. Every acknowledged event ends up stored once."""
    install_gate(conn)            # inserts into `gated-*` chains wait while the gate is closed
    spool_dir = tmp_path / "spool"
    svc = start_service(db_url, spool_dir, workers=2)
    try:
        chains = [f"fault1-{i}-{uuid.uuid4()}" for i in range(8)]
        load = Load(svc, chains).start()
        load.wait_for(60)
        pg_back.stop_server("immediate")
        load.stopped_at = time.monotonic()
        load.wait_for(load.requests + 150)
        gated_cid = f"gated-{uuid.uuid4()}"
        gated_ids = []
        with svc.client() as c:
            for _ in range(3):
                r = c.post("/api/v1/audit/events", json=gateway_event(gated_cid))
                assert r.status_code == 202, r.text
                gated_ids.append(r.json()["event_id"])
            r = c.post("/api/v1/audit/events/batch",
                       json=[gateway_event(gated_cid) for _ in range(4)])
            assert r.status_code == 202, r.text
            gated_ids += r.json()["event_ids"]
        load.wait_for(load.requests + 40)
        load.stop()
        assert load.unexpected == [] and load.in_flight_lost == 0
        assert set(load.after_stop) == {202}, load.after_stop     # the outage: all 202
        waiting = health(svc)["spool"]["records"]
        assert waiting > 0

        pg_back.start_server()
        with connect(db_url) as c:
            # A correct drainer must stop at the gate: the gated records are
            # still in the spool. One that dropped them empties the spool instead.
            blocked = wait_until(lambda: gated_backends(c) or health(svc)["spool"]["records"] == 0,
                                 "a replay blocked at the gate")
        if blocked is not True:
            pg_back.stop_server("immediate")   # kills the replay transaction mid-flight
            pg_back.start_server()
        with connect(db_url) as c:
            set_gate(c, False)
        after = wait_drained(svc, spool_dir)

        acked = dict(load.acked, **{i: 202 for i in gated_ids})
        counts = stored(db_url)
        missing = [i for i in acked if counts.get(i, 0) == 0]
        twice = {i: n for i, n in counts.items() if n > 1}
        extra = set(counts) - set(acked)
        assert (missing, twice, extra) == ([], {}, set())
        # The transparency log: every stored event, spooled ones included, is one leaf.
        leaves = wait_until(lambda: (lambda n: n if set(n) >= set(counts) else None)(
            stored(db_url, "tlog_leaves")), "every stored event in the transparency log")
        assert leaves == {i: 1 for i in counts}
        assert blocked is not True, "the spool emptied before the gated records were stored"
        valid = chains_valid(db_url, chains + [gated_cid])
        assert all(valid.values()), valid
        assert quarantine(spool_dir) == [] and after["status"] == "healthy"
        spooled_requests = load.statuses[202] + 4
        assert metric_sum(svc, "datastorage_dlq_enqueue_total") == spooled_requests
        assert metric_sum(svc, "datastorage_spool_replayed_total") == spooled_requests
        assert metric_sum(svc, "datastorage_audit_traces_total", status="dlq_fallback") == \
            sum(1 for s in acked.values() if s == 202)
        with svc.client() as c:
            assert c.post("/api/v1/audit/events", json=gateway_event(chains[0])).status_code == 201
        n201 = sum(1 for s in acked.values() if s == 201)
        print(f"\nfault 1: {load.requests + 4} requests from 4 clients on 2 workers: "
              f"{load.statuses[201]} x 201, {spooled_requests} x 202 (spooled records, "
              f"{waiting} waiting before restart); {len(acked)} acknowledged events "
              f"({n201} stored directly, {len(acked) - n201} spooled, {len(gated_ids)} in the "
              f"replay killed mid-transaction): {len(acked)} stored exactly once, 0 missing, "
              f"0 extra, each one leaf of the transparency log; {len(valid)} chains verify; "
              "spool empty, quarantine empty")
    finally:
        svc.stop()


# --- 2 ------------------------------------------------------------------------

def test_sigkill_with_a_spool_and_the_database_down_loses_nothing(pg_back, db_url, tmp_path):
    spool_dir = tmp_path / "spool"
    svc = start_service(db_url, spool_dir, workers=2)
    chains = [f"fault2-{i}-{uuid.uuid4()}" for i in range(6)]
    load = Load(svc, chains).start()
    try:
        load.wait_for(40)
        pg_back.stop_server("immediate")
        load.stopped_at = time.monotonic()
        load.wait_for(load.requests + 150)
        svc.kill()                               # SIGKILL, clients still writing
    finally:
        load.stop()
        svc.stop()
    assert load.unexpected == []
    segments = list_segments(spool_dir)
    assert segments, "nothing was spooled"
    pg_back.start_server()
    svc2 = start_service(db_url, spool_dir, workers=2)
    try:
        wait_drained(svc2, spool_dir)
        counts = stored(db_url)
        missing = [i for i in load.acked if counts.get(i, 0) == 0]
        twice = {i: n for i, n in counts.items() if n > 1}
        extra = set(counts) - set(load.acked)
        # Requests cut off by the kill may have been spooled without an
        # answer: at most their events may appear beyond the acknowledged ones.
        assert missing == [] and twice == {}
        assert len(extra) <= load.in_flight_lost
        torn = quarantine(spool_dir)
        assert not {i for e in torn for i in e["ids"]} & set(load.acked)
        assert all(chains_valid(db_url, chains).values())
        spooled = sum(1 for s in load.acked.values() if s == 202)
        print(f"\nfault 2: SIGKILL with {len(segments)} segment(s) and the database down; "
              f"{len(load.acked)} acknowledged events ({spooled} spooled) all stored exactly "
              f"once after restart, 0 missing, 0 twice; {len(extra)} unanswered-request "
              f"events stored (bound {load.in_flight_lost}); {len(torn)} torn record(s) "
              f"reported, none acknowledged; {len(chains)} chains verify")
    finally:
        svc2.stop()


# --- 3 ------------------------------------------------------------------------

def test_torn_last_record_is_skipped_reported_and_the_rest_replayed(pg_back, db_url, tmp_path):
    spool_dir = tmp_path / "spool"
    svc = start_service(db_url, spool_dir)
    cid = f"fault3-{uuid.uuid4()}"
    ids = []
    try:
        pg_back.stop_server("immediate")
        with svc.client() as c:
            for _ in range(12):
                r = c.post("/api/v1/audit/events", json=gateway_event(cid))
                assert r.status_code == 202, r.text
                ids.append(r.json()["event_id"])
    finally:
        svc.stop()                            # SIGTERM with the database down
    assert "Traceback" not in svc.logs(), svc.logs()
    segments = list_segments(spool_dir)
    assert sum(1 for _ in segments) >= 1      # the spool stays on shutdown
    last, st = segments[-1]
    os.truncate(spool_dir / last, st.st_size - 5)

    pg_back.start_server()
    svc2 = start_service(db_url, spool_dir)
    try:
        wait_drained(svc2, spool_dir)
        counts = stored(db_url)
        assert [counts.get(i, 0) for i in ids] == [1] * 11 + [0]
        (entry,) = quarantine(spool_dir)
        assert entry["reason"] == "torn_record" and entry["ids"] == [ids[-1]]
        assert metric_sum(svc2, "datastorage_spool_quarantined_total", reason="torn_record") == 1
        assert chains_valid(db_url, [cid]) == {cid: True}
        env = {**os.environ, "DS_SPOOL_DIR": str(spool_dir), "DS_DATA_DIR": str(tmp_path)}
        out = subprocess.run([sys.executable, "-m", "app.cli", "spool", "inspect",
                              "--quarantine", "--json"], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout
        (listed,) = orjson.loads(out)["quarantine"]
        assert listed["ids"] == [ids[-1]] and listed["reason"] == "torn_record"
        out = subprocess.run([sys.executable, "-m", "app.cli", "spool", "status", "--json"],
                             cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        status = orjson.loads(out)
        assert (status["records"], status["quarantined"]) == (0, 1)
        print(f"\nfault 3: 12 spooled, last record torn by 5 bytes: 11 replayed once, 1 torn "
              f"record reported (event {ids[-1]}) in quarantine, metrics and `spool inspect`")
    finally:
        svc2.stop()


# --- 4 ------------------------------------------------------------------------

def test_full_spool_answers_503_and_loses_nothing_acknowledged(pg_back, db_url, tmp_path):
    spool_dir = tmp_path / "spool"
    svc = start_service(db_url, spool_dir, DS_SPOOL_MAX_BYTES="8192")
    cid = f"fault4-{uuid.uuid4()}"
    acked, refused_cid = [], f"refused-{uuid.uuid4()}"
    try:
        with svc.client() as c:
            for _ in range(3):
                r = c.post("/api/v1/audit/events", json=gateway_event(cid))
                assert r.status_code == 201
                acked.append(r.json()["event_id"])
            pg_back.stop_server("immediate")
            statuses = []
            for _ in range(40):
                r = c.post("/api/v1/audit/events", json=gateway_event(cid))
                statuses.append(r.status_code)
                if r.status_code == 202:
                    acked.append(r.json()["event_id"])
                else:
                    break
            assert statuses[-1] == 503 and set(statuses[:-1]) == {202}
            refused = [r, c.post("/api/v1/audit/events/batch",
                                 json=[gateway_event(refused_cid)] * 2)]
            notes = []     # smaller than an event: may still fit, until they do not
            for _ in range(40):
                n = notification()
                r = c.post("/api/v1/audit/notifications", json=n)
                if r.status_code != 202:
                    refused.append(r)
                    break
                notes.append(n["notification_id"])
            for r in refused:
                body = assert_problem(r, 503, "/service-unavailable")
                assert body["retry"] is True and "spool full" in body["detail"]
            assert len(refused) == 3
        pg_back.start_server()
        wait_drained(svc, spool_dir)
        counts = stored(db_url)
        assert [counts.get(i, 0) for i in acked] == [1] * len(acked)
        assert len(counts) == len(acked)            # the refused ones are the client's to retry
        with connect(db_url) as c:
            for nid in notes:
                assert c.execute("SELECT count(*) FROM notification_audit "
                                 "WHERE notification_id = %s", (nid,)).fetchone()[0] == 1
        assert metric_sum(svc, "datastorage_spool_rejected_total", reason="full") == 3
        with svc.client() as c:                 # drained: room again
            assert c.post("/api/v1/audit/events", json=gateway_event(cid)).status_code == 201
        print(f"\nfault 4a: capacity 8192 bytes: 3 x 201, {len(statuses) - 1} events and "
              f"{len(notes)} notifications x 202, then 503 for single, batch and notification; "
              f"all {len(acked)} acknowledged events and {len(notes)} notifications stored once, "
              "0 refused events stored")
    finally:
        svc.stop()


def test_unwritable_spool_answers_500_and_loses_nothing_acknowledged(pg_back, db_url, tmp_path):
    spool_dir = tmp_path / "spool"
    svc = start_service(db_url, spool_dir)
    cid, refused_cid = f"fault4b-{uuid.uuid4()}", f"refused-{uuid.uuid4()}"
    acked = []
    try:
        with svc.client() as c:
            for _ in range(3):
                r = c.post("/api/v1/audit/events", json=gateway_event(cid))
                assert r.status_code == 201
                acked.append(r.json()["event_id"])
            pg_back.stop_server("immediate")
            for _ in range(5):
                r = c.post("/api/v1/audit/events", json=gateway_event(cid))
                assert r.status_code == 202, r.text
                acked.append(r.json()["event_id"])
            # The disk goes away: the directory is replaced by a plain file
            # (root ignores permission bits, so chmod would prove nothing).
            spool_dir.rename(tmp_path / "spool.saved")
            spool_dir.write_text("not a directory")
            single = assert_problem(c.post("/api/v1/audit/events",
                                           json=gateway_event(refused_cid)), 500,
                                    "/database_error")
            assert single["detail"] == "Failed to write audit event to database and DLQ"
            assert_problem(c.post("/api/v1/audit/events/batch",
                                  json=[gateway_event(refused_cid)] * 2), 500, "/database-error")
            note = assert_problem(c.post("/api/v1/audit/notifications", json=notification()),
                                  503, "/service-unavailable")
            assert note["detail"] == "database and DLQ both unavailable - please retry"
            assert health(svc)["spool"]["writable"] is False
            spool_dir.unlink()
            (tmp_path / "spool.saved").rename(spool_dir)
        pg_back.start_server()
        wait_drained(svc, spool_dir)
        # The housekeeping loop notices a writable directory again on its
        # next probe (every 0.5 s), which may come after the drain ended.
        assert wait_until(lambda: health(svc)["spool"]["writable"] is True,
                          "the spool directory reported writable again", timeout=30)
        counts = stored(db_url)
        assert [counts.get(i, 0) for i in acked] == [1] * len(acked)
        with connect(db_url) as c:
            assert c.execute("SELECT count(*) FROM audit_events WHERE correlation_id = %s",
                             (refused_cid,)).fetchone()[0] == 0
        assert metric_sum(svc, "datastorage_spool_rejected_total", reason="write_error") == 3
        print("\nfault 4b: spool directory unwritable: 500 database_error (single), 500 "
              "database-error (batch), 503 (notification, as the spec says); the 3 x 201 and "
              f"5 x 202 acknowledged before were all stored once ({len(acked)}), 0 refused "
              "events stored")
    finally:
        svc.stop()
