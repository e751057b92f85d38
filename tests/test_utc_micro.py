"""app.timeutil: the UTC shortcuts of parse_rfc3339 and utc_micro render
exactly what the general conversion renders, and parse_utc_micro (the
fromisoformat shortcut of both) gives what they give; parse_utc_micro_many
(a batch's timestamps at once) gives what each gives alone, or None as
soon as one is not in the common form. No database needed."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.timeutil import (TimeFormatError, parse_rfc3339, parse_utc_micro,
                          parse_utc_micro_many, utc_micro)


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


def long_way(text: str):
    """parse_rfc3339 then utc_micro, or the error text: what parse_utc_micro shortcuts."""
    try:
        ts = parse_rfc3339(text)
    except TimeFormatError as exc:
        return "error", str(exc)
    return ts, utc_micro(ts)


def short_way(text: str):
    try:
        return parse_utc_micro(text)
    except TimeFormatError as exc:
        return "error", str(exc)


@pytest.mark.parametrize("text", [
    "2025-01-02T03:04:05Z", "2025-01-02T03:04:05.1Z", "2025-01-02T03:04:05.12Z",
    "2025-01-02T03:04:05.12345Z", "2025-01-02T03:04:05.123456Z", "2025-01-02T03:04:05.1234567Z",
    "2025-01-02t03:04:05z", "2025-01-02T03:04:05+02:00", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z", "2025-01-02T24:00:00Z", "2025-02-30T03:04:05Z",
    "2025-13-02T03:04:05Z", "2025-01-02T03:60:05Z", "2025-01-02T03:04:60Z",
    "２０２５-01-02T03:04:05Z", "2025-01-02T03:04:05", "2025-01-02 03:04:05Z", "",
])
def test_parse_utc_micro_equals_the_long_way(text):
    assert short_way(text) == long_way(text)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
       st.integers(0, 9), st.sampled_from(["Z", "z", "+00:00", "-03:30"]))
def test_random_times_parse_the_same_both_ways(t, digits, zone):
    frac = ("." + f"{t.microsecond:06d}{t.microsecond % 1000:03d}"[:digits]) if digits else ""
    text = t.strftime("%Y-%m-%dT%H:%M:%S") + frac + zone
    assert short_way(text) == long_way(text)


# Every shape a client may send: the common UTC form with 0 to 9 fractional
# digits, and what takes the long way or is refused (lower-case letters,
# offsets, no zone, hour 24, 30 February, other Unicode digits, a newline,
# which the batch check uses as its separator).
ODD = ["2025-01-02t03:04:05z", "2025-01-02T03:04:05+02:00", "2025-01-02T03:04:05",
       "2025-01-02T24:00:00Z", "2025-02-30T03:04:05Z", "２０２５-01-02T03:04:05Z",
       "2025-01-02T03:04:05Z\n2025-01-02T03:04:05Z", "2025-01-02T03:04:05.Z", "", "x"]


@st.composite
def any_stamp(draw) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(ODD))
    t = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    digits = draw(st.integers(0, 9))
    frac = ("." + f"{t.microsecond:06d}{t.microsecond % 1000:03d}"[:digits]) if digits else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


@settings(max_examples=150, deadline=None)
@given(st.lists(any_stamp(), min_size=1, max_size=8))
def test_a_batch_of_times_parses_as_each_alone(texts):
    many = parse_utc_micro_many(texts)
    alone = [short_way(t) for t in texts]
    common = all(t.isascii() and "\n" not in t and t.endswith("Z") and "T" in t
                 and len(t) <= 27 and a[0] != "error" for t, a in zip(texts, alone))
    if many is None:
        assert not common
    else:
        assert list(zip(*many)) == alone
        assert alone == [long_way(t) for t in texts]
