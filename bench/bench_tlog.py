"""The transparency log (issue 13), each number beside a ceiling measured in
the same run on the same cluster:

* append with the log vs without (the capture trigger disabled): single
  events and batches of 500, one client; target ratio >= 0.9;
* integrator: leaves/s of datastorage.tlog_integrate(50000) draining the
  outbox of the whole dataset; ceiling: a bare INSERT ... SELECT of as many
  rows into an unindexed table; target >= 50,000 leaves/s;
* lag from commit to leaf while 4 writers append at their maximum rate and
  an integrator loops as the service's does; target p99 < 2 s;
* inclusion and consistency proofs at the dataset's size (1,000,000 leaves;
  --quick: 50,000), one caller; ceiling: SELECT 1; target p99 < 5 ms;
* `log verify` (app.tlog_cli.verify_log) over the whole log; ceiling: its
  SQL part alone (same chunk queries, same connections, results dropped);
  target >= 100,000 events/s. `--only verify` builds the log once and
  compares 1 to 4 connections (two alternating rounds).

    python -m bench.bench_tlog [--quick] [--events N] [--only verify]
"""
from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import psycopg

from app import note
from app.migrate import libpq_url
from app.tlog_cli import JOBS, leaf_chunks, verify_log
from bench.common import (BenchCluster, latency_summary, log, markdown_table, quick_mode, target,
                          write_results)

NAME = "bench_tlog"
START = datetime.now(timezone.utc) - timedelta(days=2)


def rows(n: int, offset: int = 0, chains: int = 10000) -> list[dict]:
    return [{"event_id": str(uuid.uuid4()),
             "event_timestamp": (START + timedelta(milliseconds=offset + i)).isoformat(),
             "event_type": "gateway.signal.received", "event_category": "gateway",
             "event_action": "received", "event_outcome": "success", "actor_type": "service",
             "actor_id": "gateway-service", "resource_type": "gateway", "resource_id": "checkout",
             "correlation_id": f"rr-{(offset + i) % chains:06d}", "namespace": "payments",
             "severity": "warning",
             "event_data": {"signal_type": "prometheus-alert", "alert_name": "HighCPUUsage",
                            "namespace": "payments", "fingerprint": f"fp-{offset + i}",
                            "labels": {"pod": f"checkout-{i % 97}", "severity": "critical"},
                            "summary": "CPU usage exceeded 80% for 5 minutes on checkout"}}
            for i in range(n)]


def append(conn, evs: list[dict]) -> None:
    conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (json.dumps(evs),))


def append_ratio(url: str, seconds: float) -> dict:
    """Events/s with and without the capture trigger, alternating rounds."""
    out = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for label, size in (("single", 1), ("batch_500", 500)):
            rates = {"with_log": [], "without_log": []}
            for rnd in range(4):
                for mode in ("with_log", "without_log") if rnd % 2 == 0 else ("without_log", "with_log"):
                    conn.execute(f"ALTER TABLE audit_events {'ENABLE' if mode == 'with_log' else 'DISABLE'} "
                                 "TRIGGER audit_events_tlog_capture")
                    n, t0 = 0, time.perf_counter()
                    while time.perf_counter() - t0 < seconds / 4:
                        append(conn, rows(size, offset=n))
                        n += size
                    rates[mode].append(n / (time.perf_counter() - t0))
            conn.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_tlog_capture")
            w, wo = sum(rates["with_log"]) / 4, sum(rates["without_log"]) / 4
            out[label] = {"with_log_events_per_s": w, "without_log_events_per_s": wo,
                          "ratio": w / wo}
    return out


def load_dataset(url: str, n: int) -> float:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        t0 = time.perf_counter()
        for i in range(0, n, 5000):
            append(conn, rows(min(5000, n - i), offset=i))
        return n / (time.perf_counter() - t0)


def integrate_all(url: str, n: int) -> dict:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        t0 = time.perf_counter()
        done = 0
        while (k := conn.execute("SELECT datastorage.tlog_integrate(50000)").fetchone()[0]):
            done += k
        rate = done / (time.perf_counter() - t0)
        conn.execute("CREATE UNLOGGED TABLE ceiling_leaves (i bigint, e uuid, c text, h text, l bytea)")
        t0 = time.perf_counter()
        conn.execute("INSERT INTO ceiling_leaves SELECT leaf_index, event_id, correlation_id, "
                     "event_hash, leaf_hash FROM tlog_leaves")
        ceiling = done / (time.perf_counter() - t0)
        conn.execute("DROP TABLE ceiling_leaves")
    assert done == n, (done, n)
    return {"leaves": done, "leaves_per_s": rate, "ceiling_insert_rows_per_s": ceiling,
            "ratio_to_ceiling": rate / ceiling}


