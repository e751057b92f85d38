"""Service skeleton: health, readiness, RFC 7807 everywhere, metrics, OpenAPI,
graceful shutdown. Drives the real `datastorage serve` process over HTTP."""
from __future__ import annotations

import os
import signal
import time

import httpx

from harness import Service

PROBLEM = "application/problem+json"


def assert_problem(resp, status: int, type_suffix: str | None = None):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    body = resp.json()
    for member in ("type", "title", "status", "detail", "instance"):
        assert member in body, (member, body)
    assert body["status"] == status
    if type_suffix:
        assert body["type"].endswith(type_suffix), body["type"]
    return body


def test_liveness_and_readiness(client):
    live = client.get("/health/live")
    assert live.status_code == 200 and live.json() == {"status": "alive"}
    assert live.headers["content-type"] == "application/json"
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "healthy"


def test_unknown_route_is_a_404_problem(client):
    body = assert_problem(client.get("/no/such/thing"), 404, "/not-found")
    assert body["instance"] == "/no/such/thing"


def test_wrong_method_is_a_405_problem(client):
    assert_problem(client.delete("/health/live"), 405)


def test_malformed_json_is_a_400_problem(client):
    resp = client.post("/api/v1/audit/events", content=b'{"version": ',
                       headers={"content-type": "application/json"})
    assert_problem(resp, 400, "/validation-error")


def test_wrong_content_type_is_refused(client):
    resp = client.post("/api/v1/audit/events", content=b"{}", headers={"content-type": "text/plain"})
    body = assert_problem(resp, 415)
    assert "Content-Type" in body["detail"]


def test_oversized_body_is_a_413_problem(module_db):
    svc = Service(module_db, env={"DS_MAX_BODY_BYTES": "2048"}).start()
    try:
        with svc.client() as c:
            resp = c.post("/api/v1/audit/events/batch", content=b"[" + b" " * 4096 + b"]",
                          headers={"content-type": "application/json"})
            assert_problem(resp, 413)
    finally:
        svc.stop()


def test_metrics_exposition(client):
    client.get("/health/live")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert "# HELP" in text and "# TYPE" in text
    assert 'datastorage_http_requests_total{method="GET",route="health/live",status="200"}' in text
    assert "datastorage_http_request_duration_seconds_bucket" in text


def test_openapi_document_lists_routes(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/audit/events" in doc["paths"]
    assert set(doc["paths"]["/api/v1/audit/events"]) == {"get", "post"}
    assert "/health/ready" in doc["paths"]


def test_readiness_503_when_database_is_down(pg, module_db):
    svc = Service(module_db, env={"DS_READY_TIMEOUT": "0.5"}).start()
    try:
        with svc.client() as c:
            assert c.get("/health/ready").status_code == 200
            pg.stop_server("immediate")
            try:
                resp = c.get("/health/ready")
                assert resp.status_code == 503
                assert resp.json()["status"] == "not_ready"
                assert resp.json()["reason"] == "database_unreachable"
                assert c.get("/health").status_code == 503
                assert c.get("/health/live").status_code == 200
            finally:
                pg.start_server()
            deadline = time.monotonic() + 15
            while c.get("/health/ready").status_code != 200:
                assert time.monotonic() < deadline, "readiness did not recover"
                time.sleep(0.2)
    finally:
        svc.stop()


def test_sigterm_turns_readiness_503_before_stopping(module_db):
    svc = Service(module_db, env={"DS_SHUTDOWN_DELAY": "8"}).start()
    try:
        with svc.client() as c:
            assert c.get("/health/ready").status_code == 200
            os.kill(svc.proc.pid, signal.SIGTERM)  # as Kubernetes does: the main process only
            deadline = time.monotonic() + 5
            seen = None
            while time.monotonic() < deadline:
                resp = c.get("/health/ready")
                if resp.status_code == 503:
                    seen = resp.json()
                    break
                time.sleep(0.05)
            assert seen == {"status": "not_ready", "reason": "shutting_down"}
            assert c.get("/health/live").status_code == 200  # still serving meanwhile
    finally:
        svc.stop()


def test_metrics_aggregate_across_workers(module_db):
    svc = Service(module_db, workers=2).start()
    try:
        # New connections spread over both workers; the counter must sum them.
        for _ in range(40):
            with svc.client() as c:
                assert c.get("/health/live").status_code == 200
        with svc.client() as c:
            text = c.get("/metrics").text
        line = next(ln for ln in text.splitlines()
                    if ln.startswith('datastorage_http_requests_total{method="GET",route="health/live"'))
        assert float(line.rsplit(" ", 1)[1]) >= 40
    finally:
        svc.stop()
