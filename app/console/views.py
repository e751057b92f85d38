"""View helpers: turn query strings into checked values and SQL answers into
what the templates draw (chart geometry, pagers, badges). No I/O here."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from ..routes.verify import event_message
from ..timeutil import TimeFormatError, parse_since

OUTCOMES = ("success", "failure", "pending")
SEARCH_FIELDS = ("correlation_id", "event_type", "event_category", "event_outcome", "severity",
                 "since", "until")
SEARCH_PAGE = 50
TRAIL_PAGE = 50
MAX_TEXT = 255

# verdict -> (badge text, CSS modifier)
VERDICTS = {
    "ok": ("verified", "ok"),
    "content_mismatch": ("content altered", "bad"),
    "link_mismatch": ("broken link", "bad"),
    "sequence_gap": ("sequence gap", "bad"),
    "unhashed": ("no hash", "bad"),
}


def verdict_badge(verdict: str) -> tuple[str, str]:
    return VERDICTS.get(verdict, (verdict, "bad"))


def verdict_message(verdict: str, expected_previous_hash: str | None = None) -> str:
    """The same sentence the verify-chain API gives for this verdict."""
    return event_message({"verdict": verdict,
                          "expected_previous_hash": expected_previous_hash})


def url(path: str, **params: Any) -> str:
    """path?query with empty parameters left out."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def duration_text(ms: float | int | None) -> str:
    if ms is None:
        return ""
    ms = float(ms)
    if ms < 1000:
        return f"{ms:g} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def timestamp_text(value: str | None) -> str:
    """RFC 3339 from SQL as `2026-01-15 10:00:00.123 UTC` (milliseconds at
    most; the full value stays in the page's datetime attributes)."""
    if not value:
        return ""
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z", value)
    return f"{m.group(1)} {m.group(2)}{(m.group(3) or '')[:4]} UTC" if m else value


def bytes_text(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:g} {unit}" if unit == "B" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return str(n)


# -- charts ------------------------------------------------------------------

