"""Attacks on the transparency log, performed for real as the database
superuser, and `datastorage log verify` (the real CLI) catching each one and
naming the event or log index. Checkpoints are signed by the service's own
signer (app/tlog_service.LogWorker) after each write, as the running
service does every few seconds. Each attack first shows that the per-chain
hashes alone no longer see it."""
from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import uuid
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from unittest import mock
from datetime import datetime, timedelta, timezone

import pytest

from app import cli, note
from app.config import Settings
from app.db import Database
from app.tlog_service import LogWorker, load_signer
from harness import ROOT

START = datetime.now(timezone.utc) - timedelta(hours=3)


def events(cid: str, n: int, offset: int = 0) -> list[dict]:
    return [{"event_id": str(uuid.uuid4()),
             "event_timestamp": (START + timedelta(seconds=offset + i)).isoformat(),
             "event_type": "gateway.signal.received", "event_category": "gateway",
             "event_action": "received", "event_outcome": "success", "actor_type": "service",
             "actor_id": "gw", "resource_type": "gateway", "resource_id": cid,
             "correlation_id": cid, "event_data": {"alert_name": "HighCPU", "n": i}}
            for i in range(n)]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], env: dict, *, subprocess_run: bool = False) -> Run:
    """The real command line; in-process unless asked (a subprocess costs
    an interpreter start on a busy machine)."""
    if subprocess_run:
        r = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT,
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        return Run(r.returncode, r.stdout, r.stderr)
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env), redirect_stdout(out), redirect_stderr(err):
        rc = cli.main(args)
    return Run(rc, out.getvalue(), err.getvalue())


class Log:
    """A database with a signed log: append, sign, verify."""

    def __init__(self, url: str, conn, tmp):
        self.url, self.conn, self.tmp = url, conn, tmp
        self.settings = Settings(data_dir=str(tmp), checkpoint_dir=str(tmp / "checkpoints"),
                                 database_url=url)
        self.signer = load_signer(self.settings)
        self.vkey = self.signer.verifier.vkey()

    def append(self, evs: list[dict]) -> None:
        self.conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps(evs),))

    def sign(self) -> note.Checkpoint:
        async def go():
            db = Database(self.url, role="datastorage_app", min_size=1, max_size=2, timeout=30)
            await db.open()
            try:
                worker = LogWorker(db, self.settings, self.signer)
                while await worker.integrate_once():
                    pass
                return await worker.sign_once()
            finally:
                await db.close()
        return asyncio.run(go())

    def verify(self, checkpoint=None, *, subprocess_run: bool = False) -> Run:
        """`datastorage log verify`, in this process (or as a subprocess)."""
        args = ["log", "verify", "--checkpoint", str(checkpoint or self.settings.checkpoint_path),
                "--key", self.vkey, "--no-progress"]
        env = {"DS_DATABASE_URL": self.url, "DS_DATA_DIR": str(self.tmp)}
        return run_cli(args, env, subprocess_run=subprocess_run)

    def index_of(self, event_id: str) -> int:
        return self.conn.execute("SELECT leaf_index FROM tlog_leaves WHERE event_id = %s",
                                 (event_id,)).fetchone()[0]

    def chain_valid(self, cid: str) -> bool:
        return self.conn.execute("SELECT is_valid FROM datastorage.verify_chain_summary(%s)",
                                 (cid,)).fetchone()[0]


@pytest.fixture
def log(db_url, conn, tmp_path):
    """Noise chains and chain rr-1 (three events), a checkpoint after each write."""
    lg = Log(db_url, conn, tmp_path)
    lg.append(events(f"noise-{uuid.uuid4()}", 40))
    lg.sign()
    lg.cid = f"rr-1-{uuid.uuid4()}"
    lg.chain = events(lg.cid, 3, 100)
    for ev in lg.chain:
        lg.append([ev])
        lg.sign()
    lg.append(events(f"noise-{uuid.uuid4()}", 25, 200))
    lg.final = lg.sign()
    return lg


def as_superuser(conn, *statements) -> None:
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            conn.execute(sql, params)


def rewrite_content(lg: Log, seq: int) -> None:
    """The issue's scenario: change an event's data, then recompute every
    hash after it along the chain, and the chain head."""
    as_superuser(lg.conn, (
        "UPDATE audit_events SET event_data = event_data || '{\"alert_name\": \"LowCPU\"}' "
        "WHERE correlation_id = %s AND chain_seq = %s", (lg.cid, seq)))
    with lg.conn.transaction():
        lg.conn.execute("SET LOCAL session_replication_role = replica")
        prev = lg.conn.execute("SELECT coalesce((SELECT event_hash FROM audit_events WHERE "
                               "correlation_id = %s AND chain_seq = %s), '')",
                               (lg.cid, seq - 1)).fetchone()[0]
        for s in range(seq, len(lg.chain) + 1):
            # The canonical form leaves out the hash columns, so the row as
            # read by the UPDATE hashes like the rewritten one.
            prev = lg.conn.execute(
                "UPDATE audit_events a SET previous_event_hash = %s, "
                "event_hash = datastorage.chain_hash(%s, a) "
                "WHERE correlation_id = %s AND chain_seq = %s RETURNING event_hash",
                (prev, prev, lg.cid, s)).fetchone()[0]
        lg.conn.execute("UPDATE audit_chain_heads SET last_hash = %s WHERE correlation_id = %s",
                        (prev, lg.cid))
    assert lg.chain_valid(lg.cid), "the attack must get past the per-chain verification"


