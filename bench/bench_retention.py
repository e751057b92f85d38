"""Retention (issue 14): `python -m bench.bench_retention [--quick]`.

A private cluster gets two old months written through the real append
function: January (as many events as a month of the 1M-event dataset:
83,000, 10 per chain; BENCH_RETENTION_MONTH changes it) expires whole; in February every other chain expires (row-wise
deletion) and one chain is under legal hold. Then, while single-event writes
arrive at a fixed rate (open loop: latency counted from the moment each write
was due), a retention run goes step by step (CALL datastorage.run_retention,
each step its own transaction), every step timed from its NOTICE:

  drop     the January steps: its chains' horizons and DETACH (one step),
           then DROP of the detached table (the next)
  rows     February's delete steps: events removed per second; ceiling = a
           plain DELETE of the same rows from an unindexed, trigger-free copy
  writes   p99 and max of the writes due while retention ran vs. the writes
           due in an equally long window just before it (same rate, same
           connections)

A run lasts about a second, so one run's p99 is its slowest write or two:
the scenario is repeated (BENCH_RETENTION_RUNS, default 5; --quick 2),
each time on a fresh database, and the writes of all runs are pooled
(BENCH_RETENTION_RATE, default 300/s). The run rests after each step as
the service's runs do (datastorage.retention_pause; BENCH_RETENTION_PAUSE,
default 1: as long as the step took); step times are the steps' own, rests
excluded, and "during" spans the whole run, rests included.
"""
from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from contextlib import closing
from urllib.parse import urlsplit

import orjson
import psycopg

from app.events import payload, prepare
from app.migrate import libpq_url
from bench.common import (BenchCluster, audit_event, latency_summary, log, markdown_table,
                          quick_mode, start_service, stop_service, target, write_results)

NAME = "retention"
PAUSE = float(os.environ.get("BENCH_RETENTION_PAUSE", "1"))
# Who writes: "sql" (the append function, as datastorage_app) or "http"
# (clients of the service).
VIA_HTTP = os.environ.get("BENCH_RETENTION_WRITES", "sql") == "http"


def load_months(url: str, month_events: int, chain_len: int = 10) -> dict:
    """January fully expiring (retention 30), February half (36500 on odd chains)."""
    template = json.dumps(audit_event("x")["event_data"])
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET ROLE datastorage_owner")
        for m in ("01", "02"):
            nxt = "02" if m == "01" else "03"
            conn.execute(f"CREATE TABLE audit_events_2020_{m} PARTITION OF audit_events "
                         f"FOR VALUES FROM ('2020-{m}-01') TO ('2020-{nxt}-01')")
        conn.execute("RESET ROLE")
        chains = month_events // chain_len
        step = 500  # chains per append call
        for month, base in (("01", "2020-01-02"), ("02", "2020-02-02")):
            for first in range(0, chains, step):
                conn.execute(
                    """SELECT datastorage.append_audit_events(jsonb_agg(jsonb_build_object(
                           'event_id', gen_random_uuid(),
                           'event_timestamp', %(base)s::timestamptz + make_interval(mins => c, secs => i),
                           'event_type', 'gateway.signal.received', 'event_category', 'gateway',
                           'event_action', 'received', 'event_outcome', 'success',
                           'actor_type', 'service', 'actor_id', 'gateway-service',
                           'resource_type', 'gateway', 'resource_id', 'r',
                           'correlation_id', 'm' || %(m)s || '-' || c,
                           'retention_days', CASE WHEN %(m)s = '02' AND c %% 2 = 1 THEN 36500 ELSE 30 END,
                           'event_data', %(data)s::jsonb) ORDER BY c, i))
                       FROM generate_series(%(lo)s::int, %(hi)s::int) c, generate_series(1, %(n)s::int) i""",
                    {"base": base, "m": month, "data": template, "lo": first,
                     "hi": min(first + step, chains) - 1, "n": chain_len})
            log(f"2020-{month}: {chains * chain_len:,} events")
        conn.execute("SELECT datastorage.place_legal_hold('m02-0', 'bench hold', 'bench')")
        conn.execute("VACUUM ANALYZE audit_events")
        return {"month_events": chains * chain_len, "chains_per_month": chains,
                "chain_length": chain_len}


