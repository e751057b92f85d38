"""The benchmark machinery (bench/common.py, bench/bench_write.py) still works:
a second of real load against the real service, the pgbench and asyncpg
ceilings on a real database. Sanity of the numbers only, never their size."""
from __future__ import annotations

import orjson

from bench.bench_write import APPEND_SQL, pgbench_script, single_payloads
from bench.common import (RssSampler, asyncpg_load, audit_event, http_load, http_request,
                          latency_summary, percentile, run_pgbench)
from harness import unique

# Stored columns that legitimately differ between two appends of the same event.
PER_APPEND = {"event_id", "correlation_id", "resource_id", "event_timestamp", "event_date",
              "chain_seq", "event_hash", "previous_event_hash", "legal_hold_placed_at"}


def assert_sane(res, status: int) -> dict:
    d = res.to_dict()
    assert res.completed > 0 and d["requests_per_s"] > 0
    assert res.statuses == {status: res.completed}, (res.statuses, res.errors)
    assert not res.errors
    assert 0 <= d["p50_ms"] <= d["p90_ms"] <= d["p99_ms"] <= d["p999_ms"] <= d["max_ms"]
    return d


def test_percentiles_are_nearest_rank():
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile(values, 50) == 0.05 and percentile(values, 99) == 0.099
    assert percentile(values, 100) == 0.1 and percentile([0.007], 99.9) == 0.007
    s = latency_summary(reversed(values))
    assert (s["p50_ms"], s["p99_ms"], s["max_ms"], s["mean_ms"]) == (50.0, 99.0, 100.0, 50.5)


def test_closed_loop_load_against_the_service(service, module_conn):
    prefix = unique("smoke")
    reqs = [http_request("POST", "/api/v1/audit/events", orjson.dumps(audit_event(f"{prefix}-{i}")))
            for i in range(20)]
    with RssSampler(service.proc.pid, interval=0.1) as rss:
        res = http_load(service.base_url, reqs, clients=4, duration=1.0, warmup=0.2)
    assert_sane(res, 201)
    stored = module_conn.execute("SELECT count(*) FROM audit_events WHERE correlation_id LIKE %s",
                                 (prefix + "-%",)).fetchone()[0]
    assert stored >= res.completed  # requests outside the measured window were stored too
    mem = rss.summary()
    assert mem["workers"] == 1 and 0 < mem["worker_peak_mb"] < mem["total_peak_mb"]


def test_open_loop_never_sends_ahead_of_schedule(service):
    reqs = [http_request("POST", "/api/v1/audit/events", orjson.dumps(audit_event(unique("ol"))))]
    res = http_load(service.base_url, reqs, clients=4, duration=1.0, warmup=0.2, rate=40)
    d = assert_sane(res, 201)
    # Request i is due at i/40 s and none is sent after the window closes:
    # at most 40 * (0.2 + 1.0) requests exist at all, however slow the server.
    assert res.completed <= 49 and d["target_rate_per_s"] == 40
    assert d["send_lag_p99_ms"] >= 0


def test_pgbench_ceiling_stores_what_the_service_stores(service, module_db, module_conn):
    prefix = unique("pgb")
    res = run_pgbench(module_db, pgbench_script(prefix, 3), clients=2, transactions=5)
    assert res.completed == 10 and not res.errors
    rows = module_conn.execute(
        "SELECT correlation_id, resource_id FROM audit_events WHERE correlation_id LIKE %s",
        (prefix + "-%",)).fetchall()
    assert len(rows) == 10 and all(cid == rid for cid, rid in rows)
    assert {cid for cid, _ in rows} <= {f"{prefix}-{i}" for i in range(3)}
    for cid in {cid for cid, _ in rows}:
        assert module_conn.execute("SELECT is_valid FROM datastorage.verify_chain_summary(%s)",
                                   (cid,)).fetchone()[0]
    # The same event through HTTP stores the same content.
    with service.client() as c:
        r = c.post("/api/v1/audit/events", json=audit_event(f"{prefix}-http"))
    assert r.status_code == 201, r.text

    def stored(where: str, arg: str) -> dict:
        cur = module_conn.execute(f"SELECT * FROM audit_events WHERE {where} LIMIT 1", (arg,))
        names = [d.name for d in cur.description]
        return {k: v for k, v in zip(names, cur.fetchone()) if k not in PER_APPEND}
    assert stored("correlation_id = %s", f"{prefix}-http") == \
        stored("correlation_id LIKE %s", prefix + "-_")


def test_pgbench_hot_chain_script_uses_one_chain(module_db, module_conn):
    prefix = unique("pgbhot")
    run_pgbench(module_db, pgbench_script(prefix, 1), clients=2, transactions=3)
    assert module_conn.execute(
        "SELECT count(*), count(DISTINCT correlation_id), max(chain_seq) FROM audit_events "
        "WHERE correlation_id LIKE %s", (prefix + "%",)).fetchone() == (6, 1, 6)


def test_asyncpg_driver_appends_as_the_app_role(module_db, module_conn):
    prefix = unique("apg")
    res = asyncpg_load(module_db, APPEND_SQL, single_payloads(prefix, 5), clients=2,
                       duration=0.5, warmup=0.1)
    assert_sane(res, 1)
    assert module_conn.execute("SELECT count(*) FROM audit_events WHERE correlation_id LIKE %s",
                               (prefix + "-%",)).fetchone()[0] >= res.completed


def test_asyncpg_driver_counts_refusals_as_errors(module_db):
    # The app role may not read tables: every call fails, and is counted, not raised.
    res = asyncpg_load(module_db, "SELECT count(*) FROM public.audit_events", lambda i: (),
                       clients=1, duration=0.3, warmup=0.0)
    assert res.completed == 0 and res.errors.get("InsufficientPrivilegeError", 0) > 0


def test_append_against_plain_insert_runs_and_stores_the_same_rows():
    """bench/bench_append.py end to end on a tiny sample: both databases end
    with the same number of events (run() asserts it), rates are positive."""
    from bench.bench_append import run
    res = run(events=600, preload=200, batch=200, calls=200)
    assert res["events"] == 600 and res["partitions"] >= 16
    assert res["append_events_per_s"] > 0 and res["plain_events_per_s"] > 0
    assert res["append_vs_plain"] > 0 and res["targets"][0]["value"] == res["append_vs_plain"]
    # The rules' costs (backend CPU) are reported beside the ratio, and add up to the gap.
    cost = res["rule_us_per_event"]
    assert set(cost) == {"hash_chain", "id_claim", "rest"}
    assert abs(sum(cost.values()) - (res["append_cpu_us_per_event"] - res["plain_cpu_us_per_event"])) < 0.5
    # One-event calls of each, in alternating rounds, measured in backend CPU.
    one = res["single_event_calls"]
    assert one["calls"] == 200 and one["rounds"] == 2
    assert one["append"]["cpu"] > 0 and one["plain"]["cpu"] > 0 and one["append"]["wall"] > 0
    assert res["single_append_vs_plain_cpu"] == round(one["plain"]["cpu"] / one["append"]["cpu"], 3)
