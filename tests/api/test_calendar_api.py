"""`since=24h` over HTTP reaches back across midnight (and, under the pinned
clocks of `python -m tests.pinned_dates`, across a month, a year, or 29
February); every event sits in the partition of its own UTC month. Pinned,
the service's workers report the pinned time as their own."""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.api.test_audit_events import gateway_event, now_iso
from harness import unique

pytestmark = pytest.mark.calendar


def test_since_24h_spans_midnight_and_months(client, module_conn):
    cid = unique("cal")
    ages = [timedelta(0), timedelta(hours=2), timedelta(hours=20), timedelta(hours=25)]
    ids = {}
    for age in ages:
        resp = client.post("/api/v1/audit/events", json=gateway_event(cid, event_timestamp=now_iso(-age)))
        assert resp.status_code == 201, resp.text
        ids[resp.json()["event_id"]] = age
    page = client.get("/api/v1/audit/events", params={"correlation_id": cid, "since": "24h"}).json()
    assert sorted(ids[e["event_id"]] for e in page["data"]) == ages[:3]
    assert page["pagination"]["total"] == 3
    rows = module_conn.execute(
        "SELECT tableoid::regclass::text, to_char(event_timestamp AT TIME ZONE 'UTC', "
        "'\"audit_events_\"YYYY_MM') FROM audit_events WHERE correlation_id = %s", (cid,)).fetchall()
    assert len(rows) == 4 and all(home == month for home, month in rows), rows


def test_service_runs_on_the_pinned_clock(client):
    pin = os.environ.get("DS_TEST_PIN")
    if not pin:
        pytest.skip("no pinned clock: `python -m tests.pinned_dates` sets DS_TEST_PIN")
    resp = client.post("/api/v1/audit/events",
                       json=gateway_event(unique("cal"), event_timestamp=now_iso(timedelta(hours=3))))
    assert resp.status_code == 400, resp.text
    server_time = re.search(r"server time: (\S+),", resp.json()["detail"]).group(1)
    start = datetime.fromisoformat(pin)
    said = datetime.fromisoformat(server_time.replace("Z", "+00:00"))
    assert start - timedelta(seconds=5) <= said < start + timedelta(minutes=10)
    assert said.tzinfo is not None and said.utcoffset() == timezone.utc.utcoffset(None)