def rebuild_tree(conn) -> None:
    """Rewrite every stored leaf and interior hash to match the rewritten
    events, keeping the leaf order: the database then agrees with itself."""
    as_superuser(
        conn,
        ("CREATE TEMP TABLE old_order AS SELECT leaf_index, event_id FROM tlog_leaves", None),
        ("DELETE FROM tlog_nodes", None),
        ("DELETE FROM tlog_leaves", None),
        ("DELETE FROM tlog_outbox", None),
        ("INSERT INTO tlog_outbox (event_id, correlation_id, event_hash) "
         "SELECT a.event_id, a.correlation_id, a.event_hash FROM old_order o "
         "JOIN audit_events a USING (event_id) ORDER BY o.leaf_index", None))
    conn.execute("SELECT datastorage.tlog_integrate(1000000)")
    conn.execute("DROP TABLE old_order")


def test_untouched_log_verifies(log):
    r = log.verify(subprocess_run=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RESULT: OK" in r.stdout and "reproduced: 5" in r.stdout
    single = log.verify(log.settings.checkpoint_path / f"{log.final.size:020d}.checkpoint")
    assert single.returncode == 0, single.stdout + single.stderr


def test_content_rewrite_with_recomputed_chain_hashes(log):
    rewrite_content(log, 2)
    target = log.chain[1]["event_id"]
    r = log.verify()
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"first differing leaf: log index {log.index_of(target)}: event {target}" in r.stdout


def test_content_rewrite_plus_rewritten_leaves_and_nodes(log):
    rewrite_content(log, 2)
    rebuild_tree(log.conn)
    target = log.chain[1]["event_id"]
    # The database is consistent with itself again ...
    size = log.final.size
    assert log.conn.execute("SELECT datastorage.tlog_size()").fetchone()[0] == size
    assert bytes(log.conn.execute("SELECT datastorage.tlog_root(%s)", (size,)).fetchone()[0]) \
        != log.final.root
    # ... and the checkpoints signed before the attack name the leaf.
    r = log.verify()
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"first differing leaf: log index {log.index_of(target)}: event {target}" in r.stdout
    # The service's signer refuses to sign the rewritten tree.
    log.append(events(f"after-{uuid.uuid4()}", 2, 400))
    with pytest.raises(Exception, match="does not extend the signed tree"):
        log.sign()


def test_content_rewrite_without_fixing_the_hash(log):
    as_superuser(log.conn, ("UPDATE audit_events SET event_data = '{}' WHERE correlation_id = %s "
                            "AND chain_seq = 3", (log.cid,)))
    target = log.chain[2]["event_id"]
    r = log.verify()
    assert r.returncode == 1
    assert (f"log index {log.index_of(target)}: event {target} (correlation_id {log.cid}): "
            "its content does not hash") in r.stdout


def test_deleting_the_tail_of_a_chain_with_its_head(log):
    as_superuser(
        log.conn,
        ("DELETE FROM audit_events WHERE correlation_id = %s AND chain_seq >= 2", (log.cid,)),
        ("UPDATE audit_chain_heads h SET last_seq = 1, last_hash = a.event_hash, "
         "last_event_id = a.event_id FROM audit_events a WHERE a.correlation_id = h.correlation_id "
         "AND a.chain_seq = 1 AND h.correlation_id = %s", (log.cid,)))
    assert log.chain_valid(log.cid)
    target = log.chain[1]["event_id"]
    r = log.verify()
    assert r.returncode == 1
    assert f"log index {log.index_of(target)}: event {target} is missing from audit_events" in r.stdout


def test_deleting_an_integrated_event_and_its_leaf(log):
    target = log.chain[0]["event_id"]
    index = log.index_of(target)
    as_superuser(log.conn, ("DELETE FROM audit_events WHERE event_id = %s", (target,)),
                 ("DELETE FROM tlog_leaves WHERE event_id = %s", (target,)))
    r = log.verify()
    assert r.returncode == 1
    assert f"log index {index} is missing" in r.stdout


def test_deleting_the_newest_leaves(log):
    size = log.final.size
    as_superuser(log.conn, ("DELETE FROM tlog_leaves WHERE leaf_index >= %s", (size - 3,)))
    r = log.verify()
    assert r.returncode == 1
    assert f"log index {size - 3} is missing" in r.stdout


def test_an_event_inserted_past_the_log(log):
    forged = events(log.cid, 1, 500)[0]
    with log.conn.transaction():
        log.conn.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_tlog_capture")
        log.append([forged])
        log.conn.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_tlog_capture")
    r = log.verify()
    assert r.returncode == 1
    assert f"event {forged['event_id']} (correlation_id {log.cid}) is stored but not in the log" in r.stdout


def test_redefining_the_canonical_form_is_caught(log):
    log.conn.execute("""CREATE OR REPLACE FUNCTION datastorage.canonical_members(e public.audit_events)
                        RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'forged' $$""")
    r = log.verify()
    assert r.returncode == 1
    assert "canonical_members in the database differs from the shipped definition" in r.stdout


@pytest.mark.parametrize("attack", [test_untouched_log_verifies,
                                    test_content_rewrite_with_recomputed_chain_hashes,
                                    test_content_rewrite_without_fixing_the_hash,
                                    test_deleting_an_integrated_event_and_its_leaf,
                                    test_deleting_the_newest_leaves])
def test_attacks_are_caught_across_chunk_boundaries(log, monkeypatch, attack):
    """The same, with the log cut into chunks of 7 leaves (the default cuts
    this small log into one): checkpoints, bad leaves and gaps fall inside
    and at the ends of chunks fetched by parallel connections."""
    from app import tlog_cli
    monkeypatch.setattr(tlog_cli, "MIN_CHUNK", 7)
    monkeypatch.setattr(tlog_cli, "MAX_CHUNK", 7)
    attack(log)
