"""Fixtures for the console tests: seeded trails, and headless Chromium (the
Debian `chromium` package) driven by Playwright. No browser is downloaded."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.harness import unique

CHROMIUM = os.environ.get("DS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
USER = "auditor@example.com"
T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=timezone.utc)


def event(cid: str, i: int, **fields) -> dict:
    category = fields.pop("event_category", ("gateway", "aianalysis", "workflow")[i % 3])
    return {"event_id": str(uuid.uuid4()),
            "event_timestamp": (T0 + timedelta(seconds=i * 2)).isoformat(),
            "event_type": f"{category}.step.done", "event_category": category,
            "event_action": "process", "event_outcome": "success", "actor_type": "service",
            "actor_id": f"{category}-controller", "resource_type": "RemediationRequest",
            "resource_id": cid, "correlation_id": cid, "severity": "info",
            "duration_ms": 100 + i,
            "event_data": {"step": i, "contact": "ops@example.com", "note": f"step {i}"},
            **fields}


def append(conn, events: list[dict]) -> None:
    conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps(events),))


def chain(conn, n: int, prefix: str = "ui") -> str:
    cid = unique(prefix)
    append(conn, [event(cid, i) for i in range(n)])
    return cid


def event_id(conn, cid: str, seq: int) -> str:
    return str(conn.execute("SELECT event_id FROM audit_events WHERE correlation_id = %s "
                            "AND chain_seq = %s", (cid, seq)).fetchone()[0])


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, service):
    """A fresh browser context signed in as USER (the header a trusted proxy sets)."""
    ctx = browser.new_context(base_url=service.base_url, accept_downloads=True,
                              extra_http_headers={"X-Auth-Request-User": USER},
                              viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15000)
    pg = ctx.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    try:
        yield pg
    finally:
        ctx.close()
