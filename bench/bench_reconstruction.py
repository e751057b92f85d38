"""Reconstruction latency: POST /api/v1/audit/remediation-requests/{id}/reconstruct
for trails of 10 and 1,000 events (issue 7; target: p99 < 20 ms for 10 events).

One client, one request at a time (latency, not throughput), rotating over
many correlation ids so no answer is served from a warm single row. Measured
in the same run, on the same cluster:

* HTTP end to end (service, 1 worker) for 10 and 1,000 events;
* the SQL function alone (asyncpg, role datastorage_app), same trails;
* ceilings: the service's cheapest route (GET /health/live) and a plain
  SELECT of the same trail rows (superuser) — what a request and a read cost
  at the very least. Ratios are reconstruction / ceiling.

    python -m bench.bench_reconstruction [--quick]
"""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import psycopg

from app.migrate import libpq_url
from bench.common import (BenchCluster, asyncpg_load, http_floor, http_load, http_request,
                          latency_markdown, latency_rows, log, quick_mode, start_service, stop_service, target,
                          write_results)

NAME = "bench_reconstruction"
TYPES = ("gateway.signal.received", "orchestrator.lifecycle.created",
         "aianalysis.analysis.completed", "workflowexecution.selection.completed",
         "workflowexecution.execution.started")
IMAGE = "registry.io/workflows/cpu-remediation@sha256:" + "ab12" * 16


def payload(event_type: str, i: int) -> dict:
    if event_type.startswith("gateway"):
        return {"event_type": event_type, "signal_type": "prometheus-alert",
                "alert_name": "HighCPUUsage", "namespace": "payments", "fingerprint": f"fp-{i}",
                "signal_labels": {"alertname": "HighCPUUsage", "pod": f"checkout-{i % 97}",
                                  "severity": "critical", "team": "payments"},
                "signal_annotations": {"summary": "CPU usage exceeded 80%",
                                       "description": f"Pod checkout-{i % 97} CPU at 92%"},
                "original_payload": {"alert": "HighCPUUsage", "status": "firing",
                                     "labels": {"alertname": "HighCPUUsage", "n": str(i)}}}
    if event_type.startswith("orchestrator"):
        return {"event_type": event_type, "rr_name": f"rr-{i}", "namespace": "payments",
                "timeout_config": {"global": "1h", "processing": "10m", "analyzing": "15m",
                                   "executing": "30m"}}
    if event_type.startswith("aianalysis"):
        return {"event_type": event_type, "analysis_name": f"an-{i}", "namespace": "payments",
                "phase": "Completed", "approval_required": False, "degraded_mode": False,
                "warnings_count": 0,
                "provider_response_summary": {"incident_id": f"inc-{i}",
                                              "analysis_preview": "High CPU usage detected",
                                              "needs_human_review": False, "warnings_count": 0}}
    return {"event_type": event_type, "workflow_id": "cpu-remediation-workflow",
            "workflow_version": "v1.2.0", "target_resource": "deployment/checkout",
            "phase": "Running", "container_image": IMAGE, "execution_name": f"we-{i}"}


def trail(cid: str, events: int, start: datetime) -> list[dict]:
    """`events` relevant events, the five types in turn, one second apart."""
    rows = []
    for i in range(events):
        etype = TYPES[i % len(TYPES)]
        rows.append({"event_id": str(uuid.uuid4()),
                     "event_timestamp": (start + timedelta(seconds=i)).isoformat(),
                     "event_type": etype, "event_category": etype.split(".")[0],
                     "event_action": etype.rsplit(".", 1)[1], "event_outcome": "success",
                     "actor_type": "service", "actor_id": "bench", "resource_type": "r",
                     "resource_id": cid, "correlation_id": cid, "namespace": "payments",
                     "event_data": payload(etype, i)})
    return rows


def seed(url: str, groups: dict[int, list[str]]) -> None:
    start = datetime.now(timezone.utc) - timedelta(days=1)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for size, cids in groups.items():
            batch: list[dict] = []
            for cid in cids:
                batch += trail(cid, size, start)
                if len(batch) >= 5000:
                    conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                                 (json.dumps(batch),))
                    batch = []
            if batch:
                conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                             (json.dumps(batch),))
        conn.execute("ANALYZE audit_events")
        # Every seeded trail must reconstruct to 100 % before it is timed.
        for cids in groups.values():
            got = conn.execute("SELECT datastorage.reconstruct_remediation_request(%s)",
                               (cids[0],)).fetchone()[0]
            assert got["validation"]["completeness"] == 100, got["validation"]


RAW_READ = """SELECT event_id, event_type, namespace, event_data FROM audit_events
               WHERE correlation_id = $1 AND event_type = ANY($2::text[])
               ORDER BY event_timestamp, event_id"""


def main() -> None:
    quick = quick_mode()
    duration = 3.0 if quick else 10.0
    groups = {10: [f"bench-rr10-{i:04d}" for i in range(50 if quick else 500)],
              1000: [f"bench-rr1000-{i:03d}" for i in range(5 if quick else 20)]}
    results: dict[str, dict] = {}
    load_start = os.getloadavg()[0]
    with BenchCluster() as pg:
        url = pg.database()
        log(f"seeding {sum(len(c) * n for n, c in groups.items()):,} events")
        seed(url, groups)
        svc = start_service(url, workers=1)
        try:
            for size, cids in groups.items():
                reqs = [http_request("POST", f"/api/v1/audit/remediation-requests/{c}/reconstruct")
                        for c in cids]
                log(f"HTTP reconstruct, {size} events")
                r = http_load(svc.base_url, reqs, clients=1, duration=duration)
                assert set(r.statuses) == {200}, r.statuses
                results[f"http_{size}"] = r.to_dict()
                log(f"SQL function, {size} events")
                r = asyncpg_load(url, "SELECT datastorage.reconstruct_remediation_request($1)",
                                 lambda i, c=cids: (c[i % len(c)],), clients=1, duration=duration)
                results[f"sql_{size}"] = r.to_dict()
                log(f"ceiling: raw read of the same rows, {size} events")
                r = asyncpg_load(url, RAW_READ, lambda i, c=cids: (c[i % len(c)], list(TYPES)),
                                 clients=1, duration=duration, role=None)
                results[f"read_{size}"] = r.to_dict()
            results["http_floor"] = http_floor(svc.base_url, duration)
        finally:
            stop_service(svc)
        settings = pg.settings
        version = pg.server_version()
    load_end = os.getloadavg()[0]

    rows = latency_rows(results, [("HTTP reconstruct, 10 events", "http_10", "http_floor"),
                                  ("HTTP reconstruct, 1,000 events", "http_1000", "http_floor"),
                                  ("SQL function, 10 events", "sql_10", "read_10"),
                                  ("SQL function, 1,000 events", "sql_1000", "read_1000")],
                        ("http_floor", "read_10", "read_1000"))
    checks = [target("HTTP p99 ms, 10 events", results["http_10"]["p99_ms"], "<", 20.0)]
    md = latency_markdown(
        f"Reconstruction latency, 1 client, sequential; PostgreSQL {version} ({settings}); "
        f"{duration:.0f} s per phase; {os.cpu_count()} CPUs, 1-minute load average "
        f"{load_start:.1f} at start, {load_end:.1f} at end.", rows, checks)
    path = write_results(NAME, {"quick": quick, "results": results, "targets": checks,
                                "loadavg": [round(load_start, 2), round(load_end, 2)],
                                "trails": {str(k): len(v) for k, v in groups.items()}}, md)
    print(md)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
