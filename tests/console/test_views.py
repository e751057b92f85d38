"""View helpers without a database: chart geometry, durations, form parsing."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from multidict import MultiDict

from app.console import views

NOW = datetime(2026, 1, 15, 12, 30, tzinfo=timezone.utc)


def hours(counts):
    return [{"start": f"2026-01-15T{h:02d}:00:00Z", "count": c} for h, c in enumerate(counts)]


def test_hourly_chart_scales_to_a_round_ceiling():
    chart = views.hourly_chart(hours([0] * 20 + [3, 7, 0, 14]))
    assert [g["label"] for g in chart.grid] == ["0", "10", "20"]  # 14 -> 20
    bars = chart.bars
    assert len(bars) == 24 and chart.total == 24
    assert bars[0]["h"] == 0 and bars[23]["h"] == pytest.approx(chart.plot_height * 14 / 20, abs=0.01)
    assert bars[23]["y"] + bars[23]["h"] == pytest.approx(chart.top + chart.plot_height, abs=0.02)
    assert bars[21]["title"] == "2026-01-15 21:00:00 UTC: 7 event(s)"
    assert [t["label"] for t in chart.ticks] == [f"{h:02d}:00" for h in range(0, 24, 3)]
    empty = views.hourly_chart(hours([0] * 24))
    assert {b["h"] for b in empty.bars} == {0} and empty.grid[-1]["label"] == "1"


@pytest.mark.parametrize("ms, text", [(None, ""), (0, "0 ms"), (12, "12 ms"), (1500, "1.5 s"),
                                      (48000, "48 s"), (125000, "2 min 5 s"),
                                      (3_600_000, "1 h"), (5_400_000, "1 h 30 min")])
def test_duration_text(ms, text):
    assert views.duration_text(ms) == text


def test_search_form_times_and_errors():
    form, sql = views.search_form(MultiDict({"since": "2026-01-14T10:00", "until": "1h"}), NOW)
    assert not form.errors
    assert sql["since"] == datetime(2026, 1, 14, 10, 0, tzinfo=timezone.utc)  # datetime-local
    assert sql["until"] == datetime(2026, 1, 15, 11, 30, tzinfo=timezone.utc)
    form, _ = views.search_form(MultiDict({"since": "2026-01-15T10:00"}), NOW)
    assert form.filled and not form.errors
    form, _ = views.search_form(MultiDict({"since": "1h", "until": "2h"}), NOW)
    assert form.errors == {"until": "must not be before since"}
    form, _ = views.search_form(MultiDict({"event_outcome": "maybe", "severity": "x" * 256}), NOW)
    assert set(form.errors) == {"event_outcome", "severity"}


def test_workflow_search_body():
    args = MultiDict({"signal_type": "OOM", "severity": "high", "component": "pod",
                      "environment": "prod", "priority": "P1", "gitOpsManaged": "on",
                      "serviceMesh": "istio", "custom_labels": "team=a, b\nzone=eu",
                      "top_k": "5", "min_score": "0.5"})
    form, body = views.workflow_search_body(args)
    assert not form.errors
    assert body == {"filters": {"signal_type": "OOM", "severity": "high", "component": "pod",
                                "environment": "prod", "priority": "P1",
                                "detected_labels": {"gitOpsManaged": True, "serviceMesh": "istio"},
                                "custom_labels": {"team": ["a", "b"], "zone": ["eu"]}},
                    "include_disabled": False, "top_k": 5, "min_score": 0.5}
    assert views.workflow_search_body(MultiDict({"signal_type": "OOM"}))[1] is None
    form, body = views.workflow_search_body(MultiDict({**args, "custom_labels": "oops"}))
    assert body is None and "custom_labels" in form.errors


def test_pager():
    p = views.Pager(offset=50, limit=50, shown=50, total=120)
    assert (p.first, p.last, p.previous, p.next) == (51, 100, 0, 100)
    p = views.Pager(offset=100, limit=50, shown=20, total=120)
    assert (p.previous, p.next) == (50, None)
    assert views.offset_param({"offset": "-5"}) == 0 and views.offset_param({"offset": "70"}) == 70
