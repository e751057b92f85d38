"""The transparency log over HTTP, against the real service: events written
through the API are integrated and covered by signed checkpoints, which
verify with the served key; inclusion and consistency proofs verify against
them; checkpoints reach the outside directory; bad input is a problem."""
from __future__ import annotations

import json
import os
import stat
import uuid

import pytest

from app import note, tlog
from tests.api.test_audit_events import gateway_event
from tests.api.test_foundation import assert_problem
from tests.db.test_tlog_attacks import run_cli
from tests.db.test_tlog_retention import AS_OF, old_events
from harness import Service, poll, unique

LOG_ENV = {"DS_CHECKPOINT_INTERVAL": "0.2", "DS_LOG_INTEGRATE_INTERVAL": "0.05"}


@pytest.fixture(scope="module")
def svc(module_db):
    s = Service(module_db, env=LOG_ENV).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def http(svc):
    with svc.client() as c:
        yield c


def checkpoint_covering(http, verifier, size: int) -> note.Checkpoint:
    def fetch():
        r = http.get("/api/v1/audit/log/checkpoint")
        if r.status_code != 200:
            return None
        cp = note.Checkpoint.parse(r.text, verifier)
        return cp if cp.size >= size else None
    return poll(fetch, timeout=60, what=f"a checkpoint of size >= {size}")


def write(http, n: int) -> list[str]:
    cid = unique("tlog")
    ids = []
    for _ in range(n):
        r = http.post("/api/v1/audit/events", json=gateway_event(cid))
        assert r.status_code == 201, r.text
        ids.append(r.json()["event_id"])
    return ids


def test_key_and_checkpoint_verify_and_cover_written_events(http, svc, module_conn):
    r = http.get("/api/v1/audit/log/key")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    verifier = note.Verifier.parse(r.text)
    key_file = svc.data_dir / "log-signing.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert note.Signer.parse(key_file.read_text()).verifier == verifier

    ids = write(http, 5)
    size = module_conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    cp = checkpoint_covering(http, verifier, size)
    assert cp.origin == verifier.name
    # The same note, fsync'd outside the database.
    outside = (svc.data_dir / "checkpoints" / f"{cp.size:020d}.checkpoint").read_text()
    assert outside == cp.note.render()

    for event_id in ids:
        r = http.get("/api/v1/audit/log/proof/inclusion",
                     params={"event_id": event_id, "tree_size": cp.size})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["event_id"] == event_id and body["tree_size"] == cp.size
        leaf = tlog.leaf_bytes(event_id, body["event_hash"], body["correlation_id"])
        assert tlog.unb64(body["leaf_hash"]) == tlog.leaf_hash(leaf)
        tlog.verify_inclusion(tlog.leaf_hash(leaf), body["leaf_index"], cp.size,
                              [tlog.unb64(p) for p in body["proof"]], cp.root)

    # Without tree_size: against the latest checkpoint.
    r = http.get("/api/v1/audit/log/proof/inclusion", params={"event_id": ids[0]})
    assert r.status_code == 200 and r.json()["tree_size"] >= cp.size

    more = write(http, 3)
    cp2 = checkpoint_covering(http, verifier, cp.size + len(more))
    r = http.get("/api/v1/audit/log/proof/consistency", params={"first": cp.size, "second": cp2.size})
    assert r.status_code == 200, r.text
    body = r.json()
    tlog.verify_consistency(cp.size, cp2.size, [tlog.unb64(p) for p in body["proof"]],
                            cp.root, cp2.root)
    assert tlog.unb64(body["first_root"]) == cp.root and tlog.unb64(body["second_root"]) == cp2.root


@pytest.mark.parametrize("path,params,status,detail", [
    ("/proof/inclusion", {}, 400, "event_id"),
    ("/proof/inclusion", {"event_id": "nope"}, 400, "event_id"),
    ("/proof/inclusion", {"event_id": str(uuid.uuid4())}, 404, "not in the transparency log"),
    ("/proof/inclusion", {"event_id": str(uuid.uuid4()), "tree_size": "-1"}, 400, "tree_size"),
    ("/proof/inclusion", {"event_id": str(uuid.uuid4()), "tree_size": "1e3"}, 400, "tree_size"),
    ("/proof/consistency", {"first": "1"}, 400, "second"),
    ("/proof/consistency", {"first": "x", "second": "2"}, 400, "first"),
    ("/proof/consistency", {"first": "3", "second": "2"}, 400, "first"),
    ("/proof/consistency", {"first": "0", "second": "2"}, 400, "first"),
    ("/proof/consistency", {"first": "1", "second": str(2**62)}, 400, "log size"),
    ("/proof/consistency", {"first": "1", "second": str(2**64)}, 400, "second"),
])
def test_bad_input_is_a_problem(http, path, params, status, detail):
    body = assert_problem(http.get("/api/v1/audit/log" + path, params=params), status)
    assert detail in body["detail"], body


def test_event_beyond_the_requested_size_is_refused(http, module_conn):
    (event_id,) = write(http, 1)
    poll(lambda: module_conn.execute("SELECT 1 FROM tlog_leaves WHERE event_id = %s",
                                         (event_id,)).fetchone(), timeout=60, what="integration")
    index = module_conn.execute("SELECT leaf_index FROM tlog_leaves WHERE event_id = %s",
                                (event_id,)).fetchone()[0]
    body = assert_problem(http.get("/api/v1/audit/log/proof/inclusion",
                                   params={"event_id": event_id, "tree_size": index}), 400)
    assert f"leaf {index}" in body["detail"]


