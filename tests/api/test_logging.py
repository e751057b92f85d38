"""Structured logs: one JSON object per line, and one request id shared by
the request's log lines, its X-Request-ID response header and its problem."""
from __future__ import annotations

import json

import pytest

from harness import Service, poll


@pytest.fixture(scope="module")
def json_service(module_db):
    svc = Service(module_db, env={"DS_LOG_FORMAT": "json", "DS_LOG_LEVEL": "DEBUG"}).start()
    try:
        yield svc
    finally:
        svc.stop()


def log_lines(svc: Service) -> list[dict]:
    svc.log.flush()
    text = (svc.data_dir / "service.log").read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_every_line_is_a_json_object(json_service):
    with json_service.client() as c:
        assert c.get("/health/live").status_code == 200
    poll(lambda: log_lines(json_service), what="a JSON log line", timeout=30)
    json_service.log.flush()
    text = (json_service.data_dir / "service.log").read_text(errors="replace")
    for line in filter(None, text.splitlines()):
        doc = json.loads(line)  # a plain-text line would raise here
        assert {"ts", "level", "logger", "message"} <= doc.keys(), doc


def test_callers_request_id_is_echoed_logged_and_in_the_problem(json_service):
    with json_service.client() as c:
        r = c.get("/api/v1/audit/no-such-thing", headers={"X-Request-ID": "trace-42.a"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "trace-42.a"
    assert r.json()["request_id"] == "trace-42.a"
    lines = poll(lambda: [d for d in log_lines(json_service)
                          if d.get("request_id") == "trace-42.a"],
                 what="the request's log line", timeout=30)
    assert any("/api/v1/audit/no-such-thing" in d["message"] for d in lines)


def test_a_request_id_is_generated_when_absent_or_unsafe(json_service):
    with json_service.client() as c:
        plain = c.get("/health/live")
        forged = c.get("/health/live", headers={"X-Request-ID": "x\" injected=1 " + "y" * 200})
        again = c.get("/health/live")
    ids = [r.headers["x-request-id"] for r in (plain, forged, again)]
    assert all(len(i) == 32 for i in ids) and len(set(ids)) == 3, ids


def test_text_format_stays_available(module_db):
    svc = Service(module_db, env={"DS_LOG_LEVEL": "DEBUG"}).start()  # DS_LOG_FORMAT unset
    try:
        with svc.client() as c:
            c.get("/health/live", headers={"X-Request-ID": "plain-1"})

        def tagged():
            svc.log.flush()
            text = (svc.data_dir / "service.log").read_text(errors="replace")
            return [line for line in text.splitlines() if "[request_id=plain-1]" in line]
        lines = poll(tagged, what="a text log line of the request", timeout=30)
        assert all(not line.startswith("{") and "DEBUG" in line for line in lines)
    finally:
        svc.stop()