def lag_under_load(url: str, seconds: float) -> dict:
    """Writers append batches of 50 as fast as they can; one integrator loop
    (as LogWorker: integrate, sleep 0.2 s when the batch was not full)."""
    stop = threading.Event()
    commits: dict[str, float] = {}
    lock = threading.Lock()

    def writer(k: int):
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            i = 0
            while not stop.is_set():
                evs = rows(50, offset=10_000_000 * (k + 1) + i)
                append(conn, evs)
                t = time.time()
                with lock:
                    commits.update((e["event_id"], t) for e in evs[::10])
                i += 50

    def integrator():
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            while not stop.is_set():
                if conn.execute("SELECT datastorage.tlog_integrate(50000)").fetchone()[0] < 50000:
                    time.sleep(0.2)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    threads.append(threading.Thread(target=integrator))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        while conn.execute("SELECT datastorage.tlog_integrate(50000)").fetchone()[0]:
            pass
        got = dict(conn.execute("SELECT event_id::text, extract(epoch FROM integrated_at)::float8 "
                                "FROM tlog_leaves WHERE event_id = ANY(%s::uuid[])",
                                (list(commits),)).fetchall())
    lags = [max(0.0, got[e] - t) for e, t in commits.items() if e in got]
    return {"write_events_per_s": len(commits) * 10 / elapsed, "sampled": len(lags),
            **latency_summary(lags)}


async def _proof_latency(url: str, size: int, calls: int) -> dict:
    conn = await asyncpg.connect(url)
    try:
        ids = [r[0] for r in await conn.fetch(
            "SELECT event_id FROM tlog_leaves WHERE leaf_index = ANY($1::bigint[])",
            [random.randrange(size) for _ in range(calls)])]
        out = {}
        for label, sql, args in (
                ("select_1_ceiling", "SELECT 1", lambda i: ()),
                ("inclusion", "SELECT * FROM datastorage.tlog_event_proof($1, $2)",
                 lambda i: (ids[i % len(ids)], size)),
                ("consistency", "SELECT * FROM datastorage.tlog_consistency($1, $2)",
                 lambda i: (random.randrange(1, size), size))):
            stmt = await conn.prepare(sql)
            lat = []
            for i in range(calls):
                t0 = time.perf_counter()
                await stmt.fetch(*args(i))
                lat.append(time.perf_counter() - t0)
            out[label] = latency_summary(lat)
        return out
    finally:
        await conn.close()


