"""Time parsing with the original service's grammar (spec/audit-api.md §4.3, §6.2)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
                 "m": 60.0, "h": 3600.0}


class TimeFormatError(ValueError):
    pass


def parse_rfc3339(value: str, *, require_zone: bool = True) -> datetime:
    """Aware datetime truncated (not rounded) to whole microseconds.

    Without a zone: error when require_zone, else UTC."""
    m = _RFC3339.match(value) if isinstance(value, str) else None
    if not m:
        raise TimeFormatError(f"invalid date-time: {value!r}")
    y, mo, d, h, mi, s, frac, zone = m.groups()
    if zone is None and require_zone:
        raise TimeFormatError(f"date-time without a time zone: {value!r}")
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    if zone in (None, "Z", "z"):
        tz = timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        hh, mm = int(zone[1:3]), int(zone[4:6])
        if hh > 23 or mm > 59:
            raise TimeFormatError(f"invalid time zone offset: {value!r}")
        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    try:
        ts = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=tz)
        # Years 1-9999 in UTC too: `0001-01-01T00:00:00+01:00` is in year 0,
        # which neither Python nor asyncpg can convert. (A UTC time is one.)
        if tz is not timezone.utc:
            ts.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise TimeFormatError(f"invalid date-time: {value!r} ({exc})") from None
    return ts


def parse_go_duration(value: str) -> timedelta:
    """Go's time.ParseDuration grammar: `1h30m`, `-90s`, `0`."""
    text = value
    sign = 1
    if text and text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return timedelta(0)
    if not text:
        raise TimeFormatError(value)
    pos, seconds = 0, 0.0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            raise TimeFormatError(value)
        seconds += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    return timedelta(seconds=sign * seconds)


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`24h`, `7d`, `1h30m` (relative to now), RFC 3339, zone-less (UTC) or a date."""
    now = now or datetime.now(timezone.utc)
    try:
        if value.endswith("d"):
            return now - parse_go_duration(value[:-1] + "h") * 24
        return now - parse_go_duration(value)
    except (TimeFormatError, OverflowError):
        pass
    try:
        return parse_rfc3339(value, require_zone=False)
    except TimeFormatError:
        pass
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), timezone.utc)
        except ValueError:
            pass
    _fail(value)


def _fail(value: str):
    raise TimeFormatError(
        f"invalid time format: {value} (expected: 24h, 7d, or RFC3339 timestamp)")


# What most clients send: UTC, `Z`, at most microseconds, ASCII digits
# (parse_rfc3339 also takes other Unicode digits, and goes the long way).
# Recognised by shape, every digit mapped to 0, so that a whole batch's
# timestamps are checked by a few C calls over their joined text.
_DIGITS_TO_0 = bytes.maketrans(b"123456789", b"000000000")
_UTC_SHAPES = frozenset(b"0000-00-00T00:00:00" + (b"." + b"0" * n if n else b"") + b"Z"
                        for n in range(7))


def parse_utc_micro_many(values: list[str]) -> tuple[list[datetime], list[str]] | None:
    """parse_utc_micro of every value, when all are in the common UTC form
    and valid; else None (parse each then: it explains or takes the long
    way). Parsed by datetime.fromisoformat (C), rendered by slicing."""
    try:
        joined = "\n".join(values)
    except TypeError:
        return None
    if not joined.isascii():
        return None
    shapes = joined.encode().translate(_DIGITS_TO_0).split(b"\n")
    # A value holding "\n" splits in two: the counts differ.
    if len(shapes) != len(values) or not _UTC_SHAPES.issuperset(shapes):
        return None
    try:
        times = list(map(datetime.fromisoformat, values))
    except ValueError:   # e.g. hour 24: parse_rfc3339 explains it
        return None
    # 27 characters: six fractional digits, already the rendering.
    return times, [v if len(v) == 27 else v[:19] + (v[19:-1] or ".").ljust(7, "0") + "Z"
                   for v in values]


def parse_utc_micro(value: str) -> tuple[datetime, str]:
    """parse_rfc3339(value) and its utc_micro() text; the common UTC form
    the short way (parse_utc_micro_many)."""
    common = parse_utc_micro_many([value])
    if common is not None:
        return common[0][0], common[1][0]
    ts = parse_rfc3339(value)
    return ts, utc_micro(ts)


def utc_micro(ts: datetime) -> str:
    """Fixed-width UTC rendering sent to SQL (exact to the microsecond)."""
    if ts.tzinfo is not timezone.utc:   # most clients send UTC: no conversion then
        ts = ts.astimezone(timezone.utc)
    return ts.isoformat(timespec="microseconds")[:-6] + "Z"   # "+00:00" -> "Z"


def rfc3339_seconds(ts: datetime) -> str:
    """Whole seconds in the offset the client sent; `Z` for UTC."""
    text = ts.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def go_duration(td: timedelta) -> str:
    """Go's Duration.String(), e.g. 192h0m0.5s (used in error texts)."""
    total = td.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    h = int(total // 3600)
    m = int((total - h * 3600) // 60)
    s = total - h * 3600 - m * 60
    s_text = f"{s:.9f}".rstrip("0").rstrip(".") or "0"
    if h:
        return f"{sign}{h}h{m}m{s_text}s"
    if m:
        return f"{sign}{m}m{s_text}s"
    return f"{sign}{s_text}s"
