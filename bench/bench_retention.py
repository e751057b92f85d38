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
  writes   p99 of the writes due while retention ran vs. the writes due in
           an equally long window before it (same rate, same connections)
"""
from __future__ import annotations

import json
import os
import threading
import time

import psycopg

from app.events import payload, prepare
from app.migrate import libpq_url
from bench.common import (BenchCluster, audit_event, latency_summary, log, markdown_table,
                          quick_mode, target, write_results)

NAME = "retention"


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
    """Open-loop single-event appends as datastorage_app from `clients` threads."""

    def __init__(self, url: str, rate: float, clients: int = 4):
        self.url, self.rate, self.clients = url, rate, clients
        self.samples: list[tuple[float, float]] = []  # (due, latency)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(k,)) for k in range(clients)]

    def _run(self, k: int) -> None:
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            conn.execute("SET ROLE datastorage_app")
            period = self.clients / self.rate
            due = time.monotonic() + k * period / self.clients
            n = 0
            while not self.stop.is_set():
                now = time.monotonic()
                if now < due:
                    time.sleep(due - now)
                row = prepare(audit_event(f"w-{k}-{n % 50}", n=n),
                              max_event_data_bytes=1 << 20).row
                conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (payload([row]),))
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


def run_retention(url: str) -> tuple[list[dict], dict]:
    """One run as production runs it (CALL datastorage.run_retention: a
    transaction per step, its batch sizing and lock retries); each step is
    timed from the previous step's NOTICE to its own (both sent after a
    commit). Returns (steps, run record)."""
    steps: list[dict] = []
    last = [0.0]

    def notice(diag) -> None:
        now = time.monotonic()
        step = json.loads(diag.message_primary)
        if step["action"] != "plan":
            step["window"] = (last[0], now)
            step["seconds"] = now - last[0]
            steps.append(step)
        last[0] = now

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET ROLE datastorage_maintenance")
        conn.add_notice_handler(notice)
        record = conn.execute("CALL datastorage.run_retention('2020-04-01', 'bench', 10000, NULL)"
                              ).fetchone()[0]
    return steps, record


def main(quick: bool = False) -> dict:
    quick = quick or quick_mode()
    month = int(os.environ.get("BENCH_RETENTION_MONTH", 0)) or (10_000 if quick else 83_000)
    rate = 100.0
    with BenchCluster() as cluster:
        url = cluster.database()
        t = time.perf_counter()
        data = load_months(url, month)
        log(f"data loaded in {time.perf_counter() - t:.1f}s")
        ceiling = delete_ceiling(url)
        writes = Writes(url, rate).start()
        time.sleep(2.0)  # warm-up
        t0 = time.monotonic()
        time.sleep(4.0)
        t1 = time.monotonic()
        steps, record = run_retention(url)
        t2 = time.monotonic()
        writes.finish()
        # The window before: as long as the run (at least 4 s), after the warm-up.
        before = writes.between(max(t0, t1 - max(t2 - t1, 4.0)), t1)
        during = writes.between(t1, t2)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            bad = conn.execute("SELECT count(*) FROM datastorage.verify_chains(ARRAY(SELECT "
                               "correlation_id FROM audit_chain_heads)) WHERE NOT is_valid"
                               ).fetchone()[0]
    jan = [s for s in steps if s.get("partition") == "audit_events_2020_01"]
    rows = [s for s in steps if s["action"] == "delete"]
    drop_s = sum(s["seconds"] for s in jan) if jan else None
    row_events = sum(s["events"] for s in rows)
    row_rate = row_events / sum(s["seconds"] for s in rows) if rows else None
    lb, ld = latency_summary(before), latency_summary(during)
    ratio = ld["p99_ms"] / lb["p99_ms"] if before and during else None

    def due_in(kind: list[dict]) -> list[float]:
        return [lat for s in kind for lat in writes.between(*s["window"])]
    # Where the tail comes from: writes due while a month was detached or
    # dropped, and while rows were deleted.
    phases = {"month": latency_summary(due_in(jan)), "rows": latency_summary(due_in(rows))}
    for s in steps:
        del s["window"]
    locked = ", ".join(f"{s['action']} {s['locked_ms']} ms" for s in jan if "locked_ms" in s) or "–"
    targets = [target("drop a fully expired month (s)", drop_s, "<", 1.0),
               target("row-wise expiry (events/s)", row_rate, ">=", 50_000),
               target("write p99 during / without retention", ratio, "<", 2.0)]
    result = {"quick": quick, "config": {**data, "write_rate_per_s": rate, "quick": quick},
              "run": record, "steps": steps, "delete_ceiling_events_per_s": round(ceiling),
              "writes_before": {"n": len(before), **lb}, "writes_during": {"n": len(during), **ld},
              "writes_during_phase": phases,
              "chains_invalid_after": bad, "targets": targets}
    md = (f"Retention run over two months of {data['month_events']:,} events "
          f"(January expires whole, February every other chain), "
          f"single-event writes at {rate:.0f}/s throughout:\n\n"
          + markdown_table(["measure", "value", "ceiling / baseline", "target", "met"], [
              ["drop of the expired month, detach + drop steps (s)", drop_s, None, "< 1",
               targets[0]["met"]],
              ["row-wise expiry (events/s)", row_rate, ceiling, "≥ 50,000", targets[1]["met"]],
              ["write p99 during retention (ms)", ld["p99_ms"], lb["p99_ms"],
               "≤ 2× baseline", targets[2]["met"]],
          ])
          + f"\nEvents removed: {record['events_deleted']:,} ({row_events:,} row by row); "
            f"chains failing verification afterwards: {bad}. Write p99 / max while the month "
            f"went: {phases['month']['p99_ms']} / {phases['month']['max_ms']} ms; while rows "
            f"went: {phases['rows']['p99_ms']} / {phases['rows']['max_ms']} ms; "
            f"writers locked out by the month's steps (to their commit): {locked}; "
            f"load average {os.getloadavg()[0]:.2f}.\n")
    write_results(NAME, result, md)
    print(md)
    return result


if __name__ == "__main__":
    main()