def verify_rate(url: str, size: int, jobs_list=(JOBS,), rounds: int = 1) -> dict:
    """`log verify` vs its database part alone (the same chunk queries on as
    many connections, results dropped), for each number of connections;
    rounds alternate so that the machine's load falls on all alike."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        root = bytes(conn.execute("SELECT datastorage.tlog_root(%s)", (size,)).fetchone()[0])
    signer = note.Signer.generate("bench.example/log")
    cp = note.Checkpoint.parse(note.sign_checkpoint(signer, size, root).note.render(),
                               signer.verifier)
    rates: dict[int, dict[str, list[float]]] = {j: {"sql": [], "verify": []} for j in jobs_list}
    for _ in range(rounds):
        for jobs in jobs_list:
            t0 = time.perf_counter()
            n = sum(len(c.leaves) for c in leaf_chunks(url, size, jobs))
            rates[jobs]["sql"].append(n / (time.perf_counter() - t0))
            rep = verify_log(url, [cp], jobs=jobs)
            assert not rep.problems and rep.leaves == size, rep.problems
            rates[jobs]["verify"].append(rep.leaves / rep.seconds)
    out = {}
    for jobs, r in rates.items():
        v, c = max(r["verify"]), max(r["sql"])
        out[jobs] = {"events": size, "events_per_s": v, "ceiling_sql_rows_per_s": c,
                     "ratio_to_ceiling": v / c, "all_verify": r["verify"], "all_sql": r["sql"]}
    return out


def only_verify(n: int) -> dict:
    """`--only verify`: build the log once, then time `log verify` with 1-4
    connections beside its SQL part alone (two alternating rounds)."""
    with BenchCluster() as bc:
        url = bc.database("tlog")
        log(f"loading {n:,} events")
        load_dataset(url, n)
        integrate_all(url, n)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        log("log verify")
        ver = verify_rate(url, n, (1, 2, 3, 4), rounds=2)
    md = (f"log verify, {n:,} leaves (best of 2 alternating rounds)\n\n" + markdown_table(
        ["connections", "log verify, events/s", "SQL part alone, events/s", "ratio"],
        [(j, v["events_per_s"], v["ceiling_sql_rows_per_s"], v["ratio_to_ceiling"])
         for j, v in ver.items()]))
    data = {"events": n, "verify": ver, "target_events_per_s": 100_000}
    write_results(NAME + "_verify", data, md)
    print(md)
    return data


def main(quick: bool = False, events: int | None = None) -> dict:
    n = events or (50_000 if quick else 1_000_000)
    with BenchCluster() as bc:
        log("append with and without the log")
        ratio = append_ratio(bc.database("tlog_append"), 8 if quick else 40)
        url = bc.database("tlog")
        log(f"loading {n:,} events")
        load_rate = load_dataset(url, n)
        log("integrating")
        integ = integrate_all(url, n)
        log("proof latency")
        proofs = asyncio.run(_proof_latency(url, n, 500 if quick else 3000))
        log("log verify")
        ver = verify_rate(url, n)[JOBS]
        log("lag under load")
        lag = lag_under_load(url, 5 if quick else 20)
    targets = [
        target("append single with/without log", ratio["single"]["ratio"], ">=", 0.9),
        target("append batch with/without log", ratio["batch_500"]["ratio"], ">=", 0.9),
        target("integrator leaves/s", integ["leaves_per_s"], ">=", 50_000),
        target("lag commit->leaf p99 s", lag["p99_ms"] / 1000, "<", 2),
        target("inclusion proof p99 ms", proofs["inclusion"]["p99_ms"], "<", 5),
        target("consistency proof p99 ms", proofs["consistency"]["p99_ms"], "<", 5),
        target("log verify events/s", ver["events_per_s"], ">=", 100_000),
    ]
    md = (f"Transparency log, {n:,} leaves{' (quick)' if quick else ''}\n\n"
          + markdown_table(["target", "value", "op", "limit", "met"],
                           [(t["target"], t["value"], t["op"], t["limit"], t["met"]) for t in targets])
          + "\n" + markdown_table(
              ["measure", "value", "ceiling (same run)", "ratio"],
              [("append single, events/s (with log / without)", ratio["single"]["with_log_events_per_s"],
                ratio["single"]["without_log_events_per_s"], ratio["single"]["ratio"]),
               ("append batch 500, events/s (with log / without)",
                ratio["batch_500"]["with_log_events_per_s"],
                ratio["batch_500"]["without_log_events_per_s"], ratio["batch_500"]["ratio"]),
               ("integrator, leaves/s (bare INSERT ... SELECT)", integ["leaves_per_s"],
                integ["ceiling_insert_rows_per_s"], integ["ratio_to_ceiling"]),
               ("inclusion proof p99 ms (SELECT 1)", proofs["inclusion"]["p99_ms"],
                proofs["select_1_ceiling"]["p99_ms"], None),
               ("consistency proof p99 ms (SELECT 1)", proofs["consistency"]["p99_ms"],
                proofs["select_1_ceiling"]["p99_ms"], None),
               ("log verify, events/s (its SQL part alone)", ver["events_per_s"],
                ver["ceiling_sql_rows_per_s"], ver["ratio_to_ceiling"]),
               ("lag commit->leaf p50 / p99 ms at max write rate", lag["p50_ms"], lag["p99_ms"], None),
               ("write rate during the lag run, events/s", lag["write_events_per_s"], None, None),
               ("dataset load, events/s", load_rate, None, None)]))
    data = {"quick": quick, "events": n, "append": ratio, "integrator": integ, "proofs": proofs,
            "verify": ver, "lag": lag, "dataset_load_events_per_s": load_rate, "targets": targets}
    write_results(NAME, data, md)
    print(md)
    return data


if __name__ == "__main__":
    import sys
    events = int(sys.argv[sys.argv.index("--events") + 1]) if "--events" in sys.argv else None
    if "--only" in sys.argv and sys.argv[sys.argv.index("--only") + 1] == "verify":
        only_verify(events or (50_000 if quick_mode() else 1_000_000))
    else:
        main(quick_mode(), events)