def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= value (min 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


@dataclass
class Chart:
    width: int
    height: int
    top: int
    left: int
    plot_height: int
    bars: list[dict] = field(default_factory=list)
    grid: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    total: int = 0


def hourly_chart(hours: list[dict], *, width: int = 760, height: int = 220) -> Chart:
    """Bar geometry for 24 hourly buckets ({"start": RFC 3339, "count": n})."""
    left, right, top, bottom = 44, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_ceiling(max((h["count"] for h in hours), default=0))
    slot = plot_w / max(len(hours), 1)
    chart = Chart(width, height, top, left, plot_h, total=sum(h["count"] for h in hours))
    for i, h in enumerate(hours):
        bar_h = plot_h * h["count"] / peak
        hour = h["start"][11:16]
        chart.bars.append({"x": round(left + i * slot + slot * 0.12, 2),
                           "y": round(top + plot_h - bar_h, 2),
                           "w": round(slot * 0.76, 2), "h": round(bar_h, 2),
                           "count": h["count"],
                           "title": f"{timestamp_text(h['start'])}: {h['count']} event(s)"})
        if i % 3 == 0:
            chart.ticks.append({"x": round(left + i * slot + slot / 2, 2), "label": hour})
    for fraction in (0, 0.5, 1):
        chart.grid.append({"y": round(top + plot_h * (1 - fraction), 2),
                           "label": f"{peak * fraction:g}"})
    return chart


def share_bars(items: list[dict]) -> list[dict]:
    """[{"key", "count"}] with each count's share of the largest, in percent."""
    peak = max((i["count"] for i in items), default=0) or 1
    return [{**i, "percent": round(100 * i["count"] / peak, 1)} for i in items]


# -- paging ------------------------------------------------------------------

@dataclass
class Pager:
    offset: int
    limit: int
    shown: int
    total: int | None = None

    @property
    def first(self) -> int:
        return self.offset + 1 if self.shown else 0

    @property
    def last(self) -> int:
        return self.offset + self.shown

    @property
    def previous(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None

    @property
    def next(self) -> int | None:
        more = (self.last < self.total) if self.total is not None else self.shown == self.limit
        return self.last if more else None


def offset_param(args, name: str = "offset") -> int:
    """A paging offset: anything that is not a small non-negative integer is 0."""
    raw = (args.get(name) or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else 0


# -- forms -------------------------------------------------------------------

@dataclass
class Form:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def filled(self) -> bool:
        return any(self.values.values())


def text_fields(args, names: tuple[str, ...]) -> Form:
    """Trimmed text fields; too long or NUL-bearing values are errors."""
    form = Form({})
    for name in names:
        value = (args.get(name) or "").strip()
        if len(value) > MAX_TEXT:
            form.errors[name] = f"at most {MAX_TEXT} characters"
        elif "\x00" in value:
            form.errors[name] = "must not contain NUL characters"
        form.values[name] = value
    return form


def _time(value: str, now: datetime | None) -> datetime:
    # <input type=datetime-local> sends minutes only.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", value):
        value += ":00"
    return parse_since(value, now)


def search_form(args, now: datetime | None = None) -> tuple[Form, dict[str, Any]]:
    """The search form and, when it is valid, the query's SQL arguments."""
    form = text_fields(args, SEARCH_FIELDS)
    v = form.values
    if v["event_outcome"] and v["event_outcome"] not in OUTCOMES:
        form.errors["event_outcome"] = "one of " + ", ".join(OUTCOMES)
    times: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        times[name] = None
        if v[name] and name not in form.errors:
            try:
                times[name] = _time(v[name], now)
            except TimeFormatError:
                form.errors[name] = "use 24h, 7d, a date or an RFC 3339 time"
    if times["since"] and times["until"] and times["since"] > times["until"]:
        form.errors["until"] = "must not be before since"
    sql = {name: v[name] or None for name in SEARCH_FIELDS[:5]}
    sql.update(times)
    return form, sql


# Workflow search: the contract's request built from form fields.
WF_TEXT = ("signal_type", "component", "environment")
WF_SEVERITIES = ("critical", "high", "medium", "low")
WF_PRIORITIES = ("P0", "P1", "P2", "P3")
WF_BOOL_LABELS = ("gitOpsManaged", "pdbProtected", "hpaEnabled", "stateful", "helmManaged",
                  "networkIsolated")
WF_CHOICE_LABELS = {"gitOpsTool": ("argocd", "flux", "*"), "serviceMesh": ("istio", "linkerd", "*")}
WF_FIELDS = (*WF_TEXT, "severity", "priority", "custom_labels", "top_k", "min_score",
             "include_disabled", *WF_BOOL_LABELS, *WF_CHOICE_LABELS)


def custom_labels(text: str) -> dict[str, list[str]]:
    """`key=value1,value2` per line (or `;`-separated) into the contract shape."""
    out: dict[str, list[str]] = {}
    for line in re.split(r"[\n;]", text):
        if not line.strip():
            continue
        key, sep, values = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"not key=value: {line.strip()[:40]}")
        out.setdefault(key.strip(), []).extend(v.strip() for v in values.split(",") if v.strip())
    return out


def workflow_search_body(args) -> tuple[Form, dict | None]:
    """(form, request body for SearchRequest) -- body None until the required
    filters are filled in or while a field is malformed."""
    form = text_fields(args, WF_FIELDS)
    v = form.values
    if not all(v[name] for name in (*WF_TEXT, "severity", "priority")):
        return form, None
    filters: dict[str, Any] = {name: v[name] for name in (*WF_TEXT, "severity", "priority")}
    detected: dict[str, Any] = {name: True for name in WF_BOOL_LABELS if v[name]}
    detected.update({name: v[name] for name in WF_CHOICE_LABELS if v[name]})
    if detected:
        filters["detected_labels"] = detected
    if v["custom_labels"]:
        try:
            filters["custom_labels"] = custom_labels(v["custom_labels"])
        except ValueError as exc:
            form.errors["custom_labels"] = str(exc)
    body: dict[str, Any] = {"filters": filters, "include_disabled": bool(v["include_disabled"])}
    for name, kind in (("top_k", int), ("min_score", float)):
        if v[name]:
            try:
                body[name] = kind(v[name])
            except ValueError:
                form.errors[name] = "must be a number"
    return form, (None if form.errors else body)