def delete_ceiling(url: str) -> float:
    """Events/s of a plain DELETE of February's expiring rows from a bare copy."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_copy AS SELECT * FROM audit_events_2020_02")
        t = time.perf_counter()
        n = conn.execute("DELETE FROM bench_copy WHERE retention_days = 30 "
                         "AND correlation_id <> 'm02-0'").rowcount
        took = time.perf_counter() - t
        conn.execute("DROP TABLE bench_copy")
        return n / took


class Writes:
    """Open-loop single-event appends from `clients` threads: as
    datastorage_app calling the append function, or (base_url given) as a
    client of the service, POST /api/v1/audit/events on a kept-alive
    connection (the service adds its group commit and HTTP handling)."""

    def __init__(self, url: str, rate: float, clients: int = 4, base_url: str | None = None):
        self.url, self.rate, self.clients, self.base_url = url, rate, clients, base_url
        self.samples: list[tuple[float, float]] = []  # (due, latency)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(k,)) for k in range(clients)]

    def _run(self, k: int) -> None:
        if self.base_url:
            conn = http.client.HTTPConnection(urlsplit(self.base_url).netloc, timeout=30)

            def write(event: dict) -> None:
                conn.request("POST", "/api/v1/audit/events", orjson.dumps(event),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                assert r.status in (201, 202), r.status
        else:
            conn = psycopg.connect(libpq_url(self.url), autocommit=True)
            conn.execute("SET ROLE datastorage_app")

            def write(event: dict) -> None:
                row = prepare(event, max_event_data_bytes=1 << 20).row
                conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (payload([row]),))
        with closing(conn):
            period = self.clients / self.rate
            due = time.monotonic() + k * period / self.clients
            n = 0
            while not self.stop.is_set():
                now = time.monotonic()
                if now < due:
                    time.sleep(due - now)
                write(audit_event(f"w-{k}-{n % 50}", n=n))
                self.samples.append((due, time.monotonic() - due))
                due += period
                n += 1

    def start(self) -> "Writes":
        for t in self.threads:
            t.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def between(self, lo: float, hi: float) -> list[float]:
        return [lat for due, lat in self.samples if lo <= due < hi]


def run_retention(url: str) -> tuple[list[dict], dict, float]:
    """One run as production runs it (CALL datastorage.run_retention: a
    transaction per step, its batch sizing and lock retries); each step is
    timed from the previous step's NOTICE to its own (both sent after a
    commit). Returns (steps, run record, when the plan was committed)."""
    steps: list[dict] = []
    last = [0.0]
    planned = [0.0]

    def notice(diag) -> None:
        now = time.monotonic()
        step = json.loads(diag.message_primary)
        if step["action"] == "plan":
            planned[0] = now
        else:
            # The step's own time (the server's, to its commit), without the
            # rest the run took after the previous step.
            step["seconds"] = step.get("seconds", now - last[0])
            step["window"] = (now - step["seconds"], now)
            steps.append(step)
        last[0] = now

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET ROLE datastorage_maintenance")
        conn.execute(f"SET datastorage.retention_pause = {PAUSE!r}")
        conn.add_notice_handler(notice)
        record = conn.execute("CALL datastorage.run_retention('2020-04-01', 'bench', 10000, NULL)"
                              ).fetchone()[0]
    return steps, record, planned[0]


def scenario(cluster: BenchCluster, month: int, rate: float, ceiling: bool) -> dict:
    """One repetition on a fresh database: load, writes, a quiet window,
    the run. The window "without" ends where the run starts and is as long
    as the run (up to 3 s), so both sides get about as many writes."""
    url = cluster.database()
    t = time.perf_counter()
    data = load_months(url, month)
    log(f"data loaded in {time.perf_counter() - t:.1f}s")
    out = {"data": data, "ceiling": delete_ceiling(url) if ceiling else None}
    # The service's own retention runs are off: only the benchmark's runs.
    svc = start_service(url, env={"DS_RETENTION_INTERVAL": "0"}) if VIA_HTTP else None
    try:
        return _measure(url, out, Writes(url, rate, base_url=svc and svc.base_url))
    finally:
        if svc:
            stop_service(svc)


def _measure(url: str, out: dict, writes: Writes) -> dict:
    writes.start()
    time.sleep(2.0 + 3.0)  # warm-up, then a quiet window of up to 3 s
    t1 = time.monotonic()
    steps, record, planned = run_retention(url)
    t2 = time.monotonic()
    time.sleep(0.2)  # the writes due just before t2 finish
    writes.finish()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        out["bad"] = conn.execute("SELECT count(*) FROM datastorage.verify_chains(ARRAY(SELECT "
                                  "correlation_id FROM audit_chain_heads)) WHERE NOT is_valid"
                                  ).fetchone()[0]
    month_steps = [s for s in steps if s.get("partition") == "audit_events_2020_01"]
    rows = [s for s in steps if s["action"] == "delete"]
    out.update(
        record=record, steps=steps, seconds=t2 - t1,
        before=writes.between(t1 - min(t2 - t1, 3.0), t1), during=writes.between(t1, t2),
        # Where the tail comes from: writes due while the run planned
        # (one scan of every event), while the month was detached or
        # dropped, and while rows were deleted.
        plan=writes.between(t1, planned),
        month=[lat for s in month_steps for lat in writes.between(*s["window"])],
        rows=[lat for s in rows for lat in writes.between(*s["window"])],
        # ... and while it rested between steps (no step running).
        rest=[lat for due, lat in writes.samples if t1 <= due < t2 and due >= planned
              and not any(s["window"][0] <= due < s["window"][1] for s in steps)],
        drop_s=sum(s["seconds"] for s in month_steps) if month_steps else None,
        row_events=sum(s["events"] for s in rows), row_s=sum(s["seconds"] for s in rows),
        locked={s["action"]: s["locked_ms"] for s in month_steps if "locked_ms" in s})
    for s in steps:
        del s["window"]
    return out


def main(quick: bool = False) -> dict:
    quick = quick or quick_mode()
    month = int(os.environ.get("BENCH_RETENTION_MONTH", 0)) or (10_000 if quick else 83_000)
    # A run lasts about a second: one run's p99 would be its slowest write
    # or two. The same scenario is repeated and the writes pooled.
    runs = int(os.environ.get("BENCH_RETENTION_RUNS", 0)) or (2 if quick else 5)
    rate = float(os.environ.get("BENCH_RETENTION_RATE", 0)) or 300.0
    reps = []
    with BenchCluster() as cluster:
        for k in range(runs):
            log(f"scenario {k + 1}/{runs}")
            reps.append(scenario(cluster, month, rate, ceiling=k == 0))
    data, ceiling = reps[0]["data"], reps[0]["ceiling"]
    bad = sum(r["bad"] for r in reps)
    before = [lat for r in reps for lat in r["before"]]
    during = [lat for r in reps for lat in r["during"]]
    drops = sorted(r["drop_s"] for r in reps if r["drop_s"] is not None)
    drop_s = statistics.median(drops) if drops else None
    row_events = sum(r["row_events"] for r in reps)
    row_rate = row_events / sum(r["row_s"] for r in reps) if row_events else None
    lb, ld = latency_summary(before), latency_summary(during)
    ratio = ld["p99_ms"] / lb["p99_ms"] if before and during else None
    phases = {"plan": latency_summary([lat for r in reps for lat in r["plan"]]),
              "month": latency_summary([lat for r in reps for lat in r["month"]]),
              "rows": latency_summary([lat for r in reps for lat in r["rows"]]),
              "rest": latency_summary([lat for r in reps for lat in r["rest"]])}
    locked = {a: [r["locked"].get(a) for r in reps] for a in ("detach", "drop")}

    def span(values: list) -> str:
        v = sorted(x for x in values if x is not None)
        return f"{statistics.median(v):g} ms ({v[0]:g}–{v[-1]:g})" if v else "–"
    targets = [target("drop a fully expired month (s)", drop_s, "<", 1.0),
               target("row-wise expiry (events/s)", row_rate, ">=", 50_000),
               target("write p99 during / without retention", ratio, "<", 2.0)]
    result = {"quick": quick,
              "config": {**data, "write_rate_per_s": rate, "runs": runs, "quick": quick,
                         "writes_via": "http" if VIA_HTTP else "sql",
                         "retention_pause": PAUSE},
              "runs": [{"run": r["record"], "steps": r["steps"], "seconds": round(r["seconds"], 3),
                        "locked_ms": r["locked"], "writes_during": len(r["during"])} for r in reps],
              "delete_ceiling_events_per_s": round(ceiling),
              "drop_seconds_per_run": drops,
              "writes_before": {"n": len(before), **lb}, "writes_during": {"n": len(during), **ld},
              "writes_during_phase": phases, "locked_ms": locked,
              "chains_invalid_after": bad, "targets": targets}
    md = (f"Retention run over two months of {data['month_events']:,} events "
          f"(January expires whole, February every other chain), "
          f"single-event writes at {rate:.0f}/s throughout "
          f"({'POSTed to the service' if VIA_HTTP else 'calling the append function'}); "
          f"{runs} runs, each on a fresh "
          f"database, resting {PAUSE:g}× each step's time after it; writes pooled "
          f"({len(during):,} during the runs, {len(before):,} in "
          f"windows as long just before each):\n\n"
          + markdown_table(["measure", "value", "ceiling / baseline", "target", "met"], [
              ["drop of the expired month, detach + drop steps (s, median)", drop_s, None, "< 1",
               targets[0]["met"]],
              ["row-wise expiry (events/s)", row_rate, ceiling, "≥ 50,000", targets[1]["met"]],
              ["write p99 during retention (ms)", ld["p99_ms"], lb["p99_ms"],
               "≤ 2× baseline", targets[2]["met"]],
              ["write max during retention (ms)", ld["max_ms"], lb["max_ms"], "–", None],
          ])
          + f"\nChains failing verification afterwards: {bad}. Write p99 / max while the run "
            f"planned: {phases['plan']['p99_ms']} / {phases['plan']['max_ms']} ms; while the month "
            f"went: {phases['month']['p99_ms']} / {phases['month']['max_ms']} ms; between steps: "
            f"{phases['rest']['p99_ms']} / {phases['rest']['max_ms']} ms; while rows "
            f"went: {phases['rows']['p99_ms']} / {phases['rows']['max_ms']} ms; "
            f"writers locked out by the month's steps (to their commit), median (range) over "
            f"the runs: detach {span(locked['detach'])}, drop {span(locked['drop'])}; "
            f"load average {os.getloadavg()[0]:.2f}.\n")
    write_results(NAME + ("_http" if VIA_HTTP else ""), result, md)
    print(md)
    return result


if __name__ == "__main__":
    main()
