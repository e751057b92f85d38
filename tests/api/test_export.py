"""GET /api/v1/audit/export against the real service and database: the
contract shape, parameters and their errors, identity, the signature over
every exported byte (checked with `cryptography` and with the openssl
procedure from docs/export.md), exact numbers, whole-chain verdicts at page
boundaries, CSV, PII redaction, and where the signing key comes from."""
from __future__ import annotations

import base64
import json
import re
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from app import canonical, signing
from app.export_format import SIGNATURE_MARKER, csv_signed_message, parse_csv, split_signed_json
from app.models.contract import AuditExportResponse
from tests.api.test_foundation import assert_problem
from harness import ROOT, Service, unique

USER = {"X-Auth-Request-User": "system:serviceaccount:audit:exporter"}
EXPORT = "/api/v1/audit/export"
DOCS = ROOT / "docs" / "export.md"
T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=timezone.utc)


def raw_event(cid: str, i: int, *, ts: datetime | None = None, category: str = "gateway",
              data: str | None = None, **extra) -> str:
    """One append_audit_events element as JSON text (event_data verbatim)."""
    members = {"event_id": str(uuid.uuid4()),
               "event_timestamp": (ts or T0 + timedelta(seconds=i)).isoformat(),
               "event_type": f"{category}.event", "event_category": category,
               "event_action": "act", "event_outcome": "success", "actor_type": "service",
               "actor_id": f"{category}-service", "resource_type": category, "resource_id": cid,
               "correlation_id": cid, "severity": "info", **extra}
    body = data if data is not None else json.dumps({"n": i, "ratio": "0.5"})
    return json.dumps(members)[:-1] + ', "event_data": ' + body + "}"


def seed(conn, items: list[str]) -> None:
    conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", ("[" + ",".join(items) + "]",))


def chain(conn, n: int, **kw) -> str:
    cid = unique("exp")
    seed(conn, [raw_event(cid, i, **kw) for i in range(n)])
    return cid


def export(client, **params):
    return client.get(EXPORT, params=params, headers=USER)


def cert_of(client) -> signing.x509.Certificate:
    return signing.load_certificate(client.get(EXPORT + "/certificate").content)


# --- identity and parameters -----------------------------------------------

def test_identity_is_required(client):
    body = assert_problem(client.get(EXPORT), 401)
    assert body["type"] == "about:blank" and body["title"] == "Unauthorized"
    assert body["detail"] == "X-Auth-Request-User header required for audit export"
    assert body["instance"] == EXPORT


def test_identity_from_an_untrusted_peer_is_ignored(service):
    """The header counts only from a trusted proxy (loopback by default)."""
    svc = Service(service.database_url, env={"DS_TRUSTED_PROXIES": "10.255.255.0/24"}).start()
    try:
        with svc.client() as c:
            assert_problem(c.get(EXPORT, headers=USER), 401)
    finally:
        svc.stop()


def test_parameters_are_validated_before_identity(client):
    body = assert_problem(client.get(EXPORT, params={"limit": 10001}), 400, "/validation-error")
    assert body["detail"] == 'parameter "limit" in query has an error: number must be at most 10000'
    assert body["field_errors"] == {"limit": "number must be at most 10000"}


@pytest.mark.parametrize("params, field, fragment", [
    ({"limit": 0}, "limit", "number must be at least 1"),
    ({"limit": "ten"}, "limit", "value ten: an invalid integer"),
    ({"offset": -1}, "offset", "number must be at least 0"),
    ({"offset": "0x10"}, "offset", "an invalid integer"),
    ({"format": "xml"}, "format", "value is not one of the allowed values [json csv]"),
    ({"redact_pii": "maybe"}, "redact_pii", "an invalid boolean"),
    ({"include_detached_signature": "yes"}, "include_detached_signature", "an invalid boolean"),
    ({"start_time": "yesterday"}, "start_time", 'doesn\'t match the format "date-time"'),
    ({"correlation_id": ""}, "correlation_id", "empty value is not allowed"),
    ({"event_category": ""}, "event_category", "empty value is not allowed"),
])
def test_bad_parameters_are_400_problems(client, params, field, fragment):
    body = assert_problem(export(client, **params), 400, "/validation-error")
    assert fragment in body["field_errors"][field]
    assert f'parameter "{field}" in query has an error' in body["detail"]


