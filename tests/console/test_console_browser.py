"""The console in a real browser (headless Debian Chromium via Playwright):
search -> trail -> badges -> signed export checked by `datastorage verify`;
a tampered event turns its badge and the chain badge red and is named; XSS
payloads in every stored string stay inert; a legal hold is placed and
released through the confirmation step; search and trail work from the
keyboard alone."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.console.conftest import USER, append, chain, event, event_id
from tests.harness import ROOT, unique

pytestmark = pytest.mark.browser

RED = "rgb(201, 42, 42)"  # --bad in console.css


def verify(path, cert) -> subprocess.CompletedProcess:
    """The offline verifier, pinned to the service's certificate (unpinned it
    would answer "integrity only", exit 3)."""
    return subprocess.run([sys.executable, "-m", "app.cli", "verify", str(path), "--cert", str(cert)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_search_trail_badges_export_verify(page, service, module_conn, tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_bytes(service.client().get("/api/v1/audit/export/certificate").content)
    cid = chain(module_conn, 60, "flow")
    page.goto("/console/search")
    page.get_by_label("Correlation id").fill(cid)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("result-total")).to_have_text("60 events")
    page.get_by_test_id("results").get_by_role("link", name=cid).first.click()

    expect(page.get_by_test_id("trail-id")).to_have_text(cid)
    expect(page.get_by_test_id("identity")).to_contain_text(USER)
    expect(page.get_by_test_id("chain-badge")).to_have_text("✓ Chain verified")
    events = page.locator("#events > li")
    expect(events).to_have_count(50)  # one page, not the whole chain
    expect(page.locator('#events [data-verdict="ok"].badge')).to_have_count(50)
    assert [int(s) for s in events.evaluate_all("els => els.map(e => e.dataset.seq)")] == \
        list(range(1, 51))
    # The next page is appended in place (console.js), still in chain order.
    page.locator("#load-more").click()
    expect(events).to_have_count(60)
    expect(page.locator("#load-more")).to_have_count(0)
    assert events.nth(59).get_attribute("data-seq") == "60"
    # event_data opens in a <details>.
    first = events.first
    first.locator("summary").click()
    expect(first.locator("pre.json")).to_contain_text('"note": "step 0"')

    with page.expect_download() as info:
        page.get_by_test_id("export").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.suffix == ".json"
    doc = json.loads(saved.read_bytes())
    assert doc["export_metadata"]["exported_by"] == USER
    assert len(doc["events"]) == 60 and {e["correlation_id"] for e in doc["events"]} == {cid}
    r = verify(saved, cert)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "signature: VALID" in r.stdout and "event hashes: 60 recomputed" in r.stdout

    # Redacted export: still signed and verifiable, the e-mail masked.
    page.get_by_test_id("redact").check()
    with page.expect_download() as info:
        page.get_by_test_id("export").click()
    redacted = tmp_path / ("redacted-" + info.value.suggested_filename)
    info.value.save_as(redacted)
    body = redacted.read_text()
    assert "ops@example.com" not in body and '"pii_redacted": true' in body
    r = verify(redacted, cert)
    assert r.returncode == 0, r.stdout + r.stderr
    assert page.dialogs == []


def test_tampered_event_shows_red_badge_naming_it(page, module_conn):
    cid = chain(module_conn, 60, "tamper")
    victim = event_id(module_conn, cid, 55)
    with module_conn.transaction():
        module_conn.execute("SET LOCAL session_replication_role = replica")
        module_conn.execute("UPDATE audit_events SET event_data = event_data || '{\"step\": 999}' "
                            "WHERE correlation_id = %s AND chain_seq = 55", (cid,))

    page.goto(f"/console/trail?correlation_id={cid}")
    badge = page.get_by_test_id("chain-badge")
    expect(badge).to_have_text("✗ Chain broken")
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    broken = page.get_by_test_id("broken-events")
    expect(broken).to_contain_text(victim)
    expect(broken).to_contain_text("#55")
    expect(broken).to_contain_text("event data has been tampered")
    # The first page's own events are fine; the named link leads to the event.
    expect(page.locator('#events .badge[data-verdict="ok"]')).to_have_count(50)
    broken.get_by_role("link", name=re.compile(victim)).click()
    item = page.locator(f"#ev-{victim}")
    expect(item).to_have_attribute("data-verdict", "content_mismatch")
    red = item.locator(".badge-bad")
    expect(red).to_have_text("✗ content altered")
    assert red.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    expect(item.locator(".event-problem")).to_contain_text("tampered")
    expect(page.locator("#events .badge-bad")).to_have_count(1)


PAYLOADS = ['<script>window.__xss=1;alert(1)</script>',
            '"><img src=x onerror="window.__xss=1;alert(1)">',
            "'><svg onload=window.__xss=1>",
            'javascript:alert(1)',
            '{{7*7}}</textarea></pre><b id="injected">x</b>']
SHORT = "<svg onload=alert()>"  # fits varchar(20)
# Column widths (sql/migrations/0002_audit_events.sql) of the strings filled.
WIDTHS = {"event_type": 100, "event_action": 50, "actor_id": 255, "actor_type": 50,
          "resource_type": 100, "resource_id": 255, "severity": 20, "namespace": 253,
          "cluster_name": 255, "error_code": 50, "error_message": 10_000}


def fit(width: int) -> str:
    """As many payloads as fit in `width` characters (at least SHORT)."""
    out = SHORT
    for payload in PAYLOADS:
        if len(out) + 1 + len(payload) <= width:
            out += " " + payload
    return out


def test_xss_payloads_stay_inert(page, module_conn, client):
    p = fit(10_000)
    cid = unique("xss") + PAYLOADS[1]
    fields = {name: fit(width) for name, width in WIDTHS.items()}
    ev = event(cid, 0, event_category=fit(50), event_outcome="failure", **fields)
    ev["event_data"] = {p: p, "nested": [p, {"k": p}]}
    append(module_conn, [ev, event(cid, 1)])
    module_conn.execute("SELECT datastorage.place_legal_hold(%s, %s, %s)", (cid, p, p))
    wf = {"workflow_name": "xss-wf", "version": "1.0.0", "name": fit(200), "description": p,
          "content": "apiVersion: v1", "content_hash": "a" * 64, "status": "active",
          "execution_engine": "tekton",
          "container_image": "registry.io/x@sha256:" + "ab" * 32,
          "labels": {"signal_type": fit(100), "severity": "critical", "component": "pod",
                     "environment": ["production"], "priority": "P1"}}
    assert client.post("/api/v1/workflows", json=wf).status_code == 201

    pages = ["/console/", f"/console/search?correlation_id={cid}",
             f"/console/search?event_type={p}", f"/console/trail?correlation_id={cid}",
             f"/console/reconstruction?correlation_id={cid}",
             f"/console/trail?correlation_id={PAYLOADS[0]}", "/console/workflows",
             f"/console/workflows?signal_type={fit(100)}&severity=critical&component=pod"
             "&environment=production&priority=P1", f"/console/{PAYLOADS[1]}"]
    for url in pages:
        response = page.goto(url.replace("#", "%23"))
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.locator("details").evaluate_all("els => els.forEach(e => e.open = true)")
        assert page.evaluate("() => window.__xss") is None, url
        assert page.locator("#injected").count() == 0, url
        assert page.locator("script").count() == 1, url  # console.js only
        handlers = page.evaluate("""() => [...document.querySelectorAll('*')].flatMap(
            e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => a.name))""")
        assert handlers == [], url
    # The payloads are there, as text.
    page.goto(f"/console/trail?correlation_id={cid}".replace("#", "%23"))
    expect(page.get_by_test_id("trail-id")).to_have_text(cid)
    expect(page.get_by_test_id("hold-reason")).to_have_text(p)
    expect(page.locator("#events .event-type").first).to_have_text(fields["event_type"])
    assert page.dialogs == []


def test_place_and_release_hold(page, module_conn):
    cid = chain(module_conn, 3, "hold")
    page.goto(f"/console/trail?correlation_id={cid}")
    expect(page.get_by_test_id("hold-state")).to_have_text("not held")
    page.get_by_label("Reason").fill("litigation 2026-114")
    page.get_by_role("button", name="Place legal hold…").click()
    # Confirmation step: nothing has happened yet.
    expect(page.get_by_test_id("confirm-id")).to_have_text(cid)
    assert module_conn.execute("SELECT legal_hold FROM audit_chain_heads WHERE correlation_id = %s",
                               (cid,)).fetchone()[0] is False
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("notice")).to_have_text("Legal hold placed.")
    expect(page.get_by_test_id("hold-state")).to_have_text("held")
    expect(page.get_by_test_id("hold-reason")).to_have_text("litigation 2026-114")
    held = module_conn.execute("SELECT count(*) FILTER (WHERE legal_hold), "
                               "max(legal_hold_placed_by) FROM audit_events "
                               "WHERE correlation_id = %s", (cid,)).fetchone()
    assert held == (3, USER)

    page.get_by_label("Release reason").fill("case closed")
    page.get_by_role("button", name="Release hold…").click()
    page.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("notice")).to_have_text("Legal hold released.")
    expect(page.get_by_test_id("hold-state")).to_have_text("not held")
    history = module_conn.execute("SELECT action, reason, actor FROM audit_legal_holds "
                                  "WHERE correlation_id = %s ORDER BY id", (cid,)).fetchall()
    assert history == [("place", "litigation 2026-114", USER), ("release", "case closed", USER)]


def _tab_to(page, predicate: str, limit: int = 80) -> None:
    """Press Tab until the focused element satisfies the JS predicate `el => ...`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"({predicate})(document.activeElement)"):
            return
    raise AssertionError(f"no focusable element matched {predicate}")


def test_keyboard_only_search_and_trail(page, module_conn):
    cid = chain(module_conn, 55, "keys")
    page.goto("/console/search")
    _tab_to(page, "el => el.id === 'f-correlation_id'")
    page.keyboard.type(cid)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("result-total")).to_have_text("55 events")
    _tab_to(page, f"el => el.tagName === 'A' && el.textContent === {json.dumps(cid)}")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("trail-id")).to_have_text(cid)
    _tab_to(page, "el => el.tagName === 'SUMMARY'")
    page.keyboard.press("Enter")
    expect(page.locator("#events details[open]")).to_have_count(1)
    expect(page.locator("#events details[open] pre.json")).to_contain_text('"step": 0')
    _tab_to(page, "el => el.id === 'load-more'", limit=400)
    page.keyboard.press("Enter")
    expect(page.locator("#events > li")).to_have_count(55)
    assert page.dialogs == []
