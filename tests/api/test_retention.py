"""Retention against the real service while it takes writes: `datastorage
retention plan|run` and the service's own periodic run remove exactly the
expired, unheld events (checked id by id), every chain still verifies over
HTTP and offline, and `retention_days` is validated at write time.

Expired data is made the way a client can: events timestamped 5 days ago
(inside the 7-day acceptance window) with retention_days 1. No date is
hard-coded."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import httpx
import psycopg
import pytest

from app import signing
from app.migrate import libpq_url
from tests.api.test_audit_events import gateway_event
from tests.api.test_cli import run_cli
from tests.api.test_foundation import assert_problem
from tests.db.test_verifier_cli import _resign
from tests.harness import Service, unique

HOLDER = {"X-Auth-Request-User": "system:serviceaccount:legal:alice"}
EVENTS = "/api/v1/audit/events"


def _ago(days: float, minute: int = 0) -> str:
    ts = datetime.now(timezone.utc) - timedelta(days=days) + timedelta(minutes=minute)
    return ts.isoformat().replace("+00:00", "Z")


def write(client, cid: str, n: int, *, days_ago: float, retention_days: int | None) -> list[str]:
    extra = {} if retention_days is None else {"retention_days": retention_days}
    batch = [gateway_event(cid, event_timestamp=_ago(days_ago, i), **extra) for i in range(n)]
    r = client.post(EVENTS + "/batch", json=batch)
    assert r.status_code == 201, r.text
    return r.json()["event_ids"]


def present(conn, ids: list[str]) -> int:
    return conn.execute("SELECT count(*) FROM audit_events WHERE event_id = ANY(%s::uuid[])",
                        (ids,)).fetchone()[0]


class Load:
    """Single-event writes from two threads until stopped; keeps every acknowledged id."""

    def __init__(self, base_url: str, chains: list[str]):
        self.base_url, self.chains = base_url, chains
        self.acked: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(k,)) for k in range(2)]

    def _work(self, k: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as c:
            i = 0
            while not self.stop.is_set():
                cid = self.chains[(i + k) % len(self.chains)]
                r = c.post(EVENTS, json=gateway_event(cid))
                assert r.status_code == 201, r.text
                self.acked.append(r.json()["event_id"])
                i += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)


@pytest.fixture(scope="module")
def quiet_service(module_db):
    """The service with its periodic run off, so the CLI's runs are the only ones."""
    svc = Service(module_db, env={"DS_RETENTION_INTERVAL": "0"}).start()
    try:
        yield svc
    finally:
        svc.stop()


