"""Every PromQL expression of the Grafana dashboard and of the alerts names
metrics that a running service really exports: the service is exercised
(writes, queries, holds, verification, a spooled record the database refuses)
and scraped, and the names are looked up in what came back."""
from __future__ import annotations

import asyncio
import json
import re
import uuid

import pytest
import yaml

from app import events
from app.spool import Spool
from tests.api.test_audit_events import gateway_event
from harness import ROOT, Service, poll, scratch_dir

DASHBOARD = ROOT / "deploy/kubernetes/base/dashboard.json"
RULES = ROOT / "deploy/kubernetes/base/prometheusrule.yaml"
# The service's own series; kube-state-metrics' (kube_*) are not the service's to export.
METRIC = re.compile(r"\b((?:datastorage|go)_[a-z0-9_]+)\b")
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in doc["panels"] for t in p["targets"]]


def alert_exprs() -> list[str]:
    doc = yaml.safe_load(RULES.read_text())
    return [r["expr"] for g in doc["spec"]["groups"] for r in g["rules"]]


def exported_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def known(name: str, exported: set[str]) -> bool:
    return name in exported or any(name.endswith(s) and name[:-len(s)] in exported
                                   for s in SUFFIXES)


@pytest.fixture(scope="module")
def scrape(module_db):
    data_dir = scratch_dir("ds-dash-")
    # A spooled record the database will refuse for good (its parent event
    # does not exist): the drainer quarantines it at start, for real.
    orphan = events.prepare(gateway_event(f"dash-{uuid.uuid4()}",
                                          parent_event_id=str(uuid.uuid4())),
                            max_event_data_bytes=1 << 20)

    async def poison():
        spool = Spool(data_dir / "spool", 1 << 22)
        await spool.append("audit_events", events.payload([orphan.row]))
        await spool.close()
    asyncio.run(poison())
    svc = Service(module_db, data_dir=data_dir).start()
    try:
        cid = f"dash-{uuid.uuid4()}"
        user = {"X-Auth-Request-User": "auditor@example.com"}
        with svc.client() as c:
            assert c.get("/health/ready").status_code == 200
            assert c.post("/api/v1/audit/events", json=gateway_event(cid)).status_code == 201
            assert c.get("/api/v1/audit/events", params={"correlation_id": cid}).status_code == 200
            assert c.post("/api/v1/audit/verify-chain",
                          json={"correlation_id": cid}).status_code == 200
            assert c.post("/api/v1/audit/legal-hold", headers=user,
                          json={"correlation_id": cid, "reason": "dashboard"}).status_code == 200
            assert c.post("/api/v1/audit/legal-hold", headers=user,
                          json={"correlation_id": "", "reason": "x"}).status_code == 400

            def metrics_text():
                text = c.get("/metrics").text
                # The quarantined record, and a checkpoint signed over the event.
                wanted = ("datastorage_spool_quarantined_total",
                          "datastorage_tlog_checkpoint_timestamp_seconds")
                return text if all(w in text for w in wanted) else None
            yield poll(metrics_text, what="the quarantined record and a checkpoint in /metrics", timeout=60)
    finally:
        svc.stop()


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_expression_names_an_exported_metric(scrape, source):
    exprs = dashboard_exprs() if source == "dashboard" else alert_exprs()
    exported = exported_names(scrape)
    names = {n for e in exprs for n in METRIC.findall(e)}
    assert names, "no metric names found: the pattern is wrong"
    missing = sorted(n for n in names if not known(n, exported))
    assert not missing, f"{source} names metrics the service does not export: {missing}"


def test_the_check_catches_a_misspelt_metric(scrape):
    assert not known("datastorage_audit_trace_total", exported_names(scrape))
    assert known("datastorage_audit_traces_total", exported_names(scrape))


def test_dashboard_is_well_formed():
    doc = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)) and doc["uid"] == "datastorage"
    for p in doc["panels"]:
        assert p["targets"] and all(t["expr"].strip() for t in p["targets"]), p["title"]