def test_tiles_rebuild_the_signed_root(http, module_conn):
    """A generic tlog-tiles client: the partial level-0 tile and entry bundle
    for a checkpoint's size reproduce its root and its leaves."""
    verifier = note.Verifier.parse(http.get("/api/v1/audit/log/key").text)
    write(http, 3)
    cp = checkpoint_covering(http, verifier,
                             module_conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    assert 0 < cp.size < 256
    r = http.get(f"/api/v1/audit/log/tile/0/000.p/{cp.size}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    hashes = [r.content[i:i + 32] for i in range(0, len(r.content), 32)]
    assert len(hashes) == cp.size and tlog.root_of(hashes) == cp.root
    bundle = http.get(f"/api/v1/audit/log/tile/entries/000.p/{cp.size}").content
    entries = tlog.bundle_entries(bundle)
    assert [tlog.leaf_hash(e) for e in entries] == hashes
    for bad in ("0/000", "0/000.p/0", "0/000.p/256", "0/00.p/1", "0/x000", "00/000.p/1",
                f"0/000.p/{cp.size + 50}", "64/000", "entries/1234", "nope"):
        assert_problem(http.get(f"/api/v1/audit/log/tile/{bad}"), 404)


USER = {"X-Auth-Request-User": "auditor@example.com"}


def test_exports_carry_inclusion_proofs_the_offline_verifier_checks(http, svc, module_conn, tmp_path):
    verifier = note.Verifier.parse(http.get("/api/v1/audit/log/key").text)
    ids = write(http, 4)
    cid = module_conn.execute("SELECT correlation_id FROM audit_events WHERE event_id = %s",
                              (ids[0],)).fetchone()[0]
    cp = checkpoint_covering(http, verifier,
                             module_conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    (tmp_path / "cert.pem").write_text(http.get("/api/v1/audit/export/certificate").text)
    plain = http.get("/api/v1/audit/export", params={"correlation_id": cid}, headers=USER)
    assert b"transparency_log" not in plain.content   # unchanged unless asked for

    def export_and_verify(*extra):
        r = http.get("/api/v1/audit/export", headers=USER,
                     params={"correlation_id": cid, "include_log_proofs": "true"})
        assert r.status_code == 200, r.text
        path = tmp_path / "export.json"
        path.write_bytes(r.content)
        return run_cli(["verify", str(path), "--cert", str(tmp_path / "cert.pem"),
                        "--log-key", verifier.vkey(), *extra], {})

    outside = svc.data_dir / "checkpoints" / f"{cp.size:020d}.checkpoint"
    r = export_and_verify()
    assert r.returncode == 0, r.stdout
    assert "transparency log: 4 event(s) proven" in r.stdout
    # Against an outside copy of another size: refused, not silently accepted.
    if note.Checkpoint.parse(
            http.get("/api/v1/audit/log/checkpoint").text, verifier).size != cp.size:
        r = export_and_verify("--checkpoint", str(outside))
        assert r.returncode == 1 and "a different size" in r.stdout

    # An event slipped in past the log's capture (superuser) has no proof.
    forged = gateway_event(cid)
    with module_conn.transaction():
        module_conn.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_tlog_capture")
        module_conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps([{
            **forged, "event_id": str(uuid.uuid4()), "event_version": "1.0", "actor_type": "s",
            "actor_id": "x", "resource_type": "r", "resource_id": "r"}]),))
        module_conn.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_tlog_capture")
    forged_id = module_conn.execute("SELECT event_id::text FROM audit_events WHERE correlation_id = %s "
                                    "ORDER BY chain_seq DESC LIMIT 1", (cid,)).fetchone()[0]
    r = export_and_verify()
    assert r.returncode == 1
    assert f"transparency log: event {forged_id} has no inclusion proof" in r.stdout


def test_log_proofs_are_json_only(http):
    r = http.get("/api/v1/audit/export", headers=USER,
                 params={"format": "csv", "include_log_proofs": "true"})
    body = assert_problem(r, 400)
    assert "include_log_proofs" in body["detail"]


def test_inclusion_proof_of_a_pruned_event(http, module_conn):
    """Retention deletes the event; its leaf stays, and so does its proof."""
    verifier = note.Verifier.parse(http.get("/api/v1/audit/log/key").text)
    evs = old_events(unique("tlog-pruned"), 2)
    module_conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps(evs),))
    # Not count(audit_events): an earlier test stored an event past the log.
    last = poll(lambda: module_conn.execute("SELECT leaf_index FROM tlog_leaves WHERE event_id = %s",
                                            (evs[-1]["event_id"],)).fetchone(),
                timeout=60, what="the events' leaves")[0]
    cp = checkpoint_covering(http, verifier, last + 1)
    gone = evs[0]["event_id"]
    (stored_hash,) = module_conn.execute("SELECT event_hash FROM audit_events WHERE event_id = %s",
                                         (gone,)).fetchone()
    module_conn.execute("SELECT datastorage.enforce_retention(%s)", (AS_OF,))
    assert module_conn.execute("SELECT count(*) FROM audit_events WHERE event_id = %s",
                               (gone,)).fetchone()[0] == 0
    r = http.get("/api/v1/audit/log/proof/inclusion", params={"event_id": gone, "tree_size": cp.size})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["event_hash"] == stored_hash
    leaf = tlog.leaf_hash(tlog.leaf_bytes(gone, body["event_hash"], body["correlation_id"]))
    tlog.verify_inclusion(leaf, body["leaf_index"], cp.size, [tlog.unb64(p) for p in body["proof"]],
                          cp.root)
