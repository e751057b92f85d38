"""Audit write benchmark (issue 3, "Performance"): `python -m bench.bench_write`.

One run, one private cluster, every number beside its ceiling:

  (a) ceiling   pgbench -M prepared, 64 clients, one event per call of
                datastorage.append_audit_events(jsonb) over 1,000 correlation
                ids (event ids from gen_random_uuid() in the script), and the
                same call from 64 direct asyncpg connections. Also the hot-chain
                and 500-event batch ceilings, so that (b-hot) and (c) have one.
  (b) HTTP      single-event POST /api/v1/audit/events, 64 keep-alive
                connections, 1,000 correlation ids; then ONE hot id.
  (c) HTTP      POST /api/v1/audit/events/batch, 500 events per request.
  open loop     single events at half of (b)'s maximum rate: p99 from the
                moment each request was due.

The rows the ceilings send are built by app.events.prepare() from the same
event the HTTP phases post, so both paths store identical content. The
service runs as deployed (`datastorage serve --workers N`, default pool);
pgbench and asyncpg connect as role datastorage_app like the service's pool.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import uuid

import orjson
import psycopg

from app import events
from app.migrate import libpq_url
from bench.common import (BenchCluster, CpuMeter, LoadResult, RssSampler,
                          asyncpg_load, audit_event, collapsed_summary, correlation_ids,
                          generator_ceiling, http_load, http_request, log, markdown_table,
                          py_spy_record, quick_mode, results_dir, run_pgbench, sanic_workers,
                          sql_literal, start_service, stop_service, target, write_results)

NAME = "write"
APPEND_SQL = "SELECT * FROM datastorage.append_audit_events($1)"  # what app.db.call sends
SINGLE = "/api/v1/audit/events"
BATCH = "/api/v1/audit/events/batch"
MAX_EVENT_DATA = 1 << 20


def template_row(cid: str, n: int = 0) -> dict:
    """The row the service would store for audit_event(cid, n=n)."""
    return events.prepare(audit_event(cid, n=n), max_event_data_bytes=MAX_EVENT_DATA).row


def pgbench_script(prefix: str, n_ids: int) -> str:
    """One event per transaction: the template row with a fresh event id and a
    random chain out of n_ids (a single chain when n_ids == 1)."""
    row = template_row(f"{prefix}-0")
    for k in ("event_id", "correlation_id", "resource_id"):
        row.pop(k)
    cid = "'" + prefix + "-' || :c" if n_ids > 1 else sql_literal(f"{prefix}-0")
    # pgbench reads every `:word` as a variable, even inside a literal: the
    # structural colons get a space after them, the ones inside strings
    # (times) become \u003a, which jsonb decodes back to the same value.
    text = re.sub(r":(?=\w)", r"\\u003a", json.dumps(row, separators=(", ", ": ")))
    return (f"\\set c random(0, {n_ids - 1})\n"
            "SELECT datastorage.append_audit_events(jsonb_build_array("
            f"{sql_literal(text)}::jsonb || jsonb_build_object("
            f"'event_id', gen_random_uuid(), 'correlation_id', {cid}, "
            f"'resource_id', {cid})));\n")


def chain_order(n_ids: int, length: int = 20000, seed: int = 3) -> list[int]:
    """Chain of request i = order[i % length]: uniformly random like pgbench's
    `random(0, n-1)`, so that the HTTP and asyncpg phases meet the same chain
    lock collisions as pgbench (consecutive ids would never collide)."""
    if n_ids == 1:
        return [0]
    rng = random.Random(seed)
    return [rng.randrange(n_ids) for _ in range(length)]


def single_payloads(prefix: str, n_ids: int):
    """args(i) for the asyncpg driver: request i appends one event to a random chain."""
    base = template_row(f"{prefix}-0")
    order = chain_order(n_ids)

    def args(i: int) -> tuple:
        cid = f"{prefix}-{order[i % len(order)]}"
        row = {**base, "event_id": str(uuid.uuid4()), "correlation_id": cid, "resource_id": cid}
        return (events.payload([row]),)
    return args


def batch_events(prefix: str, k: int, size: int, chains: int) -> list[dict]:
    """Batch number k: `size` events over `chains` consecutive chains of the
    1,000 (a controller flushing its buffer touches a handful of requests)."""
    per = max(1, size // chains)
    return [audit_event(f"{prefix}-{(k * chains + j // per) % 1000}", n=j) for j in range(size)]


def batch_payloads(prefix: str, size: int, chains: int):
    """args(i): batch i % 20 with fresh event ids (rows prepared once, up front)."""
    prepared = [[events.prepare(ev, max_event_data_bytes=MAX_EVENT_DATA).row
                 for ev in batch_events(prefix, k, size, chains)] for k in range(20)]

    def args(i: int) -> tuple:
        return (events.payload([{**row, "event_id": str(uuid.uuid4())}
                                for row in prepared[i % 20]]),)
    return args


def row_of(label: str, res: LoadResult, *, ceiling: float | None = None, rss: dict | None = None,
           note: str = "") -> dict:
    d = res.to_dict()
    d.update(label=label, note=note)
    if ceiling:
        d["vs_ceiling"] = round(res.rate * res.items_per_request / ceiling, 3)
    if rss:
        d["rss"] = rss
    return d


def check_statuses(label: str, res: LoadResult, expected: int) -> None:
    other = {s: n for s, n in res.statuses.items() if s != expected}
    if other or res.errors or not res.completed:
        log(f"WARNING {label}: statuses {res.statuses}, errors {res.errors}")


def main(quick: bool = False, *, workers: int = 1, clients: int = 64, batch_clients: int = 8,
         batch_size: int = 500, duration: float | None = None, warmup: float | None = None,
         durable: bool | None = None) -> dict:
    duration = duration or (2.0 if quick else 10.0)
    warmup = warmup if warmup is not None else (0.5 if quick else 2.0)
    n_ids = 1000
    phases: list[dict] = []
    with BenchCluster(durable=durable) as pg:
        url = pg.database("bench_write")
        pg_pid = pg.postmaster_pid()
        log(f"cluster ready ({pg.settings}); {duration:.0f}s per phase after {warmup:.1f}s warm-up")

        def pgbench(prefix: str, chains: int, n: int = clients) -> LoadResult:
            with CpuMeter(postgres=pg_pid) as m:
                res = run_pgbench(url, pgbench_script(prefix, chains), clients=n,
                                  duration=duration)
            return m.into(res, client=res.client_cpu_s)

        def direct(args, n: int, items: int = 1) -> LoadResult:
            with CpuMeter(postgres=pg_pid) as m:
                res = asyncpg_load(url, APPEND_SQL, args, clients=n, duration=duration,
                                   warmup=warmup, items_per_request=items)
            return m.into(res)

        # The service runs during the ceilings too: its background work (the
        # transparency log's integrator turns every stored event into a leaf,
        # whoever stored it) then weighs on both sides alike, instead of the
        # ceilings' events being integrated during the HTTP phases.
        svc = start_service(url, workers=workers)
        try:
            # (a) ceilings on the same cluster.
            log("(a) pgbench, 1,000 chains")
            pgb = pgbench("pg", n_ids)
            phases.append(row_of("(a) pgbench append, 1,000 chains", pgb))
            log(f"    {pgb.rate:,.0f} events/s")
            # The service reaches PostgreSQL through a pool (DS_POOL_MAX per worker):
            # pgbench with that many clients is the ceiling for the same concurrency.
            pool = 16 * workers
            pgb_pool = pgbench("pgpool", n_ids, n=pool)
            phases.append(row_of(f"(a) pgbench append, 1,000 chains, {pool} clients (= pool)",
                                 pgb_pool))
            log(f"    {pgb_pool.rate:,.0f} events/s with {pool} clients")
            log("(a) pgbench, one hot chain (64 clients, then 1)")
            pgb_hot = pgbench("pghot", 1)
            phases.append(row_of("(a) pgbench append, 1 hot chain", pgb_hot))
            # Appends to one chain serialise on its head row; 64 waiters on one row
            # lock can do worse than one client in a loop, the other candidate ceiling.
            pgb_hot1 = pgbench("pghot1", 1, n=1)
            phases.append(row_of("(a) pgbench append, 1 hot chain, 1 client", pgb_hot1))
            hot_ceiling = max(pgb_hot.rate, pgb_hot1.rate)
            log("(a) asyncpg direct, 1,000 chains")
            apg = direct(single_payloads("apg", n_ids), clients)
            phases.append(row_of("(a) asyncpg append, 1,000 chains", apg,
                                 ceiling=pgb.rate, note="vs pgbench"))
            log(f"    {apg.rate:,.0f} events/s")
            apg_pool = direct(single_payloads("apgpool", n_ids), pool)
            phases.append(row_of(f"(a) asyncpg append, 1,000 chains, {pool} connections (= pool)",
                                 apg_pool))
            log(f"    {apg_pool.rate:,.0f} events/s with {pool} connections")
            log(f"(a) asyncpg direct, batches of {batch_size}")
            apg_batch = direct(batch_payloads("apgb", batch_size, 50), batch_clients, batch_size)
            phases.append(row_of(f"(a) asyncpg append, batches of {batch_size}", apg_batch))
            log(f"    {apg_batch.rate * batch_size:,.0f} events/s")

            def http(reqs, n: int, items: int = 1, rate: float | None = None,
                     seconds: float = duration) -> tuple[LoadResult, dict]:
                with RssSampler(svc.proc.pid) as rss, \
                        CpuMeter(service=svc.proc.pid, postgres=pg_pid) as m:
                    res = http_load(svc.base_url, reqs, clients=n, duration=seconds,
                                    warmup=warmup, rate=rate, items_per_request=items)
                return m.into(res), rss.summary()

            log("load generator ceiling (null server) and HTTP ceiling (/health/live)")
            gen = generator_ceiling(clients=clients, duration=min(duration, 5), warmup=warmup)
            phases.append(row_of("generator ceiling: null HTTP server", gen))
            live, rss = http([http_request("GET", "/health/live")], clients,
                             seconds=min(duration, 5))
            phases.append(row_of("HTTP ceiling: GET /health/live", live, rss=rss))
            log(f"    generator {gen.rate:,.0f} req/s, /health/live {live.rate:,.0f} req/s")

            # (b) single events, 1,000 chains (random, like pgbench's).
            cids = correlation_ids("http", n_ids)
            singles = [http_request("POST", SINGLE, orjson.dumps(audit_event(cids[c], n=i)))
                       for i, c in enumerate(chain_order(n_ids))]
            log("(b) HTTP single events, 1,000 chains")
            b, rss = http(singles, clients)
            check_statuses("(b)", b, 201)
            phases.append(row_of("(b) HTTP single event, 1,000 chains", b, ceiling=pgb.rate,
                                 rss=rss, note="vs pgbench"))
            log(f"    {b.rate:,.0f} events/s ({b.rate / pgb.rate:.2f} of pgbench)")

            b_pool, rss = http(singles, pool)
            check_statuses("(b-pool)", b_pool, 201)
            phases.append(row_of(f"(b) HTTP single event, 1,000 chains, {pool} connections",
                                 b_pool, ceiling=apg_pool.rate, rss=rss, note="vs asyncpg, same"))
            log(f"    {b_pool.rate:,.0f} events/s with {pool} connections")

            log("(b) HTTP single events, one hot chain")
            hot = [http_request("POST", SINGLE, orjson.dumps(audit_event("http-hot", n=i)))
                   for i in range(100)]
            bh, rss = http(hot, clients)
            check_statuses("(b-hot)", bh, 201)
            phases.append(row_of("(b) HTTP single event, 1 hot chain", bh, ceiling=hot_ceiling,
                                 rss=rss, note="vs best pgbench hot"))
            log(f"    {bh.rate:,.0f} events/s")

            log(f"(c) HTTP batches of {batch_size}")
            batches = [http_request("POST", BATCH, orjson.dumps(
                batch_events("httpb", k, batch_size, 50))) for k in range(20)]
            c, rss = http(batches, batch_clients, batch_size)
            check_statuses("(c)", c, 201)
            phases.append(row_of(f"(c) HTTP batch of {batch_size}", c,
                                 ceiling=apg_batch.rate * batch_size, rss=rss,
                                 note="vs asyncpg batch"))
            log(f"    {c.rate * batch_size:,.0f} events/s")

            half = b.rate / 2
            log(f"open loop at half of (b)'s maximum: {half:,.0f} requests/s")
            ol, rss = http(singles, clients, rate=half)
            check_statuses("open loop", ol, 201)
            phases.append(row_of("open loop: single events at half max", ol, rss=rss,
                                 note="latency from due time"))
            log(f"    p99 {ol.to_dict()['p99_ms']} ms")
            rss_all = [p["rss"] for p in phases if "rss" in p]
        finally:
            stop_service(svc)

        log("(a) pgbench again (drift check)")
        pgb2 = pgbench("pg", n_ids)
        phases.append(row_of("(a) pgbench append, 1,000 chains, after", pgb2,
                             ceiling=pgb.rate, note="vs first run"))
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            stored = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
            hot_ok = conn.execute("SELECT is_valid, total_events FROM "
                                  "datastorage.verify_chain_summary('http-hot')").fetchone()
            # Group commit at work: the events one append call stored share
            # its transaction id. Single-event phases only (chains http-*).
            grouped = conn.execute(
                "SELECT count(*), count(DISTINCT xmin::text) FROM audit_events "
                "WHERE correlation_id LIKE 'http-%'").fetchone()
        pg_settings = pg.settings

    worker_peak = max(r["worker_peak_mb"] for r in rss_all)
    ceiling = (pgb.rate + pgb2.rate) / 2
    ratio = b.rate / ceiling if ceiling else None
    cores = os.cpu_count() or 1
    # Contention-independent view: what each path costs in CPU per event, and
    # the ratio an otherwise idle machine would show if CPU is the limit.
    server_cpu = {name: cpu_per_event(res) for name, res in
                  (("pgbench", pgb), ("pgbench_after", pgb2), ("http_single", b),
                   ("http_batch", c), ("asyncpg_batch", apg_batch))}
    server_cpu["pgbench_pool"] = cpu_per_event(pgb_pool)
    pgb_cpu = min(x or 1e9 for x in (server_cpu["pgbench"], server_cpu["pgbench_after"],
                                     server_cpu["pgbench_pool"]))
    projected = {
        "ratio_b_over_a": round(pgb_cpu / server_cpu["http_single"], 3)
        if server_cpu["http_single"] else None,
        "http_single_events_per_s": round(cores * 1e6 / server_cpu["http_single"])
        if server_cpu["http_single"] else None,
        "http_batch_events_per_s": round(cores * 1e6 / server_cpu["http_batch"])
        if server_cpu["http_batch"] else None,
        "basis": f"{cores} cores / (service + PostgreSQL CPU us per event); pgbench: "
                 "PostgreSQL CPU only, cheapest of its runs; load generators excluded",
    }
    targets = [
        target("(b) single events, 1,000 chains / (a) pgbench (mean of both runs)", ratio,
               ">=", 0.6),
        target("(b) single events / (a) asyncpg direct", b.rate / apg.rate if apg.rate else None,
               ">=", 0.6),
        target("(b) single events / best (a) pgbench (64 clients or pool-sized)",
               b.rate / max(ceiling, pgb_pool.rate), ">=", 0.6),
        target("(b)/(a) projected from CPU per event (idle machine)",
               projected["ratio_b_over_a"], ">=", 0.6),
        target(f"(c) batch of {batch_size}: events/s", c.rate * batch_size, ">=", 20000),
        target("(c) projected from CPU per event (idle machine), events/s",
               projected["http_batch_events_per_s"], ">=", 20000),
        target("p99 at half the maximum load (open loop), ms", ol.to_dict()["p99_ms"], "<", 50),
        target("RSS per worker (peak over all phases), MB", worker_peak, "<", 200),
        # Issue 15: the HTTP layer within 0.8 of the SQL it calls, same concurrency.
        target(f"issue 15: (b) / (a) asyncpg direct, {clients} connections",
               b.rate / apg.rate if apg.rate else None, ">=", 0.8),
        target(f"issue 15: (b) / (a) asyncpg direct, {pool} connections (= pool)",
               b_pool.rate / apg_pool.rate if apg_pool.rate else None, ">=", 0.8),
        target(f"issue 15: (c) / (a) asyncpg batches of {batch_size}",
               c.rate / apg_batch.rate if apg_batch.rate else None, ">=", 0.8),
        target("issue 15: p99 at half the maximum load (open loop), ms",
               ol.to_dict()["p99_ms"], "<", 20),
    ]
    config = {"workers": workers, "clients": clients, "batch_clients": batch_clients,
              "batch_size": batch_size, "batch_chains": 50, "correlation_ids": n_ids,
              "duration_s": duration, "warmup_s": warmup, "quick": quick, "cpus": cores,
              "postgres": pg_settings, "service_pool_max": "default (DS_POOL_MAX=16 per worker)"}
    checks = {"events_stored": stored, "hot_chain_valid": hot_ok[0],
              "hot_chain_events": hot_ok[1],
              "http_single_events_per_append_call": round(grouped[0] / grouped[1], 2)
              if grouped[1] else None}
    md = render(phases, targets, config, checks)
    doc = {"config": config, "phases": phases, "targets": targets, "checks": checks,
           "ratio_b_over_a": round(ratio, 3) if ratio else None,
           "server_cpu_us_per_event": server_cpu, "projected": projected,
           "command": "python -m bench.bench_write" + (" --quick" if quick else ""),
           "markdown": md}
    path = write_results(NAME, doc, md)
    print(md)
    log(f"results: {path}")
    return doc


def cpu_per_event(res: LoadResult) -> float | None:
    """Server-side CPU microseconds per event: service + PostgreSQL."""
    per = res.to_dict().get("cpu_us_per_item") or {}
    if "postgres" not in per:
        return None
    return round(per.get("service", 0.0) + per["postgres"], 1)


def render(phases: list[dict], targets: list[dict], config: dict, checks: dict) -> str:
    rows = []
    for p in phases:
        rss = p.get("rss") or {}
        cpu = p.get("cpu_us_per_item") or {}
        rows.append([p["label"], p["clients"], p["items_per_s"], p["requests_per_s"],
                     p["p50_ms"], p["p99_ms"],
                     " + ".join(f"{cpu[k]:.0f}" for k in ("service", "postgres") if k in cpu)
                     + (f" ({cpu['client']:.0f})" if "client" in cpu else "") or None,
                     f"{p['vs_ceiling']:.2f} {p['note']}" if "vs_ceiling" in p else p["note"],
                     f"{rss['worker_peak_mb']} / {rss['total_peak_mb']}" if rss else None,
                     ", ".join(f"{k}: {v}" for k, v in p["statuses"].items())
                     + ("; errors " + str(p["errors"]) if p["errors"] else "")])
    out = [f"### Audit writes ({config['workers']} worker(s), {config['clients']} connections, "
           f"{config['duration_s']:.0f} s per phase; PostgreSQL {config['postgres']})\n",
           markdown_table(["phase", "clients", "events/s", "requests/s", "p50 ms", "p99 ms",
                           "CPU µs/event: service + PG (client)", "ratio",
                           "RSS MB worker / tree", "outcomes"], rows),
           "\n", markdown_table(["target", "value", "limit", "met"],
                                [[t["target"], t["value"], f"{t['op']} {t['limit']}", t["met"]]
                                 for t in targets]),
           f"\nStored {checks['events_stored']:,} events; hot chain "
           f"{checks['hot_chain_events']:,} events, verify_chain_summary valid: "
           f"{checks['hot_chain_valid']}. HTTP single events per append call (group "
           f"commit, from the events' transaction ids): "
           f"{checks['http_single_events_per_append_call']}.\n"]
    return "".join(out)


def ratios(quick: bool = False, *, rounds: int = 3, duration: float | None = None,
           clients: int = 64, pool: int = 16, batch_clients: int = 8,
           batch_size: int = 500, only: str | None = None) -> dict:
    """The issue-15 ratios, each service phase beside its ceiling measured
    right before or after it (the order alternates by round), in several
    rounds: on a shared machine whose load swings by 2-3x within minutes,
    a ceiling measured minutes earlier says little. Reports every round's
    ratio and the median. Writes write_ratios.{json,md}; with `only`
    ("single" or "batch") just those pairs (the open loop needs "single"),
    into write_ratios_<only>.{json,md}."""
    duration = duration or (2.0 if quick else 5.0)
    warmup = 0.5 if quick else 1.0
    results: dict[str, list[dict]] = {}
    with BenchCluster() as pg:
        url = pg.database("bench_write_ratios")
        pg_pid = pg.postmaster_pid()
        svc = start_service(url)
        try:
            cids = correlation_ids("http", 1000)
            singles = [http_request("POST", SINGLE, orjson.dumps(audit_event(cids[c], n=i)))
                       for i, c in enumerate(chain_order(1000))]
            batches = [http_request("POST", BATCH, orjson.dumps(
                batch_events("httpb", k, batch_size, 50))) for k in range(20)]

            def direct(args, n: int, items: int = 1, rate: float | None = None) -> LoadResult:
                with CpuMeter(postgres=pg_pid) as m:
                    res = asyncpg_load(url, APPEND_SQL, args, clients=n, duration=duration,
                                       warmup=warmup, items_per_request=items, rate=rate)
                return m.into(res)

            def http(reqs, n: int, items: int = 1, rate: float | None = None) -> LoadResult:
                with CpuMeter(service=svc.proc.pid, postgres=pg_pid) as m:
                    res = http_load(svc.base_url, reqs, clients=n, duration=duration,
                                    warmup=warmup, rate=rate, items_per_request=items)
                return m.into(res)

            pairs = [
                (f"single events, {pool} connections (= pool)",
                 lambda r: direct(single_payloads(f"apool{r}", 1000), pool),
                 lambda r: http(singles, pool)),
                (f"single events, {clients} connections",
                 lambda r: direct(single_payloads(f"a{r}", 1000), clients),
                 lambda r: http(singles, clients)),
                (f"batches of {batch_size}, {batch_clients} connections",
                 lambda r: direct(batch_payloads(f"ab{r}", batch_size, 50), batch_clients,
                                  batch_size),
                 lambda r: http(batches, batch_clients, batch_size)),
            ]
            if only is not None:
                pairs = [p for p in pairs if p[0].startswith(only)]
            for r in range(rounds):
                for name, ceiling, service in pairs:
                    log(f"round {r + 1}/{rounds}: {name}")
                    if r % 2 == 0:
                        a, b = ceiling(r), service(r)
                    else:
                        b, a = service(r), ceiling(r)
                    da, db = a.to_dict(), b.to_dict()
                    cpu_a = da["cpu_us_per_item"]["postgres"]
                    cpu_b = db["cpu_us_per_item"]["service"] + db["cpu_us_per_item"]["postgres"]
                    results.setdefault(name, []).append(
                        {"ceiling": da, "service": db,
                         "ratio": round(b.rate / a.rate, 3) if a.rate else None,
                         # Where the cores are the limit (a quiet machine), the rates
                         # go inversely with the server CPU each path needs per event.
                         "cpu_projected_ratio": round(cpu_a / cpu_b, 3) if cpu_b else None})
                    log(f"    asyncpg {a.rate * a.items_per_request:,.0f} events/s, HTTP "
                        f"{b.rate * b.items_per_request:,.0f} events/s: {b.rate / a.rate:.2f}")
            ol = ol_ceiling = None
            if only in (None, "single"):
                # Open loop at half the maximum single-event rate (64 connections).
                best = sorted(x["service"]["requests_per_s"]
                              for x in results[pairs[1][0]])[rounds // 2]
                log(f"open loop at half the maximum: {best / 2:,.0f} requests/s")
                ol = http(singles, clients, rate=best / 2).to_dict()
                ol_ceiling = direct(single_payloads("aol", 1000), clients,
                                    rate=best / 2).to_dict()
        finally:
            stop_service(svc)

    def median(values):
        values = sorted(v for v in values if v is not None)
        return values[len(values) // 2] if values else None

    medians = {name: median(x["ratio"] for x in rows) for name, rows in results.items()}
    projected = {name: median(x["cpu_projected_ratio"] for x in rows)
                 for name, rows in results.items()}
    targets = [target(f"issue 15: HTTP / asyncpg, {name} (median of {rounds} rounds)",
                      medians[name], ">=", 0.8) for name in results]
    targets += [target(f"the same projected from server CPU per event, {name} (median)",
                       projected[name], ">=", 0.8) for name in results]
    if ol is not None:
        targets.append(target("issue 15: open loop at half the maximum single rate, p99 ms",
                              ol["p99_ms"], "<", 20))
    table = []
    for name, rows in results.items():
        for r, x in enumerate(rows):
            a, b = x["ceiling"], x["service"]
            table.append([name, r + 1, a["items_per_s"], b["items_per_s"], x["ratio"],
                          x["cpu_projected_ratio"],
                          a["p99_ms"], b["p99_ms"],
                          "{service:.0f} + {postgres:.0f}".format(**b["cpu_us_per_item"]),
                          "{postgres:.0f}".format(**a["cpu_us_per_item"])])
    md = (f"### Issue 15: HTTP against asyncpg calling append_audit_events, interleaved "
          f"({rounds} rounds, {duration:.0f} s per phase)\n\n"
          + markdown_table(["phase", "round", "asyncpg events/s", "HTTP events/s", "ratio",
                            "ratio from CPU/event", "asyncpg p99 ms", "HTTP p99 ms", "HTTP CPU µs/event: service + PG",
                            "asyncpg PG CPU µs/event"], table)
          + (f"\nOpen loop at {ol['target_rate_per_s']:,.0f} requests/s (half the median HTTP "
             f"maximum at {clients} connections): HTTP p50 {ol['p50_ms']} ms, p99 "
             f"{ol['p99_ms']} ms; asyncpg at the same rate: p50 {ol_ceiling['p50_ms']} ms, "
             f"p99 {ol_ceiling['p99_ms']} ms.\n" if ol is not None else "")
          + "\n"
          + markdown_table(["target", "value", "limit", "met"],
                           [[t["target"], t["value"], f"{t['op']} {t['limit']}", t["met"]]
                            for t in targets]))
    doc = {"config": {"rounds": rounds, "duration_s": duration, "clients": clients,
                      "pool": pool, "batch_clients": batch_clients, "batch_size": batch_size,
                      "quick": quick},
           "results": results, "medians": medians, "cpu_projected_medians": projected,
           "open_loop": ol,
           "open_loop_ceiling": ol_ceiling, "targets": targets,
           "command": "python -m bench.bench_write --ratios" + (" --quick" if quick else "")
           + (f" --only {only}" if only else "")}
    write_results("write_ratios" + (f"_{only}" if only else ""), doc, md)
    print(md)
    return doc


def profile(quick: bool = False, *, seconds: float | None = None, clients: int = 64,
            batch_clients: int = 8, batch_size: int = 500) -> dict:
    """py-spy on the service's worker during (b) and (c): where the Python
    layer spends a request. Writes write_profile.{json,md} and the collapsed
    stacks (write_profile_<phase>.txt, flamegraph.pl input)."""
    seconds = seconds or (3.0 if quick else 12.0)
    out: dict = {"tool": "py-spy (record --nonblocking -r 200 -f raw)", "quick": quick,
                 "phases": {}}
    with BenchCluster() as pg:
        url = pg.database("bench_write_profile")
        svc = start_service(url, workers=1)
        try:
            worker = sanic_workers(svc.proc.pid)[0]
            singles = [http_request("POST", SINGLE, orjson.dumps(audit_event(f"prof-{c}", n=i)))
                       for i, c in enumerate(chain_order(1000))]
            batches = [http_request("POST", BATCH, orjson.dumps(
                batch_events("profb", k, batch_size, 50))) for k in range(20)]
            for phase, reqs, n, items in (("single", singles, clients, 1),
                                          ("batch", batches, batch_clients, batch_size)):
                raw = results_dir(quick) / f"write_profile_{phase}.txt"
                raw.parent.mkdir(parents=True, exist_ok=True)
                log(f"profiling {phase} for {seconds:.0f} s")
                spy = py_spy_record(worker, seconds + 1, raw)
                res = http_load(svc.base_url, reqs, clients=n, duration=seconds, warmup=0.5,
                                items_per_request=items)
                spy.wait()
                out["phases"][phase] = {"load": res.to_dict(), **collapsed_summary(raw, 30)}
        finally:
            stop_service(svc)
    lines = ["### Write path profile (py-spy, 1 worker)\n"]
    for phase, d in out["phases"].items():
        lines.append(f"\n{phase}: {d['load']['items_per_s']:,.0f} events/s, "
                     f"{d['samples']} samples; "
                     "share of the worker's busy samples\n\n")
        lines.append(markdown_table(["function", "inclusive %", "self %"],
                                    [[r["function"], r["inclusive_pct"], r["self_pct"]]
                                     for r in d["top"]]))
    md = "".join(lines)
    out["markdown"] = md
    write_results("write_profile", out, md)
    print(md)
    return out


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_write",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s phases: a smoke run")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--batch-clients", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--duration", type=float, help="seconds measured per phase")
    ap.add_argument("--durable", action="store_true",
                    help="fsync on, on disk (default: tmpfs, fsync off)")
    ap.add_argument("--profile", action="store_true",
                    help="instead: py-spy on the worker during (b) and (c)")
    ap.add_argument("--ratios", action="store_true",
                    help="instead: the issue-15 ratios, HTTP and asyncpg interleaved in rounds")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=["single", "batch"],
                    help="with --ratios: only these pairs (batch: no open loop)")
    a = ap.parse_args(argv)
    if a.ratios:
        ratios(quick=a.quick, rounds=a.rounds, duration=a.duration, clients=a.clients,
               batch_clients=a.batch_clients, batch_size=a.batch_size, only=a.only)
        return
    if a.profile:
        profile(quick=a.quick, clients=a.clients, batch_clients=a.batch_clients,
                batch_size=a.batch_size)
        return
    main(quick=a.quick or quick_mode([]), workers=a.workers, clients=a.clients,
         batch_clients=a.batch_clients, batch_size=a.batch_size, duration=a.duration,
         durable=a.durable or None)


if __name__ == "__main__":
    cli(sys.argv[1:])
