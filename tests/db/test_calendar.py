"""Calendar traps judged at fixed instants, so they hold whatever today is:
a `since`/`until` window across a month and a year boundary in sessions
east and west of UTC, relative times across 29 February. Under
`python -m tests.pinned_dates` (marker `calendar`) the first test also
proves that the pinned clock reaches PostgreSQL itself."""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app.timeutil import TimeFormatError, parse_since

pytestmark = pytest.mark.calendar
UTC = timezone.utc


def test_pinned_clock_reaches_postgres(conn):
    pin = os.environ.get("DS_TEST_PIN")
    if not pin:
        pytest.skip("no pinned clock: `python -m tests.pinned_dates` sets DS_TEST_PIN")
    start = datetime.fromisoformat(pin)
    window = (start - timedelta(seconds=5), start + timedelta(minutes=10))
    assert window[0] <= datetime.now(UTC) < window[1], "pytest's clock is not pinned"
    db_now, postmaster, zone = conn.execute(
        "SELECT now(), pg_postmaster_start_time(), current_setting('TimeZone')").fetchone()
    assert window[0] <= db_now < window[1], f"PostgreSQL's now() is {db_now}, not near {start}"
    assert window[0] <= postmaster <= db_now, "the server was not started under the pinned clock"
    assert zone == os.environ["PGTZ"]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def event(cid: str, at: str) -> dict:
    return {"event_id": str(uuid.uuid4()), "event_timestamp": at, "event_type": "t",
            "event_category": "gateway", "event_action": "a", "event_outcome": "success",
            "actor_type": "s", "actor_id": "x", "resource_type": "r", "resource_id": "r",
            "correlation_id": cid, "event_data": {}}


# Chosen so that a bound computed in the session's zone instead of UTC loses
# an event: in Kiritimati (UTC+14) `since` is already the 31st locally, in Los
# Angeles `until` is still the 31st.
SINCE, UNTIL = "2040-12-30T12:00:00Z", "2041-01-01T00:20:00Z"
STAMPS = ["2040-12-30T11:00:00Z", "2040-12-30T13:00:00Z", "2040-12-31T22:20:00Z",
          "2041-01-01T00:20:00Z"]


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_since_until_window_across_a_year_boundary(conn, zone):
    cid = f"cal-{uuid.uuid4()}"
    conn.execute("SELECT set_config('TimeZone', %s, false)", (zone,))
    assert conn.execute("SELECT datastorage.ensure_audit_partitions(1, 0, %s)",
                        (ts(UNTIL),)).fetchone()[0] == 2
    conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                 (json.dumps([event(cid, s) for s in STAMPS]),))
    homes = conn.execute("SELECT tableoid::regclass::text FROM audit_events "
                         "WHERE correlation_id = %s ORDER BY event_timestamp", (cid,)).fetchall()
    assert [h[0] for h in homes] == ["audit_events_2040_12"] * 3 + ["audit_events_2041_01"]
    # With an event type the function takes its dynamic path, which bounds
    # event_date (the partition key) as well as the timestamp.
    for args in ("p_correlation_id => %s", "p_correlation_id => %s, p_event_type => 't'"):
        page = conn.execute(f"SELECT datastorage.query_audit_events({args}, p_since => %s, "
                            "p_until => %s)", (cid, ts(SINCE), ts(UNTIL))).fetchone()[0]
        got = [e["event_timestamp"] for e in page["data"]]
        assert got == STAMPS[:0:-1], (zone, args, got)
        assert page["pagination"]["total"] == 3


@pytest.mark.parametrize("now,spec,expected", [
    ("2028-03-01T00:00:30Z", "24h", "2028-02-29T00:00:30Z"),
    ("2028-03-01T00:00:30Z", "2d", "2028-02-28T00:00:30Z"),
    ("2027-03-01T00:00:00Z", "7d", "2027-02-22T00:00:00Z"),
    ("2027-01-01T00:00:00Z", "1h30m", "2026-12-31T22:30:00Z"),
    ("2026-12-31T23:59:59Z", "2028-02-29", "2028-02-29T00:00:00Z"),
    ("2026-12-31T23:59:59Z", "2028-02-29T23:59:59.999999+14:00", "2028-02-29T09:59:59.999999Z"),
])
def test_relative_and_absolute_since(now, spec, expected):
    assert parse_since(spec, now=ts(now)) == ts(expected)


@pytest.mark.parametrize("spec", ["2027-02-29", "2027-02-29T00:00:00Z", "2028-02-30"])
def test_impossible_dates_are_refused(spec):
    with pytest.raises(TimeFormatError):
        parse_since(spec, now=ts("2027-03-01T00:00:00Z"))