def test_cli_run_under_write_load_removes_exactly_the_expired_unheld_events(quiet_service, module_db,
                                                                          tmp_path):
    env = {"DS_DATABASE_URL": module_db}
    with quiet_service.client() as client, \
            psycopg.connect(libpq_url(module_db), autocommit=True) as conn:
        expired_chains = [unique("ret-exp") for _ in range(4)]
        expired = [i for cid in expired_chains for i in write(client, cid, 3, days_ago=5, retention_days=1)]
        mixed = unique("ret-mixed")
        mixed_old = write(client, mixed, 2, days_ago=5, retention_days=1)
        mixed_new = write(client, mixed, 2, days_ago=0.01, retention_days=1)
        held = unique("ret-held")
        held_ids = write(client, held, 3, days_ago=5, retention_days=1)
        assert client.post("/api/v1/audit/legal-hold", json={"correlation_id": held, "reason": "case 7"},
                           headers=HOLDER).status_code == 200
        kept = unique("ret-keep")
        kept_ids = write(client, kept, 3, days_ago=5, retention_days=None)

        plan = run_cli("retention", "plan", "--json", env=env)
        assert plan.returncode == 0, plan.stderr
        doc = json.loads(plan.stdout)
        mine = {c["correlation_id"]: c for c in doc["chains"]}
        assert mine[mixed]["prunable_events"] == 2 and mine[held]["held"] is True
        assert all(mine[c]["whole_chain"] for c in expired_chains)
        assert present(conn, expired + mixed_old) == len(expired + mixed_old), "a plan deletes nothing"

        # A run in progress elsewhere: this one is refused, nothing happens.
        with psycopg.connect(libpq_url(module_db), autocommit=True) as other:
            other.execute("SET ROLE datastorage_maintenance")
            run_id = other.execute("SELECT datastorage.retention_begin(now(), 'test')").fetchone()[0]
            busy = run_cli("retention", "run", env=env)
            assert busy.returncode == 2 and "already running" in busy.stderr, busy.stderr
            other.execute("SELECT datastorage.retention_finish(%s, 'stopped by the test')", (run_id,))

        load_chains = [mixed, held, kept] + [unique("ret-load") for _ in range(3)]
        with Load(quiet_service.base_url, load_chains) as load:
            run = run_cli("retention", "run", "--json", "--progress", env=env, timeout=120)
        assert run.returncode == 0, run.stderr
        record = json.loads(run.stdout)
        assert record["status"] == "succeeded" and record["started_by"] == "cli"
        assert record["events_deleted"] >= len(expired) + 2
        assert record["kept_held_events"] >= 3
        assert "100%" in run.stderr, "progress bar drawn"
        assert load.acked, "the load wrote while retention ran"

        assert present(conn, expired + mixed_old) == 0, "expired, unheld events are gone"
        survivors = mixed_new + held_ids + kept_ids + load.acked
        assert present(conn, survivors) == len(survivors), "nothing unexpired or held disappeared"

        chains = expired_chains + load_chains
        body = client.post("/api/v1/audit/verify-chain", json={"correlation_ids": chains}).json()
        assert body["is_valid"] is True, [c for c in body["chains"] if not c["is_valid"]]
        by_id = {c["correlation_id"]: c for c in body["chains"]}
        assert all(by_id[c]["expired"] is True and by_id[c]["total_events"] == 0 for c in expired_chains)
        assert by_id[expired_chains[0]]["message"].startswith("Hash chain expired")
        assert by_id[mixed]["pruned_events"] == 2 and by_id[mixed]["expired"] is False
        assert "pruned_events" not in by_id[kept], "unpruned chains report as before"

        # Offline: an export of the pruned chain verifies, its horizon signed inside it.
        (tmp_path / "cert.pem").write_text(client.get("/api/v1/audit/export/certificate").text)
        r = client.get("/api/v1/audit/export", params={"correlation_id": mixed}, headers=HOLDER)
        assert r.status_code == 200, r.text
        (tmp_path / "export.json").write_bytes(r.content)
        summary = r.json()["hash_chain_verification"]["chains"][0]
        assert summary["retention_horizon"]["first_kept_seq"] == 3
        ok = run_cli("verify", str(tmp_path / "export.json"), "--cert", str(tmp_path / "cert.pem"))
        assert ok.returncode == 0, ok.stdout + ok.stderr
        # Validly signed, but the first kept event does not link to the horizon: caught.
        signer = signing.Signer.from_files(quiet_service.data_dir / "signing" / "export-signing-key.pem",
                                           tmp_path / "cert.pem")
        hz = summary["retention_horizon"]["previous_hash"].encode()
        (tmp_path / "moved.json").write_bytes(
            _resign(r.content, signer, lambda b: b.replace(b'"previous_hash": "' + hz,
                                                           b'"previous_hash": "' + b"0" * 64)))
        bad = run_cli("verify", str(tmp_path / "moved.json"), "--cert", str(tmp_path / "cert.pem"))
        assert bad.returncode == 1 and "does not link to the recorded horizon" in bad.stdout, bad.stdout
        # The run is on record for auditors; a date ahead of the database clock is refused
        # (an earlier cutoff too: tests/sql/test_retention.sql).
        conn.execute("SET ROLE datastorage_auditor")
        assert conn.execute("SELECT count(*) FROM audit_retention_runs "
                            "WHERE status = 'succeeded'").fetchone()[0] >= 1
        conn.execute("RESET ROLE")
        ahead = run_cli("retention", "run", "--as-of", _ago(-2)[:10], env=env)
        assert ahead.returncode == 2 and "ahead of the database clock" in ahead.stderr
        rest = run_cli("retention", "run", "--pause", "101", env=env)
        assert rest.returncode == 2 and "not a number from 0 to 100" in rest.stderr, rest.stderr


@pytest.mark.parametrize("value", [0, -1, 36501, "90", 1.5])
def test_retention_days_out_of_range_is_a_validation_problem(quiet_service, value):
    with quiet_service.client() as client:
        body = assert_problem(client.post(EVENTS, json=gateway_event(unique("ret-bad"), retention_days=value)),
                              400, "/validation-error")
    assert "retention_days" in body["field_errors"]


def test_retention_days_is_stored(quiet_service, module_db):
    with quiet_service.client() as client, \
            psycopg.connect(libpq_url(module_db), autocommit=True) as conn:
        ids = [client.post(EVENTS, json=gateway_event(unique("ret-days"), **kw)).json()["event_id"]
               for kw in ({"retention_days": 1}, {"retention_days": 36500}, {})]
        got = dict(conn.execute("SELECT event_id::text, retention_days FROM audit_events "
                                "WHERE event_id = ANY(%s::uuid[])", (ids,)).fetchall())
    assert [got[i] for i in ids] == [1, 36500, 2555]


def test_the_service_runs_retention_itself(pg):
    """DS_RETENTION_INTERVAL=1: the periodic run removes expired events and reports it."""
    with pg.database() as url:
        # The runtime login may only use datastorage_app: retention gets its own login.
        svc = Service(url, env={"DS_RETENTION_INTERVAL": "1", "DS_RETENTION_DATABASE_URL": url}).start()
        try:
            with svc.client() as client, psycopg.connect(libpq_url(url), autocommit=True) as conn:
                ids = write(client, unique("ret-svc"), 4, days_ago=5, retention_days=1)
                deadline = datetime.now() + timedelta(seconds=60)
                while present(conn, ids) and datetime.now() < deadline:
                    conn.execute("SELECT pg_sleep(0.2)")
                assert present(conn, ids) == 0
                metrics = ""
                while "datastorage_retention_deleted_events_total 4.0" not in metrics \
                        and datetime.now() < deadline:
                    metrics = client.get("/metrics").text
                assert "datastorage_retention_deleted_events_total 4.0" in metrics, metrics
                assert "datastorage_retention_last_run_timestamp_seconds" in metrics
                who = conn.execute("SELECT DISTINCT started_by FROM audit_retention_runs").fetchall()
                assert who == [("service",)]
        finally:
            svc.stop()
