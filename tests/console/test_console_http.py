"""The console over plain HTTP against the real service: headers, CSRF and
identity on the two actions, friendly HTML errors for bad input (never a 500
or a JSON problem), the overview's numbers, paging fragments, reconstruction
and workflow scores."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from app.console import security
from tests.console.conftest import USER, append, chain, event
from tests.harness import unique

AUTH = {"X-Auth-Request-User": USER}


def csrf(client, headers=AUTH, cid: str = "x") -> str:
    """Load a trail page the way a browser does; the client keeps the cookie."""
    r = client.get("/console/trail", params={"correlation_id": cid}, headers=headers)
    m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', r.text)
    assert m, r.text[:500]
    return m.group(1)


def test_pages_are_html_with_security_headers(client, module_conn):
    cid = chain(module_conn, 3)
    for path in ("/console/", "/console/search", f"/console/trail?correlation_id={cid}",
                 "/console/workflows", "/console/no/such/page"):
        r = client.get(path, headers=AUTH)
        assert r.headers["content-type"] == "text/html; charset=utf-8", path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
        assert USER in r.text, path  # identity on every page
        assert "<script>" not in r.text and " style=" not in r.text, path
    assert client.get("/console/no/such/page").status_code == 404
    r = client.get("/console/static/console.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/"


def test_without_identity_pages_are_read_only(client, module_conn):
    cid = chain(module_conn, 2)
    r = client.get("/console/trail", params={"correlation_id": cid})
    assert r.status_code == 200 and "Not signed in" in r.text
    assert r.text.count("<fieldset disabled>") == 2  # hold and export


@pytest.mark.parametrize("path", [
    "/console/search?event_outcome=maybe", "/console/search?since=yesterday",
    "/console/search?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
    "/console/search?correlation_id=" + "x" * 300, "/console/search?event_type=a%00b",
    "/console/trail", "/console/trail?correlation_id=%00", "/console/trail?correlation_id=nobody",
    "/console/reconstruction?correlation_id=nobody", "/console/workflows?status=bogus",
    "/console/workflows?signal_type=s&severity=urgent&component=c&environment=e&priority=P1",
    "/console/workflows?signal_type=s&severity=high&component=c&environment=e&priority=P1"
    "&top_k=1000",
    "/console/workflows?signal_type=s&severity=high&component=c&environment=e&priority=P1"
    "&custom_labels=novalue",
    "/console/trail?correlation_id=x&offset=-5"])
def test_bad_input_is_a_friendly_page(client, path):
    r = client.get(path, headers=AUTH)
    assert r.headers["content-type"] == "text/html; charset=utf-8", (path, r.text[:200])
    # A nonsense offset means page 1 (here: of a trail nobody wrote).
    expected = 404 if "nobody" in path or "offset=-5" in path else 400
    assert r.status_code == expected, (path, r.status_code, r.text[:300])


def test_search_pages_and_filters(client, module_conn):
    cid = unique("srch")
    append(module_conn, [event(cid, i, event_outcome="failure" if i % 4 == 0 else "success")
                         for i in range(120)])
    r = client.get("/console/search", params={"correlation_id": cid, "event_outcome": "failure"})
    assert r.status_code == 200 and "30 events" in r.text
    r = client.get("/console/search", params={"correlation_id": cid, "offset": "50"})
    assert "51–100 of 120" in r.text
    assert r.text.count(f'href="/console/trail?correlation_id={cid}"') >= 50


def test_trail_pages_and_fragment(client, module_conn):
    cid = chain(module_conn, 120)
    r = client.get("/console/trail", params={"correlation_id": cid})
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', r.text)]
    assert seqs == list(range(1, 51)) and "events 1–50 of 120" in r.text
    f = client.get("/console/trail/events", params={"correlation_id": cid, "offset": "100"})
    assert [int(s) for s in re.findall(r'data-seq="(\d+)"', f.text)] == list(range(101, 121))
    assert "<html" not in f.text and f.headers["x-console-last"] == "120"
    assert "x-console-next-fragment" not in f.headers
    f = client.get("/console/trail/events", params={"correlation_id": cid, "offset": "50"})
    assert f.headers["x-console-next-fragment"] == \
        f"/console/trail/events?correlation_id={cid}&offset=100"


def test_overview_counts_today(client, module_conn):
    # Events written just now land in the last bucket (the hour in progress).
    now = datetime.now(timezone.utc)
    cid = unique("ovw")
    evs = [event(cid, i, event_category="overviewcat") for i in range(7)]
    for e in evs:
        e["event_timestamp"] = (now - timedelta(seconds=1)).isoformat()
    append(module_conn, evs)
    r = client.get("/console/")
    assert r.status_code == 200
    m = re.search(r'data-value="overviewcat">overviewcat</span></a></th>.*?<td class="num">(\d+)',
                  r.text, re.S)
    assert m and m.group(1) == "7"
    assert "log: not available" in r.text
    assert len(re.findall(r'<rect class="bar"', r.text)) == 24


def _post(client, path, data, headers=AUTH):
    return client.post(path, data=data, headers=headers, follow_redirects=False)


def test_actions_need_csrf_token_and_identity(client, module_conn):
    cid = chain(module_conn, 2)
    token = csrf(client, cid=cid)
    form = {"correlation_id": cid, "action": "place", "reason": "r", "confirm": "yes"}
    assert _post(client, "/console/trail/hold", form).status_code == 403  # no token
    assert _post(client, "/console/trail/hold", {**form, "csrf_token": "0" * 64}).status_code == 403
    # A token is bound to its user: another identity cannot reuse it.
    other = {"X-Auth-Request-User": "mallory@example.com"}
    r = _post(client, "/console/trail/hold", {**form, "csrf_token": token}, headers=other)
    assert r.status_code == 403 and "Form expired" in r.text
    # From another site (Origin header) even a valid token is refused.
    r = _post(client, "/console/trail/hold", {**form, "csrf_token": token},
              headers={**AUTH, "Origin": "https://evil.example"})
    assert r.status_code == 403
    # Without identity (the token minted for nobody): 401, nothing exported or held.
    anon = csrf(client, headers={}, cid=cid)
    r = _post(client, "/console/trail/export", {"correlation_id": cid, "csrf_token": anon},
              headers={})
    assert r.status_code == 401 and "Sign-in required" in r.text
    assert module_conn.execute("SELECT count(*) FROM audit_legal_holds WHERE correlation_id = %s",
                               (cid,)).fetchone()[0] == 0
    # A JSON body is not a console form.
    r = client.post("/console/trail/hold", json=form, headers=AUTH)
    assert r.status_code == 415
    # The right token and identity work; the hold needs a confirmation first.
    r = _post(client, "/console/trail/hold", {**form, "confirm": "", "csrf_token": token})
    assert r.status_code == 200 and "Confirm: place hold" in r.text
    r = _post(client, "/console/trail/hold", {**form, "reason": "", "csrf_token": token})
    assert r.status_code == 400 and "A reason is required." in r.text
    r = _post(client, "/console/trail/hold", {**form, "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].endswith("done=placed")
    r = _post(client, "/console/trail/hold", {**form, "action": "release", "csrf_token": token})
    assert r.status_code == 303
    r = _post(client, "/console/trail/hold", {**form, "action": "release", "csrf_token": token})
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]


def test_export_csv_through_the_console(client, module_conn):
    cid = chain(module_conn, 4)
    token = csrf(client, cid=cid)
    r = _post(client, "/console/trail/export",
              {"correlation_id": cid, "format": "csv", "redact_pii": "on", "csrf_token": token})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-export-total-events"] == "4" and "ops@example.com" not in r.text
    assert '"exported_by": "a***@e***.com"' in r.headers["x-export-metadata"]


def test_reconstruction_page_shows_yaml_or_why_not(client, module_conn):
    from bench.bench_reconstruction import trail
    cid = unique("rr")
    append(module_conn, trail(cid, 5, datetime(2026, 1, 15, tzinfo=timezone.utc)))
    r = client.get("/console/reconstruction", params={"correlation_id": cid})
    assert r.status_code == 200, r.text[:300]
    assert "kind: RemediationRequest" in r.text and 'data-testid="completeness">100 %' in r.text
    r = client.get("/console/reconstruction", params={"correlation_id": chain(module_conn, 1)})
    assert r.status_code in (400, 404) and "text/html" in r.headers["content-type"]


def test_workflow_search_shows_scores(client):
    body = {"workflow_name": unique("wf"), "version": "1.0.0", "name": "Restart pod",
            "description": "restart", "content": "apiVersion: v1", "content_hash": "b" * 64,
            "status": "active", "execution_engine": "tekton",
            "container_image": "registry.io/w@sha256:" + "cd" * 32,
            "labels": {"signal_type": "ConsoleOOM", "severity": "critical", "component": "pod",
                       "environment": ["production"], "priority": "P1"},
            "detected_labels": {"gitOpsManaged": True}}
    assert client.post("/api/v1/workflows", json=body).status_code == 201
    events_before = client.get("/api/v1/audit/events",
                               params={"event_category": "workflow", "limit": 1}).json()
    r = client.get("/console/workflows", params={
        "signal_type": "ConsoleOOM", "severity": "critical", "component": "pod",
        "environment": "production", "priority": "P1", "gitOpsManaged": "on"})
    assert r.status_code == 200
    cells = re.findall(r'<td class="num">(?:<b>|<span class="score">)?([0-9.]+)', r.text)
    # rank, detected boost, custom boost, label boost, penalty, final score
    assert cells[:6] == ["1", "0.1", "0", "0.1", "0", "0.51"], cells[:6]
    assert "Restart pod" in r.text and body["workflow_name"] in r.text
    # The console preview writes no audit event.
    events_after = client.get("/api/v1/audit/events",
                              params={"event_category": "workflow", "limit": 1}).json()
    assert events_after["pagination"]["total"] == events_before["pagination"]["total"]


def test_csrf_key_is_shared_through_the_data_dir(tmp_path):
    a, b = security.load_key(str(tmp_path)), security.load_key(str(tmp_path))
    assert a == b and len(a) == 32
    assert (tmp_path / security.KEY_FILE).stat().st_mode & 0o777 == 0o600
    token = security.token(a, "u", "n")
    security.check(b, "u", "n", token)
    with pytest.raises(security.CsrfError):
        security.check(b, "v", "n", token)
