"""`datastorage verify FILE` on real exports: it exits 0 only when the
signature, every hash and every link hold, and otherwise names what broke.
Files that are validly signed but inconsistent (re-signed with the service's
own key, or with an attacker's) show that the hash and link checks stand on
their own, and why the certificate must be pinned."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import canonical, signing
from app.export_format import SIGNATURE_MARKER, split_signed_json
from tests.api.test_export import PII, USER, chain, raw_event, seed
from harness import ROOT, unique

EXPORT = "/api/v1/audit/export"


def verify(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", "verify", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def files(service, module_db, tmp_path_factory):
    """A clean JSON export, a CSV export with its headers, and the certificate."""
    import psycopg

    from app.migrate import libpq_url
    tmp = tmp_path_factory.mktemp("verify")
    with psycopg.connect(libpq_url(module_db), autocommit=True) as conn:
        cid = chain(conn, 5)
        pii = unique("pii")
        seed(conn, [raw_event(pii, 0, data=PII)])
    with service.client() as c:
        (tmp / "export.json").write_bytes(
            c.get(EXPORT, params={"correlation_id": cid}, headers=USER).content)
        r = c.get(EXPORT, params={"correlation_id": cid, "format": "csv"}, headers=USER)
        (tmp / "export.csv").write_bytes(r.content)
        (tmp / "export.headers").write_text(
            "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in r.headers.items()))
        (tmp / "redacted.json").write_bytes(
            c.get(EXPORT, params={"correlation_id": pii, "redact_pii": "true"}, headers=USER).content)
        (tmp / "cert.pem").write_text(c.get(EXPORT + "/certificate").text)
    key = service.data_dir / "signing" / "export-signing-key.pem"
    return {"dir": tmp, "cid": cid, "signer": signing.Signer.from_files(key, tmp / "cert.pem")}


def _write(tmp: Path, name: str, data: bytes) -> Path:
    (tmp / name).write_bytes(data)
    return tmp / name


def _resign(body: bytes, signer: signing.Signer, edit=lambda b: b) -> bytes:
    """The document with its signed part edited and signed again."""
    signed, _, _ = split_signed_json(body)
    signed = edit(signed)
    return signed + SIGNATURE_MARKER + signer.sign(signed).encode() + b'"}}\n'


def test_clean_export_verifies(files):
    r = verify(files["dir"] / "export.json", "--cert", files["dir"] / "cert.pem")
    assert r.returncode == 0, r.stdout
    assert "signature: VALID" in r.stdout and "event hashes: 5 recomputed" in r.stdout
    assert "links: 5 checked" in r.stdout and r.stdout.rstrip().endswith(
        "RESULT: OK - the export is authentic and every hash and link in it holds")


def test_pinning_by_fingerprint_and_unpinned(files):
    fp = signing.fingerprint(signing.load_certificate((files["dir"] / "cert.pem").read_bytes()))
    path = files["dir"] / "export.json"
    assert verify(path, "--fingerprint", fp).returncode == 0
    wrong = verify(path, "--fingerprint", "00:" * 31 + "00")
    assert wrong.returncode == 1 and "is not the pinned --fingerprint" in wrong.stdout
    unpinned = verify(path)
    assert unpinned.returncode == 3 and "proves integrity, not origin" in unpinned.stdout
    assert "INTEGRITY ONLY, ORIGIN UNVERIFIED" in unpinned.stdout
    assert "authentic" not in unpinned.stdout
    assert verify(path, "--strict").returncode == 3


def test_another_certificate_is_refused(files, tmp_path):
    _, other = signing.generate("someone-else")
    from cryptography.hazmat.primitives import serialization
    pem = _write(tmp_path, "other.pem", other.public_bytes(serialization.Encoding.PEM))
    r = verify(files["dir"] / "export.json", "--cert", pem)
    assert r.returncode == 1
    assert "the export names certificate" in r.stdout and "signature: INVALID" in r.stdout


def test_any_changed_byte_fails_the_signature(files, tmp_path):
    body = (files["dir"] / "export.json").read_bytes()
    changed = _write(tmp_path, "changed.json", body.replace(b'"n": 3', b'"n": 4', 1))
    r = verify(changed, "--cert", files["dir"] / "cert.pem")
    assert r.returncode == 1 and "signature: INVALID" in r.stdout
    tail = _write(tmp_path, "tail.json", body.rstrip(b"\n") + b', "extra": 1}\n')
    r = verify(tail, "--cert", files["dir"] / "cert.pem")
    assert r.returncode == 1 and "does not end with the signature member" in r.stdout


def test_hashes_are_recomputed_even_under_a_valid_signature(files, tmp_path):
    body = (files["dir"] / "export.json").read_bytes()
    event = canonical.loads_exact(body)["events"][2]
    forged = _write(tmp_path, "forged.json",
                    _resign(body, files["signer"], lambda b: b.replace(b'"n": 2', b'"n": 7', 1)))
    r = verify(forged, "--cert", files["dir"] / "cert.pem")
    assert r.returncode == 1 and "signature: VALID" in r.stdout
    assert f"event {event['event_id']}" in r.stdout and "does not recompute" in r.stdout


def test_links_are_checked_in_the_file(files, tmp_path):
    """An event whose own hash is right but whose link is not: seq 3 is
    rebuilt on a made-up predecessor hash, consistently."""
    body = (files["dir"] / "export.json").read_bytes()
    doc = canonical.loads_exact(body)
    ev = doc["events"][2]
    bogus = "b" * 64
    fixed = dict(ev, previous_event_hash=bogus)
    new_hash = canonical.event_hash(bogus, fixed)

    def edit(b: bytes) -> bytes:
        b = b.replace(f'"previous_event_hash": "{ev["previous_event_hash"]}"'.encode(),
                      f'"previous_event_hash": "{bogus}"'.encode(), 1)
        return b.replace(ev["event_hash"].encode(), new_hash.encode())

    forged = _write(tmp_path, "link.json", _resign(body, files["signer"], edit))
    r = verify(forged, "--cert", files["dir"] / "cert.pem")
    assert r.returncode == 1
    problems = r.stdout.split("PROBLEMS", 1)[1]
    assert f"event {ev['event_id']}" in problems
    assert "previous_event_hash does not match the event_hash of seq 2" in problems


def test_an_attackers_own_signature_needs_the_pin_to_be_caught(files, tmp_path):
    key, cert = signing.generate("attacker")
    attacker = signing.Signer(key, cert, "attacker")
    real = files["signer"]

    def edit(b: bytes) -> bytes:
        b = b.replace(real.fingerprint.encode(), attacker.fingerprint.encode())
        return b.replace(canonical.quote(real.cert_pem).encode(),
                         canonical.quote(attacker.cert_pem).encode())

    forged = _write(tmp_path, "attacker.json",
                    _resign((files["dir"] / "export.json").read_bytes(), attacker, edit))
    unpinned = verify(forged)
    # Intact, origin unknown: never "authentic", never exit 0.
    assert unpinned.returncode == 3 and "not pinned" in unpinned.stdout
    assert "authentic" not in unpinned.stdout
    assert unpinned.stdout.rstrip().splitlines()[-1].startswith(
        "RESULT: INTEGRITY ONLY, ORIGIN UNVERIFIED")
    pinned = verify(forged, "--cert", files["dir"] / "cert.pem")
    assert pinned.returncode == 1 and "signature: INVALID" in pinned.stdout
    real_fp = verify(forged, "--fingerprint", real.fingerprint)
    assert real_fp.returncode == 1 and "is not the pinned --fingerprint" in real_fp.stdout
    # A trust store holding only the service's certificate refuses it too,
    # from the option and from the environment.
    store = tmp_path / "trusted"
    store.mkdir()
    (store / "service.pem").write_bytes((files["dir"] / "cert.pem").read_bytes())
    stored = verify(forged, "--trust-store", store)
    assert stored.returncode == 1 and "is not in the trust store" in stored.stdout
    env = subprocess.run([sys.executable, "-m", "app.cli", "verify", str(forged)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "DS_VERIFY_TRUST_STORE": str(store)})
    assert env.returncode == 1 and "is not in the trust store" in env.stdout


def test_a_trust_store_pins_the_real_certificate(files, tmp_path):
    bundle = tmp_path / "bundle.pem"
    _, other = signing.generate("someone-else")
    from cryptography.hazmat.primitives import serialization
    bundle.write_bytes(other.public_bytes(serialization.Encoding.PEM)
                       + (files["dir"] / "cert.pem").read_bytes())
    r = verify(files["dir"] / "export.json", "--trust-store", bundle)
    assert r.returncode == 0, r.stdout
    assert "found in trust store" in r.stdout and "RESULT: OK - the export is authentic" in r.stdout


def test_csv_export_verifies_with_its_headers(files, tmp_path):
    d = files["dir"]
    r = verify(d / "export.csv", "--headers", d / "export.headers", "--cert", d / "cert.pem")
    assert r.returncode == 0, r.stdout
    assert "CSV export of 5 event(s)" in r.stdout and "event hashes: 5 recomputed" in r.stdout
    assert verify(d / "export.csv").returncode == 2
    changed = _write(tmp_path, "changed.csv", (d / "export.csv").read_bytes().replace(b'""n"": 1', b'""n"": 9'))
    r = verify(changed, "--headers", d / "export.headers", "--cert", d / "cert.pem")
    assert r.returncode == 1 and "signature: INVALID" in r.stdout and "does not recompute" in r.stdout


def test_redacted_export(files):
    d = files["dir"]
    r = verify(d / "redacted.json", "--cert", d / "cert.pem")
    assert r.returncode == 0 and "PII-redacted" in r.stdout
    assert verify(d / "redacted.json", "--cert", d / "cert.pem", "--strict").returncode == 1


def test_json_report_progress_bar_and_usage_errors(files, tmp_path):
    d = files["dir"]
    r = verify(d / "export.json", "--cert", d / "cert.pem", "--json", "--progress")
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["ok"] is True and report["events"] == 5
    assert report["hashes_checked"] == 5 and report["problems"] == []
    assert "100%" in r.stderr and "5/5 events" in r.stderr
    assert "%" not in verify(d / "export.json", "--cert", d / "cert.pem", "--no-progress").stderr
    assert verify(tmp_path / "missing.json").returncode == 2
    assert verify(d / "export.json", "--cert", tmp_path / "missing.pem").returncode == 2
    garbage = _write(tmp_path, "garbage.json", b"{not an export")
    assert verify(garbage).returncode == 1
