"""Issue 12 §4 against the real service and database: PII redaction of the
envelope (JSON and CSV), CSV formula escaping under a valid signature, a
percent-encoded hold release, the authenticated identity over body-supplied
actors (both recorded), and IPv4-mapped peers. The forged-export verifier
cases are in tests/db/test_verifier_cli.py."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

import psycopg
import pytest

from app import canonical
from app.export_format import parse_csv
from app.migrate import libpq_url
from tests.api.test_export import EXPORT, USER, raw_event, seed
from tests.api.test_workflows import body
from harness import ROOT, Service, unique

ALICE = {"X-Auth-Request-User": "alice@example.com"}


@pytest.fixture(scope="module")
def service(module_db):
    """Dual stack, trusting the IPv4 loopback only: every identity in this
    module arrives from ::ffff:127.0.0.1."""
    svc = Service(module_db, env={"DS_HOST": "::", "DS_TRUSTED_PROXIES": "127.0.0.1/32"}).start()
    try:
        yield svc
    finally:
        svc.stop()


def _envelope_pii(cid: str) -> str:
    return raw_event(cid, 0, actor_id="jane.doe@mail.example.com",
                     resource_id="bob@corp.example.org",
                     error_message="upstream 192.168.1.10 refused; call +1-555-123-4567",
                     namespace="team-ops@example.com", cluster_name="edge 10.0.0.7",
                     data=json.dumps({"n": 1, "contact": "ops@example.com"}))


def test_redaction_covers_the_envelope_in_json(client, module_conn):
    cid = unique("envpii")
    seed(module_conn, [_envelope_pii(cid)])
    r = client.get(EXPORT, params={"correlation_id": cid, "redact_pii": "true"}, headers=USER)
    assert r.status_code == 200, r.text
    (ev,) = canonical.loads_exact(r.content)["events"]
    assert ev["actor_id"] == "j***@m***.e***.com"
    assert ev["resource_id"] == "b***@c***.e***.org"
    assert ev["error_message"] == "upstream 192.***.*.*** refused; call +1-***-****"
    assert ev["namespace"] == "t***@e***.com" and ev["cluster_name"] == "edge 10.***.*.***"
    assert ev["event_data"]["contact"] == "o***@e***.com" and ev["pii_redacted"] is True
    # Kept: the chain key and the identifiers the verifier needs.
    assert ev["correlation_id"] == cid and ev["hash_chain_valid"] is True
    for secret in (b"jane.doe", b"bob@corp", b"192.168.1.10", b"555-123", b"team-ops", b"10.0.0.7"):
        assert secret not in r.content


def test_redaction_covers_the_envelope_in_csv(client, module_conn):
    cid = unique("envpiicsv")
    seed(module_conn, [_envelope_pii(cid)])
    r = client.get(EXPORT, params={"correlation_id": cid, "redact_pii": "true", "format": "csv"},
                   headers=USER)
    assert r.status_code == 200, r.text
    header, row = parse_csv(r.content.decode())
    cells = dict(zip(header, row))
    assert cells["actor_id"] == "j***@m***.e***.com"
    assert cells["resource_id"] == "b***@c***.e***.org"
    assert cells["error_message"] == "upstream 192.***.*.*** refused; call +1-***-****"
    assert cells["correlation_id"] == cid and cells["pii_redacted"] == "true"
    assert json.loads(cells["event_data"])["contact"] == "o***@e***.com"
    for secret in (b"jane.doe", b"bob@corp", b"192.168.1.10", b"555-123", b"team-ops"):
        assert secret not in r.content


FORMULAS = {"actor_id": "=HYPERLINK(\"http://evil.example\",\"x\")", "resource_id": "+1+2",
            "error_message": "-2+3", "namespace": "@SUM(A1:A9)", "cluster_name": "\tcmd",
            "error_code": "\rX", "span_id": "'already"}


def test_csv_formula_cells_are_escaped_and_still_verify(service, module_conn, tmp_path):
    cid = unique("formula")
    seed(module_conn, [raw_event(cid, 0, **FORMULAS)])
    with service.client() as c:
        r = c.get(EXPORT, params={"correlation_id": cid, "format": "csv"}, headers=USER)
        raw = c.get(EXPORT, params={"correlation_id": cid, "format": "csv",
                                    "escape_formulas": "false"}, headers=USER)
        cert = c.get(EXPORT + "/certificate").text
    header, row = parse_csv(r.content.decode())
    cells = dict(zip(header, row))
    for name, value in FORMULAS.items():
        assert cells[name] == "'" + value, name
    assert not any(cell and cell[0] in "=+-@\t\r" for cell in row)
    assert json.loads(r.headers["x-export-metadata"])["csv_formula_escape"] is True
    raw_cells = dict(zip(*parse_csv(raw.content.decode())))
    assert all(raw_cells[name] == value for name, value in FORMULAS.items())
    # Signed as sent; the verifier undoes the escape and recomputes the hash.
    for name, resp in (("escaped", r), ("raw", raw)):
        (tmp_path / f"{name}.csv").write_bytes(resp.content)
        (tmp_path / f"{name}.headers").write_text(
            "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in resp.headers.items()))
    (tmp_path / "cert.pem").write_text(cert)
    for name in ("escaped", "raw"):
        v = subprocess.run([sys.executable, "-m", "app.cli", "verify", str(tmp_path / f"{name}.csv"),
                            "--headers", str(tmp_path / f"{name}.headers"),
                            "--cert", str(tmp_path / "cert.pem")],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert v.returncode == 0, v.stdout
        assert "event hashes: 1 recomputed" in v.stdout


def test_hold_release_decodes_the_path(client, module_conn):
    cid = f"rr a b {uuid.uuid4().hex[:8]}"
    seed(module_conn, [raw_event(cid, 0)])
    placed = client.post("/api/v1/audit/legal-hold", json={"correlation_id": cid, "reason": "case"},
                         headers=ALICE)
    assert placed.status_code == 200, placed.text
    path = "/api/v1/audit/legal-hold/" + cid.replace(" ", "%20")
    released = client.request("DELETE", path, json={"release_reason": "closed"}, headers=ALICE)
    assert released.status_code == 200, released.text
    assert released.json()["correlation_id"] == cid and released.json()["events_released"] == 1


def _workflow_events(conn, wid: str) -> list[dict]:
    return [r[0] for r in conn.execute(
        "SELECT event_data FROM audit_events WHERE correlation_id = %s ORDER BY chain_seq", (wid,))]


def test_the_authenticated_user_wins_over_body_actors_and_both_are_recorded(client, module_conn):
    created = client.post("/api/v1/workflows", json=body(unique("wf"), created_by="mallory"),
                          headers=ALICE)
    assert created.status_code == 201, created.text
    wid = created.json()["workflow_id"]
    assert created.json()["created_by"] == "alice@example.com"
    r = client.patch(f"/api/v1/workflows/{wid}",
                     json={"status": "disabled", "disabled_by": "mallory", "disabled_reason": "x"},
                     headers=ALICE)
    assert r.status_code == 200, r.text
    assert (r.json()["disabled_by"], r.json()["updated_by"]) == ("alice@example.com",
                                                                 "alice@example.com")
    r = client.patch(f"/api/v1/workflows/{wid}/disable", json={"updated_by": "mallory"},
                     headers=ALICE)
    assert r.status_code == 200 and r.json()["disabled_by"] == "alice@example.com"
    created_ev, patched_ev, disabled_ev = _workflow_events(module_conn, wid)
    assert created_ev["claimed_created_by"] == "mallory"
    assert patched_ev["claimed_disabled_by"] == "mallory"
    assert patched_ev["updated_fields"]["disabled_by"] == "alice@example.com"
    assert disabled_ev["claimed_disabled_by"] == "mallory"
    # Without an authenticated user the body's name is all there is; nothing claimed.
    anon = client.post("/api/v1/workflows", json=body(unique("wf"), created_by="carol"))
    assert anon.json()["created_by"] == "carol"
    assert "claimed_created_by" not in _workflow_events(module_conn, anon.json()["workflow_id"])[0]
    same = client.post("/api/v1/workflows", json=body(unique("wf"), created_by="alice@example.com"),
                       headers=ALICE)
    assert "claimed_created_by" not in _workflow_events(module_conn, same.json()["workflow_id"])[0]


def test_hold_history_records_the_login_beside_the_claimed_actor(client, module_conn, module_db):
    """A login allowed to call the hold functions can claim any placed_by;
    the history also records which login it really was."""
    cid = unique("login")
    seed(module_conn, [raw_event(cid, 0)])
    assert client.post("/api/v1/audit/legal-hold", json={"correlation_id": cid, "reason": "r1"},
                       headers=ALICE).status_code == 200
    service_login = module_conn.execute(
        "SELECT usename FROM pg_stat_activity WHERE application_name = 'datastorage' LIMIT 1"
    ).fetchone()[0]
    login = f"impostor_{uuid.uuid4().hex[:8]}"
    module_conn.execute(f"CREATE ROLE {login} LOGIN PASSWORD 'pw' IN ROLE datastorage_app")
    url = libpq_url(module_db)
    info = psycopg.conninfo.conninfo_to_dict(url)
    info.update(user=login, password="pw")
    with psycopg.connect(psycopg.conninfo.make_conninfo(**info), autocommit=True) as c:
        c.execute("SET ROLE datastorage_app")
        c.execute("SELECT datastorage.place_legal_hold(%s, 'r2', 'alice@example.com')", (cid,))
    history = module_conn.execute(
        "SELECT actor, db_login FROM datastorage.legal_hold_history(%s)", (cid,)).fetchall()
    assert history == [("alice@example.com", service_login), ("alice@example.com", login)]


def test_an_ipv4_mapped_peer_matches_ipv4_networks(service):
    """This module's service listens on `::` (dual stack), so an IPv4 client
    is seen as ::ffff:127.0.0.1; it must match 127.0.0.1/32. (That other
    peers are not believed: test_export.py::test_identity_from_an_untrusted_peer_is_ignored.)"""
    assert service.env["DS_TRUSTED_PROXIES"] == "127.0.0.1/32"
    with service.client() as c:
        r = c.get(EXPORT, params={"correlation_id": unique("none")}, headers=ALICE)
        anonymous = c.get(EXPORT, params={"correlation_id": unique("none")})
    assert r.status_code == 200, r.text
    assert anonymous.status_code == 401