def test_all_parameter_errors_are_reported_together(client):
    body = assert_problem(export(client, limit=0, offset=-5, format="pdf"), 400)
    assert set(body["field_errors"]) == {"limit", "offset", "format"}


@pytest.mark.parametrize("params, detail", [
    ({"start_time": "2026-01-01T00:00:00"}, "Invalid query parameters: invalid start_time format"),
    ({"end_time": "2026-01-01T00:00:00.5"}, "Invalid query parameters: invalid end_time format"),
    ({"start_time": "2026-02-01T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
     "Invalid query parameters: start_time must not be after end_time"),
])
def test_bad_ranges_are_400_about_blank(client, params, detail):
    body = assert_problem(export(client, **params), 400)
    assert body["type"] == "about:blank" and body["title"] == "Validation Error"
    assert body["detail"].startswith(detail) and body["instance"] == EXPORT


# --- the JSON document -------------------------------------------------------

def test_json_export_matches_the_contract(client, module_conn):
    cid = chain(module_conn, 3)
    r = export(client, correlation_id=cid)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    AuditExportResponse.model_validate(doc)
    meta = doc["export_metadata"]
    assert meta["export_format"] == "json" and meta["total_events"] == 3
    assert meta["exported_by"] == USER["X-Auth-Request-User"]
    assert meta["signature_algorithm"] == "SHA256withRSA"
    assert re.fullmatch(r"([0-9a-f]{2}:){31}[0-9a-f]{2}", meta["certificate_fingerprint"])
    assert meta["query_filters"] == {"correlation_id": cid, "offset": 0, "limit": 1000}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", meta["export_timestamp"])
    assert base64.b64decode(meta["signature"], validate=True)
    assert "detached_signature" not in doc
    for ev in doc["events"]:
        assert set(canonical.CANONICAL_FIELDS) <= set(ev)
        assert {"event_hash", "previous_event_hash", "hash_chain_valid", "legal_hold"} <= set(ev)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", ev["event_timestamp"])
    assert [e["chain_seq"] for e in doc["events"]] == [1, 2, 3]
    assert doc["events"][0]["event_timestamp"] == "2026-01-15T10:00:00.000000Z"
    hcv = doc["hash_chain_verification"]
    assert (hcv["total_events_verified"], hcv["valid_chain_events"], hcv["broken_chain_events"],
            hcv["chain_integrity_percentage"], hcv["tampered_event_ids"]) == (3, 3, 0, 100.0, [])
    assert hcv["chains"] == [{"correlation_id": cid, "total_events": 3, "valid_events": 3,
                              "broken_events": 0, "first_broken_seq": None,
                              "first_broken_event_id": None, "head_matches": True,
                              "is_valid": True}]


def test_exported_events_recompute_to_their_hashes(client, module_conn):
    cid = chain(module_conn, 4)
    doc = canonical.loads_exact(export(client, correlation_id=cid).content)
    prev = ""
    for ev in doc["events"]:
        assert ev["previous_event_hash"] == prev
        assert canonical.event_hash(prev, ev) == ev["event_hash"]
        prev = ev["event_hash"]


def test_event_data_numbers_are_exported_exactly_as_stored(client, module_conn):
    cid = unique("num")
    data = ('{"price": 1.50, "thousand": 1e3, "huge": 123456789012345678901234567890.123456789, '
            '"neg_zero": -0, "tiny": 1E-7, "nested": {"list": [0.10, 2.000]}}')
    seed(module_conn, [raw_event(cid, 0, data=data)])
    body = export(client, correlation_id=cid).content
    for literal in (b'"price": 1.50', b'"thousand": 1000', b'"neg_zero": 0,', b'"tiny": 0.0000001',
                    b'"huge": 123456789012345678901234567890.123456789',
                    b'"nested": {"list": [0.10, 2.000]}'):
        assert literal in body
    ev = canonical.loads_exact(body)["events"][0]
    assert canonical.event_hash("", ev) == ev["event_hash"]


def test_filters_select_in_ascending_time(client, module_conn):
    cid = unique("flt")
    seed(module_conn, [raw_event(cid, i, ts=T0 + timedelta(minutes=10 - i),
                                 category="gateway" if i % 2 else "workflow") for i in range(10)])
    doc = export(client, correlation_id=cid, event_category="gateway").json()
    times = [e["event_timestamp"] for e in doc["events"]]
    assert len(times) == 5 and times == sorted(times)
    assert {e["event_category"] for e in doc["events"]} == {"gateway"}
    doc = export(client, correlation_id=cid, start_time="2026-01-15T10:03:00Z",
                 end_time="2026-01-15T12:06:00+02:00").json()
    assert [e["event_timestamp"][11:16] for e in doc["events"]] == ["10:03", "10:04", "10:05", "10:06"]
    assert doc["export_metadata"]["query_filters"]["end_time"] == "2026-01-15T10:06:00.000000Z"
    doc = export(client, correlation_id=cid, offset=8, limit=5).json()
    assert len(doc["events"]) == 2
    empty = export(client, correlation_id=unique("none")).json()
    assert empty["events"] == [] and empty["hash_chain_verification"]["chain_integrity_percentage"] == 100.0


def test_page_boundaries_are_never_reported_as_tampering(client, module_conn):
    cid = chain(module_conn, 12)
    seen = []
    for offset in (0, 5, 10):
        doc = export(client, correlation_id=cid, limit=5, offset=offset).json()
        assert all(e["hash_chain_valid"] for e in doc["events"])
        hcv = doc["hash_chain_verification"]
        assert hcv["broken_chain_events"] == 0 and hcv["chain_integrity_percentage"] == 100.0
        assert hcv["chains"][0]["total_events"] == 12 and hcv["chains"][0]["is_valid"]
        seen += [e["chain_seq"] for e in doc["events"]]
    assert seen == list(range(1, 13))


def test_legal_hold_is_shown_and_does_not_break_the_chain(client, module_conn):
    cid = chain(module_conn, 2)
    module_conn.execute("SELECT datastorage.place_legal_hold(%s, 'litigation', 'dba')", (cid,))
    doc = export(client, correlation_id=cid).json()
    assert [e["legal_hold"] for e in doc["events"]] == [True, True]
    assert all(e["hash_chain_valid"] for e in doc["events"])


# --- the signature -------------------------------------------------------------

def test_signature_covers_every_exported_byte(client, module_conn):
    cid = chain(module_conn, 3)
    body = export(client, correlation_id=cid).content
    cert = cert_of(client)
    signed, sig_b64, detached = split_signed_json(body)
    assert detached is None
    assert signing.verify(cert, base64.b64decode(sig_b64), data=signed)
    # The signed part is the whole document but the signature member.
    assert body == signed + SIGNATURE_MARKER + sig_b64.encode() + b'"}}\n'
    for needle in (b'"n": 1', b'"exported_by": "system', b'"valid_chain_events": 3',
                   b'"chain_seq": 2', b'-----END CERTIFICATE-----'):
        at = signed.index(needle) + len(needle) - 1
        changed = signed[:at] + bytes([signed[at] ^ 1]) + signed[at + 1:]
        assert not signing.verify(cert, base64.b64decode(sig_b64), data=changed), needle


def test_detached_signature(client, module_conn):
    cid = chain(module_conn, 1)
    doc = export(client, correlation_id=cid, include_detached_signature="true").json()
    meta = doc["export_metadata"]
    assert doc["detached_signature"] == (
        "-----BEGIN SIGNATURE-----\nAlgorithm: SHA256withRSA\n"
        f"Certificate-Fingerprint: {meta['certificate_fingerprint']}\n\n"
        f"{meta['signature']}\n-----END SIGNATURE-----")


def _doc_block(name: str) -> str:
    """A shell block of docs/export.md, marked ```sh <name>."""
    m = re.search(rf"```sh {name}\n(.*?)```", DOCS.read_text(), re.S)
    assert m, f"docs/export.md has no ```sh {name} block"
    return m.group(1)


def _openssl(script: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_openssl_procedure_from_the_docs_verifies_json(client, module_conn, tmp_path):
    cid = unique("ossl")
    seed(module_conn, [raw_event(cid, i, data='{"note": "signature \\" , \\"signature\\": \\"x", '
                                               '"signature": "in event data"}') for i in range(3)])
    (tmp_path / "export.json").write_bytes(export(client, correlation_id=cid).content)
    (tmp_path / "datastorage-export.pem").write_text(client.get(EXPORT + "/certificate").text)
    script = _doc_block("openssl-json")
    result = _openssl(script, tmp_path)
    assert result.returncode == 0 and "Verified OK" in result.stdout, result.stderr
    data = (tmp_path / "export.json").read_bytes()
    (tmp_path / "export.json").write_bytes(data.replace(b"in event data", b"in event dbta", 1))
    result = _openssl(script, tmp_path)
    assert result.returncode != 0 and "Verification failure" in result.stdout + result.stderr


def test_openssl_procedure_from_the_docs_verifies_csv(service, module_conn, tmp_path):
    cid = chain(module_conn, 3)
    url = f"{service.base_url}{EXPORT}?format=csv&correlation_id={cid}"
    subprocess.run(["curl", "-sS", "-D", "export.headers", "-o", "export.csv",
                    "-H", f"X-Auth-Request-User: {USER['X-Auth-Request-User']}", url],
                   cwd=tmp_path, check=True, timeout=60)
    subprocess.run(["curl", "-sS", "-o", "datastorage-export.pem",
                    f"{service.base_url}{EXPORT}/certificate"], cwd=tmp_path, check=True, timeout=60)
    result = _openssl(_doc_block("openssl-csv"), tmp_path)
    assert result.returncode == 0 and "Verified OK" in result.stdout, result.stderr


# --- CSV -----------------------------------------------------------------------

def test_csv_export(client, module_conn):
    cid = unique("csv")
    seed(module_conn, [raw_event(cid, i, data='{"q": "a \\"quoted\\", comma", "x": 1.50}',
                                 namespace="" if i == 0 else None) for i in range(3)])
    r = client.get(EXPORT, params={"correlation_id": cid, "format": "csv"}, headers=USER)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv"
    assert r.headers["content-disposition"].startswith('attachment; filename="audit-export-')
    rows = parse_csv(r.content.decode())
    header, data = rows[0], rows[1:]
    assert header[:4] == ["event_id", "chain_seq", "correlation_id", "event_timestamp"]
    assert header[-2:] == ["event_data", "pii_redacted"] and len(data) == 3
    ev = [dict(zip(header, row)) for row in data]
    assert ev[0]["namespace"] == "" and ev[1]["namespace"] is None    # "" and NULL differ
    assert ev[0]["event_data"] == '{"q": "a \\"quoted\\", comma", "x": 1.50}'
    assert {e["hash_chain_valid"] for e in ev} == {"true"}
    meta = json.loads(r.headers["x-export-metadata"])
    assert meta["total_events"] == 3 and meta["export_format"] == "csv"
    assert meta["hash_chain_verification"]["valid_chain_events"] == 3
    assert r.headers["x-hash-chain-broken-events"] == "0"
    assert r.headers["x-export-certificate-fingerprint"] == meta["certificate_fingerprint"]
    cert = signing.load_certificate(base64.b64decode(r.headers["x-export-certificate"]))
    assert signing.fingerprint(cert) == meta["certificate_fingerprint"]
    sig = base64.b64decode(r.headers["x-export-signature"])
    message = csv_signed_message(r.content, r.headers["x-export-metadata"])
    assert signing.verify(cert, sig, data=message)
    assert not signing.verify(cert, sig, data=message.replace(b"1.50", b"1.51"))
    assert not signing.verify(cert, sig, data=message.replace(b'"total_events": 3', b'"total_events": 4'))


# --- PII redaction ---------------------------------------------------------------

PII = ('{"user_email": "jane.doe@example.com", "source_ip": "192.168.1.10", '
       '"note": "call +1-555-123-4567 or (555) 123-4567, card 4111 1111 1111 1111, ssn 123-45-6789", '
       '"hosts": [{"addr": "10.0.0.1"}, "2001:db8::1", "ops@corp.example.org"], '
       '"phone": 5551234, "amount": 12.50, "id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"}')


def test_redact_pii_masks_event_data_and_exporter(service, module_conn):
    cid = unique("pii")
    seed(module_conn, [raw_event(cid, 0, data=PII), raw_event(cid, 1)])
    with service.client() as c:
        r = c.get(EXPORT, params={"correlation_id": cid, "redact_pii": "1"},
                  headers={"X-Auth-Request-User": "jane.doe@example.com"})
        plain = c.get(EXPORT, params={"correlation_id": cid}, headers=USER)
    doc = canonical.loads_exact(r.content)
    assert doc["export_metadata"]["exported_by"] == "j***@e***.com"
    assert doc["export_metadata"]["pii_redacted"] is True
    data = doc["events"][0]["event_data"]
    assert data["user_email"] == "j***@e***.com"
    assert data["source_ip"] == "192.***.*.***"
    assert data["note"] == ("call +1-***-**** or ***-***-****, card ****-****-****-1111, "
                            "ssn ***-**-****")
    assert data["hosts"] == [{"addr": "10.***.*.***"}, "2001:***", "o***@c***.e***.org"]
    assert data["phone"] == "***"
    assert str(data["amount"]) == "12.50" and data["id"] == "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
    assert doc["events"][0]["pii_redacted"] is True and "pii_redacted" not in doc["events"][1]
    # Verified before redaction: the verdicts stand, and the document is signed as sent.
    assert all(e["hash_chain_valid"] for e in doc["events"])
    signed, sig, _ = split_signed_json(r.content)
    with service.client() as c:
        assert signing.verify(cert_of(c), base64.b64decode(sig), data=signed)
    # The stored event is untouched.
    assert b"jane.doe@example.com" in plain.content and b"4111 1111 1111 1111" in plain.content
    assert b"jane.doe" not in r.content and b"4111 1111" not in r.content


def test_redact_pii_in_csv(client, module_conn):
    cid = unique("piicsv")
    seed(module_conn, [raw_event(cid, 0, data=PII)])
    r = client.get(EXPORT, params={"correlation_id": cid, "format": "csv", "redact_pii": "true"},
                   headers=USER)
    row = dict(zip(*parse_csv(r.content.decode())[:2]))
    assert row["pii_redacted"] == "true" and "j***@e***.com" in row["event_data"]
    assert "jane.doe" not in r.text


# --- signing key material ---------------------------------------------------------

def test_certificate_endpoint_names_the_signing_certificate(client, module_conn):
    cid = chain(module_conn, 1)
    fp = export(client, correlation_id=cid).json()["export_metadata"]["certificate_fingerprint"]
    assert signing.fingerprint(cert_of(client)) == fp


def test_self_signed_pair_is_generated_once_and_reused(service, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    fingerprints = []
    for _ in range(2):
        svc = Service(service.database_url, data_dir=data_dir).start()
        try:
            with svc.client() as c:
                fingerprints.append(signing.fingerprint(cert_of(c)))
        finally:
            svc.stop()
    assert fingerprints[0] == fingerprints[1]
    key = data_dir / "signing" / "export-signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    log = (data_dir / "service.log").read_text()
    assert log.count("generated a self-signed export signing certificate") == 1


def _key_pair(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = signing.generate(name)
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_configured_key_and_certificate_are_used(service, module_conn, tmp_path):
    key_path, cert_path = _key_pair(tmp_path, "operator")
    svc = Service(service.database_url, env={"DS_SIGNING_KEY": str(key_path),
                                             "DS_SIGNING_CERT": str(cert_path)}).start()
    try:
        with svc.client() as c:
            body = c.get(EXPORT, params={"correlation_id": chain(module_conn, 1)}, headers=USER).content
    finally:
        svc.stop()
    cert = signing.load_certificate(cert_path.read_bytes())
    signed, sig, _ = split_signed_json(body)
    assert signing.verify(cert, base64.b64decode(sig), data=signed)
    assert json.loads(body)["export_metadata"]["certificate_fingerprint"] == signing.fingerprint(cert)
    assert not (svc.data_dir / "signing").exists()


def test_a_key_that_does_not_match_its_certificate_stops_the_service(service, tmp_path):
    key_a, _ = _key_pair(tmp_path, "a")
    _, cert_b = _key_pair(tmp_path, "b")
    svc = Service(service.database_url, env={"DS_SIGNING_KEY": str(key_a),
                                             "DS_SIGNING_CERT": str(cert_b)})
    with pytest.raises(RuntimeError):
        svc.start(timeout=30)
    svc.stop()
    assert "does not belong to the private key" in svc.logs()


def test_streamed_body_has_a_length(client, module_conn):
    r = export(client, correlation_id=chain(module_conn, 2))
    assert int(r.headers["content-length"]) == len(r.content)


def test_workers_share_one_generated_key(service):
    """Two workers start at once on a fresh data directory: one key pair."""
    svc = Service(service.database_url, workers=2).start()
    try:
        with svc.client() as c:
            fps = {signing.fingerprint(cert_of(c)) for _ in range(12)}
    finally:
        svc.stop()
    assert len(fps) == 1
    assert (svc.logs().count("generated a self-signed export signing certificate") == 1)
