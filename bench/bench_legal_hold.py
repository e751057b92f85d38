"""Legal hold on a 10,000-event chain (issue 8): `python -m bench.bench_legal_hold`.

On the generated dataset (bench/generate_data.py, 1M events; its chain
rr-000000 is a flapping alert of 10,000 events spread over four weeks, in two
or three monthly partitions), one request at a time:

  HTTP  POST /api/v1/audit/legal-hold (place), then
        DELETE /api/v1/audit/legal-hold/{id} (release), alternately
  SQL   datastorage.place_legal_hold / release_legal_hold over asyncpg
        (role datastorage_app): the ceiling, the same function without HTTP
  HTTP ceiling  GET /health/live

Placing a hold updates every event of the chain (legal-hold columns) and
records the placement; its cost is per event, so µs/event is shown too. The
UPDATE it runs is also timed alone (superuser, rolled back), with the
immutability trigger on and off, to show where the time goes.
The paths are interleaved round by round, each step after a VACUUM of the
chain's partitions (untimed), so every one meets the same table state and
the same background load; the hold is released at the end and the chain
still verifies (holds are outside the hash).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import asyncpg
import httpx
import psycopg

from app.migrate import libpq_url
from bench.common import (latency_summary, log, markdown_table, quick_mode, run_async,
                          start_service, stop_service, write_results)
from bench.generate_data import open_dataset, sizes

NAME = "legal_hold"
USER = {"X-Auth-Request-User": "bench-legal@example.com"}


def vacuum_chain(url: str, cid: str) -> list[str]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        parts = [r[0] for r in conn.execute(
            "SELECT DISTINCT tableoid::regclass::text FROM audit_events WHERE correlation_id = %s",
            (cid,))]
        for p in parts:
            conn.execute(f"VACUUM {p}")
        conn.execute("VACUUM audit_chain_heads")
        return parts


def summary(label: str, how: str, place: list[float], release: list[float], events: int
            ) -> list[dict]:
    out = []
    for op, xs in (("place", place), ("release", release)):
        s = latency_summary(xs)
        out.append({"label": label, "how": how, "operation": op, "calls": len(xs),
                    **s, "us_per_event": round(statistics.median(xs) * 1e6 / events, 1)
                    if xs else None})
    return out


def http_cycles(base_url: str, cid: str, cycles: int) -> tuple[list[float], list[float], dict]:
    place, release, statuses = [], [], {}
    with httpx.Client(base_url=base_url, timeout=120, headers=USER) as client:
        for i in range(cycles):
            t = time.perf_counter()
            r = client.post("/api/v1/audit/legal-hold",
                            json={"correlation_id": cid, "reason": f"litigation bench {i}"})
            place.append(time.perf_counter() - t)
            statuses[f"place {r.status_code}"] = statuses.get(f"place {r.status_code}", 0) + 1
            t = time.perf_counter()
            r = client.request("DELETE", f"/api/v1/audit/legal-hold/{cid}",
                               json={"release_reason": "bench cycle done"})
            release.append(time.perf_counter() - t)
            statuses[f"release {r.status_code}"] = statuses.get(f"release {r.status_code}", 0) + 1
    return place, release, statuses


def sql_cycles(url: str, cid: str, cycles: int) -> tuple[list[float], list[float]]:
    async def run():
        conn = await asyncpg.connect(url, server_settings={"role": "datastorage_app",
                                                            "timezone": "UTC"})
        place, release = [], []
        try:
            for i in range(cycles):
                t = time.perf_counter()
                await conn.fetchval("SELECT datastorage.place_legal_hold($1, $2, $3)", cid,
                                    f"litigation bench {i}", "bench-legal@example.com")
                place.append(time.perf_counter() - t)
                t = time.perf_counter()
                await conn.fetchval("SELECT datastorage.release_legal_hold($1, $2, $3)", cid,
                                    "bench cycle done", "bench-legal@example.com")
                release.append(time.perf_counter() - t)
        finally:
            await conn.close()
        return place, release
    return run_async(run())


# The statement place_legal_hold() spends its time in, run alone (superuser,
# rolled back): with the immutability trigger, and with it disabled, which
# splits the cost between the per-row trigger and the row/index writes.
RAW_UPDATE = """UPDATE audit_events SET legal_hold = true, legal_hold_reason = %s,
                   legal_hold_placed_by = 'bench', legal_hold_placed_at = clock_timestamp()
                WHERE correlation_id = %s"""


def raw_updates(url: str, cid: str, cycles: int, trigger: bool) -> list[float]:
    out = []
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for i in range(cycles):
            conn.execute("BEGIN")
            try:
                if not trigger:
                    conn.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable")
                t = time.perf_counter()
                conn.execute(RAW_UPDATE, (f"raw {i}", cid))
                out.append(time.perf_counter() - t)
            finally:
                conn.execute("ROLLBACK")
    return out


def live_latency(base_url: str, n: int) -> list[float]:
    out = []
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for _ in range(n):
            t = time.perf_counter()
            client.get("/health/live")
            out.append(time.perf_counter() - t)
    return out


def main(quick: bool = False, *, cycles: int | None = None) -> dict:
    cycles = cycles or (3 if quick else 12)
    size = sizes(quick)
    rows: list[dict] = []
    with open_dataset(size["events"], size["chains"], size["months"],
                      long_chain=size["long_chain"]) as ds:
        cid = ds.long_chain_id
        n = ds.lengths()[0]
        with psycopg.connect(libpq_url(ds.url), autocommit=True) as conn:
            held = conn.execute("SELECT legal_hold FROM audit_chain_heads WHERE correlation_id "
                                "= %s", (cid,)).fetchone()[0]
            if held:  # a previous run stopped half way
                conn.execute("SELECT datastorage.release_legal_hold(%s, 'bench reset', "
                             "'bench')", (cid,))
        parts = vacuum_chain(ds.url, cid)
        log(f"chain {cid}: {n:,} events in {parts}; {cycles} rounds")
        svc = start_service(ds.url, workers=1)
        try:
            # Warm-up (untimed): caches, the service's pool and prepared plans.
            sql_cycles(ds.url, cid, 1)
            http_cycles(svc.base_url, cid, 1)
            # Rounds interleave the paths (order rotating), each after a VACUUM
            # of the chain's partitions: every path meets the same table state
            # and the same background load.
            t: dict[str, list[float]] = {k: [] for k in ("sql_place", "sql_release", "http_place",
                                                          "http_release", "raw_on", "raw_off")}
            statuses: dict = {}
            for i in range(cycles):
                steps = ["sql", "http", "raw_on", "raw_off"]
                for step in steps[i % 4:] + steps[:i % 4]:
                    vacuum_chain(ds.url, cid)
                    if step == "sql":
                        place, release = sql_cycles(ds.url, cid, 1)
                    elif step == "http":
                        place, release, st = http_cycles(svc.base_url, cid, 1)
                        for k, v in st.items():
                            statuses[k] = statuses.get(k, 0) + v
                    else:
                        t[step] += raw_updates(ds.url, cid, 1, trigger=step == "raw_on")
                        continue
                    t[f"{step}_place"] += place
                    t[f"{step}_release"] += release
            rows += summary("SQL function (asyncpg, datastorage_app)", "sql", t["sql_place"],
                            t["sql_release"], n)
            rows += summary("HTTP (1 worker)", "http", t["http_place"], t["http_release"], n)
            for key, state in (("raw_on", "on"), ("raw_off", "off")):
                rows += summary(f"plain UPDATE, immutability trigger {state} (superuser, "
                                "rolled back)", "raw", t[key], [], n)[:1]
                rows[-1]["operation"] = "its UPDATE alone"
            for r in rows:
                log(f"    {r['label']} {r['operation']}: p50 {r['p50_ms']} ms")
            live = latency_summary(live_latency(svc.base_url, 200))
        finally:
            stop_service(svc)
        vacuum_chain(ds.url, cid)
        with psycopg.connect(libpq_url(ds.url), autocommit=True) as conn:
            valid, total = conn.execute("SELECT is_valid, total_events FROM "
                                        "datastorage.verify_chain_summary(%s)", (cid,)).fetchone()
            still_held = conn.execute("SELECT count(*) FROM audit_events WHERE correlation_id = "
                                      "%s AND legal_hold", (cid,)).fetchone()[0]
        dataset = {k: ds.meta.get(k) for k in ("database", "events", "chains", "months")}
    for r in rows:  # beside the SQL function alone, same operation
        op = "place" if r["how"] == "raw" else r["operation"]
        ceiling = next(c for c in rows if c["how"] == "sql" and c["operation"] == op)
        r["vs_sql_p50"] = round(r["p50_ms"] / ceiling["p50_ms"], 3) if ceiling["p50_ms"] else None
    checks = {"statuses": statuses, "chain_valid_after": valid, "chain_events": total,
              "events_still_held": still_held, "partitions": parts}
    config = {"quick": quick, "cycles": cycles, "chain": cid, "chain_events": n,
              "dataset": dataset, "service": "1 worker"}
    md = render(rows, live, config, checks)
    doc = {"config": config, "rows": rows, "health_live": live,
           "checks": checks, "markdown": md,
           "command": "python -m bench.bench_legal_hold" + (" --quick" if quick else "")}
    path = write_results(NAME, doc, md)
    print(md)
    log(f"results: {path}")
    return doc


def render(rows, live, config, checks) -> str:
    out = [f"### Legal hold on a {config['chain_events']:,}-event chain "
           f"({config['dataset']['events']:,}-event dataset, {config['cycles']} rounds: one "
           "place + release per path, interleaved, one request at a time)\n\n",
           markdown_table(["path", "operation", "p50 ms", "p99 ms", "max ms",
                           "µs/event (p50)", "p50 / SQL p50"],
                          [[r["label"], r["operation"], r["p50_ms"], r["p99_ms"], r["max_ms"],
                            r["us_per_event"], r["vs_sql_p50"]] for r in rows]
                          + [["HTTP ceiling: GET /health/live", "–", live["p50_ms"],
                              live["p99_ms"], live["max_ms"], None, None]]),
           f"\nAfter the run: chain valid {checks['chain_valid_after']} "
           f"({checks['chain_events']:,} events), events still held "
           f"{checks['events_still_held']}; HTTP outcomes {checks['statuses']}.\n"]
    return "".join(out)


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_legal_hold",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the small dataset, 3 rounds")
    ap.add_argument("--cycles", type=int, help="rounds (one place + release per path each)")
    a = ap.parse_args(argv)
    main(quick=a.quick or quick_mode([]), cycles=a.cycles)


if __name__ == "__main__":
    cli(sys.argv[1:])
