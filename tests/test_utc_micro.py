"""app.timeutil: the UTC shortcuts of parse_rfc3339 and utc_micro render
exactly what the general conversion renders. No database needed."""
from __future__ import annotations

from datetime import timezone

import pytest

from app.timeutil import TimeFormatError, parse_rfc3339, utc_micro


def converted(ts) -> str:
    """The general form: convert to UTC, drop the zone, append Z."""
    return ts.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@pytest.mark.parametrize("text", [
    "2025-01-02T03:04:05Z", "2025-01-02t03:04:05z", "2025-01-02T03:04:05.1234567Z",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2025-01-02T03:04:05+00:00",
    "2025-01-02T03:04:05-00:00", "2025-01-02T03:04:05.5+01:00", "0001-01-01T01:00:00+01:00",
    "2025-06-30T23:30:00-05:30",
])
def test_utc_micro_equals_the_general_conversion(text):
    ts = parse_rfc3339(text)
    assert utc_micro(ts) == converted(ts)
    assert utc_micro(ts).endswith("Z") and len(utc_micro(ts)) == 27


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_times_outside_utc_years_are_still_refused(text):
    with pytest.raises(TimeFormatError):
        parse_rfc3339(text)
