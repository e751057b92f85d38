"""`datastorage log witness` (the real CLI) against the running service:
it cosigns a growing log, and refuses, with exit 1 and kept evidence, a
rollback, a split view and a rewritten tree signed with the log's key. The
attacks are performed for real: the database superuser edits the served
checkpoints, the holder of the signing key signs what it wants."""
from __future__ import annotations

import pytest

from app import note
# The service under test and its client are the log tests' own fixtures.
from tests.api.test_transparency_log import checkpoint_covering, http, svc, write  # noqa: F401
from tests.db.test_tlog_attacks import Run, as_superuser, rebuild_tree, run_cli
from harness import poll


@pytest.fixture
def key(http):
    return note.Verifier.parse(http.get("/api/v1/audit/log/key").text)


def witness(svc, key, state, **kw) -> Run:
    return run_cli(["log", "witness", "--url", svc.base_url, "--state", str(state),
                    "--key", key.vkey(), "--name", "witness.test/w1"], {}, **kw)


def grown(http, key, module_conn, n: int = 2) -> note.Checkpoint:
    write(http, n)
    size = module_conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    return checkpoint_covering(http, key, size)


def rewrite_first_leaf_event(conn) -> None:
    """As superuser: change the data of the log's first event and its hash."""
    first = "(SELECT event_id FROM tlog_leaves WHERE leaf_index = 0)"
    as_superuser(conn, (f"UPDATE audit_events SET event_data = '{{\"forged\": true}}' "
                        f"WHERE event_id = {first}", None))
    as_superuser(conn, ("UPDATE audit_events a SET event_hash = "
                        "datastorage.chain_hash(a.previous_event_hash, a) "
                        f"WHERE event_id = {first}", None))


def served_latest(module_conn, signer: note.Signer, size: int, root: bytes) -> str:
    """As key holder and superuser: publish a checkpoint of our choosing."""
    text = note.sign_checkpoint(signer, size, root).note.render()
    module_conn.execute("INSERT INTO tlog_checkpoints (tree_size, root_hash, note) VALUES (%s, %s, %s)",
                        (size, root, text))
    return text


def test_witness_cosigns_a_growing_log(svc, http, key, module_conn, tmp_path):
    cp = grown(http, key, module_conn)
    r = witness(svc, key, tmp_path, subprocess_run=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"cosigned size {cp.size} (first checkpoint)" in r.stdout
    cp2 = grown(http, key, module_conn)
    r = witness(svc, key, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"cosigned size {cp2.size} (from {cp.size})" in r.stdout
    held = note.Checkpoint.parse((tmp_path / "latest.checkpoint").read_text(), key)
    assert (held.size, held.root) == (cp2.size, cp2.root)
    wkey = note.Signer.parse((tmp_path / "witness.key").read_text()).verifier
    assert wkey.alg == note.COSIGNATURE_V1 and wkey.vkey() in r.stdout
    note.verify_cosignature(held.note, wkey)
    # A cosignature over another body does not verify.
    forged = note.Note(held.note.text.replace(str(held.size), str(held.size + 1), 1),
                       held.note.signatures)
    with pytest.raises(note.NoteError):
        note.verify_cosignature(forged, wkey)


def test_rollback_is_refused_and_kept(svc, http, key, module_conn, tmp_path):
    old = grown(http, key, module_conn)
    new = grown(http, key, module_conn)
    assert witness(svc, key, tmp_path).returncode == 0
    as_superuser(module_conn, ("DELETE FROM tlog_checkpoints WHERE tree_size > %s", (old.size,)))
    r = witness(svc, key, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"rollback: the log serves size {old.size}, this witness holds size {new.size}" in r.stderr
    (evidence,) = (tmp_path / "evidence").iterdir()
    assert "rollback" in evidence.name
    assert note.Checkpoint.parse((evidence / "served.checkpoint").read_text(), key).size == old.size
    assert note.Checkpoint.parse((evidence / "held.checkpoint").read_text(), key).size == new.size


def test_split_view_is_refused_and_kept(svc, http, key, module_conn, tmp_path):
    cp = grown(http, key, module_conn)
    assert witness(svc, key, tmp_path).returncode == 0
    signer = note.Signer.parse((svc.data_dir / "log-signing.key").read_text())
    other_root = bytes(32)
    served_latest(module_conn, signer, cp.size, other_root)
    r = witness(svc, key, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"split view: two signed roots for tree size {cp.size}" in r.stderr
    (evidence,) = (tmp_path / "evidence").iterdir()
    assert note.Checkpoint.parse((evidence / "served.checkpoint").read_text(), key).root == other_root


def test_rewritten_tree_signed_with_the_key_is_refused(svc, http, key, module_conn, tmp_path):
    cp = grown(http, key, module_conn)
    assert witness(svc, key, tmp_path).returncode == 0
    rewrite_first_leaf_event(module_conn)
    rebuild_tree(module_conn)
    write(http, 2)
    size = module_conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    poll(lambda: module_conn.execute("SELECT datastorage.tlog_size()").fetchone()[0] >= size,
         timeout=60, what="integration")
    # The service's own signer will not sign it ...
    poll(lambda: "refusing to sign a checkpoint" in svc.logs(), timeout=60, what="the signer's refusal")
    metrics = http.get("/metrics").text
    assert any(line.startswith("datastorage_tlog_sign_refusals_total ") and float(line.split()[1]) >= 1
               for line in metrics.splitlines()), metrics
    # ... so the key holder does.
    size, root = module_conn.execute("SELECT * FROM datastorage.tlog_head()").fetchone()
    signer = note.Signer.parse((svc.data_dir / "log-signing.key").read_text())
    served_latest(module_conn, signer, size, bytes(root))
    r = witness(svc, key, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"tree of size {size} is not an extension of the held tree of size {cp.size}" in r.stderr
    (evidence,) = (tmp_path / "evidence").iterdir()
    assert (evidence / "proof.json").exists()
