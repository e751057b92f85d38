"""Screenshots of every console page for docs/console/*.png (not a test).

Starts a private cluster and the service, writes a small, realistic data set
(a clean trail, a tampered one, a held one, a reconstructable one, two
workflows), and photographs each page with the system Chromium.

    .venv/bin/python -m tests.console.screenshots
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import psycopg
from playwright.sync_api import sync_playwright

from app.migrate import libpq_url
from bench.bench_reconstruction import trail as rr_trail
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.harness import ROOT, Service, TestCluster

OUT = ROOT / "docs" / "console"
STEPS = [("gateway", "gateway.signal.received", "received", 12),
         ("orchestrator", "orchestrator.lifecycle.created", "created", 35),
         ("signalprocessing", "signalprocessing.enrichment.completed", "enriched", 840),
         ("aianalysis", "aianalysis.analysis.completed", "analysed", 6400),
         ("workflow", "workflowexecution.selection.completed", "selected", 95),
         ("workflow", "workflowexecution.execution.started", "started", 1800),
         ("workflow", "workflowexecution.execution.completed", "completed", 48000),
         ("notification", "notification.message.sent", "sent", 310)]


def remediation(cid: str, start: datetime, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        category, etype, action, ms = STEPS[i % len(STEPS)]
        rows.append({"event_id": str(uuid.uuid4()),
                     "event_timestamp": (start + timedelta(seconds=i * 7 + i * i % 5)).isoformat(),
                     "event_type": etype, "event_category": category, "event_action": action,
                     "event_outcome": "failure" if i == 13 else ("pending" if i % 11 == 5 else "success"),
                     "actor_type": "service", "actor_id": f"{category}-controller",
                     "resource_type": "RemediationRequest", "resource_id": cid,
                     "correlation_id": cid, "namespace": "payments", "severity": "info",
                     "duration_ms": ms, "event_data": {
                         "alert_name": "HighCPUUsage", "pod": f"checkout-{i % 7}",
                         "namespace": "payments", "step": i, "requested_by": "oncall@example.com",
                         "labels": {"team": "payments", "tier": "backend"}}})
    return rows


def seed(url: str, base: str) -> dict[str, str]:
    now = datetime.now(timezone.utc)
    ids = {"clean": "rr-2026-payments-0412", "tampered": "rr-2026-checkout-0097",
           "held": "rr-2026-ledger-0031", "rr": "rr-2026-reconstruct-0007"}
    rows = []
    for h in range(24):
        rows += remediation(f"rr-2026-batch-{h:02d}", now - timedelta(hours=h, minutes=40),
                            4 + (h * 7) % 9)
    rows += remediation(ids["clean"], now - timedelta(hours=2), 64)
    rows += remediation(ids["tampered"], now - timedelta(hours=5), 24)
    rows += remediation(ids["held"], now - timedelta(hours=9), 16)
    rows += rr_trail(ids["rr"], 5, now - timedelta(hours=3))
    rows.sort(key=lambda r: r["event_timestamp"])
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps(rows),))
        conn.execute("SELECT datastorage.place_legal_hold(%s, %s, %s)",
                     (ids["held"], "Litigation hold, case 2026-114", "legal@example.com"))
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("UPDATE audit_events SET event_data = event_data || '{\"pod\": \"x\"}' "
                         "WHERE correlation_id = %s AND chain_seq = 14", (ids["tampered"],))
    for name, signal, boost in (("restart-pod", "HighCPUUsage", True),
                                ("scale-deployment", "HighCPUUsage", False)):
        wf = {"workflow_name": name, "version": "1.2.0", "name": name.replace("-", " ").title(),
              "description": f"{name} for CPU pressure", "content": "apiVersion: tekton.dev/v1",
              "content_hash": "c" * 64, "status": "active", "execution_engine": "tekton",
              "container_image": "registry.io/workflows/" + name + "@sha256:" + "ab" * 32,
              "labels": {"signal_type": signal, "severity": "critical", "component": "pod",
                         "environment": ["production"], "priority": "P1"},
              "detected_labels": {"gitOpsManaged": True, "gitOpsTool": "argocd"} if boost else {}}
        httpx.post(base + "/api/v1/workflows", json=wf).raise_for_status()
    return ids


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pg = TestCluster()
    jan = pg.janitor()
    jan.init()
    svc = None
    try:
        url = pg.url(jan.dbname)
        svc = Service(url).start()
        ids = seed(url, svc.base_url)
        shots = [("overview", "/console/", True, None),
                 ("search", "/console/search?since=24h&event_category=workflow", False, None),
                 ("trail", f"/console/trail?correlation_id={ids['clean']}", False, "details"),
                 ("trail-tampered", f"/console/trail?correlation_id={ids['tampered']}", False,
                  None),
                 ("trail-held", f"/console/trail?correlation_id={ids['held']}", False, None),
                 ("reconstruction", f"/console/reconstruction?correlation_id={ids['rr']}",
                  False, None),
                 ("workflows", "/console/workflows?signal_type=HighCPUUsage&severity=critical"
                  "&component=pod&environment=production&priority=P1&gitOpsManaged=on"
                  "&gitOpsTool=argocd", True, None)]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = browser.new_context(base_url=svc.base_url, viewport={"width": 1280, "height": 900},
                                      extra_http_headers={"X-Auth-Request-User": "auditor@example.com"})
            page = ctx.new_page()
            for name, path, full, action in shots:
                page.goto(path.replace(ids["clean"], quote(ids["clean"])))
                if action == "details":
                    page.locator("#events summary").nth(1).click()
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
                print("wrote", OUT / f"{name}.png")
            browser.close()
    finally:
        if svc is not None:
            svc.stop()
        jan.drop()
        pg.close()


if __name__ == "__main__":
    main()
