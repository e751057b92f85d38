"""Dead-letter spool benchmark (issue 5): `python -m bench.bench_spool [--quick] [--tmpfs]`.

  (a) ceiling   write(one record) + fdatasync in a loop on the spool's disk:
                what one synchronous writer can do at all.
  (b) append    Spool.append in process, 1 and 64 concurrent writers (each
                returns only after the fsync covering its record; concurrent
                records share one fsync).
  (c) HTTP      POST /api/v1/audit/events, the database up (201, normal
                writes) and then stopped (202, spooled): closed loop for the
                maximum, open loop at half the spooled maximum for latency
                from the moment each request was due.
  (d) drain     100,000 single-event records (an outage's worth) replayed by
                the drainer into the database; the ceiling is the same rows
                sent as 250-event batches (the drainer's group size) straight through asyncpg (the
                SQL append function's own rate). The same spool drained into
                a null sink gives the drainer's own ceiling (read, checksum,
                merge, group, acknowledge, delete) without any database.

By default PostgreSQL is durable (fsync, synchronous_commit, data on disk) and
the spool is on the same disk, so "fsync per request" is compared with
commits that also reach the disk; --tmpfs runs PostgreSQL as the tests do.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import time
import uuid

import httpx
import orjson
import psycopg

from app import events
from app.db import Database
from app.migrate import libpq_url
from app.spool import Drainer, Spool, encode_record, list_segments
from harness import scratch_dir
from bench.common import (BenchCluster, audit_event, correlation_ids, http_load,
                          http_request, latency_summary, log, markdown_table, quick_mode,
                          run_async, start_service, stop_service, target, wait_for,
                          write_results)

NAME = "bench_spool"
SINGLE = "/api/v1/audit/events"
MAX_EVENT_DATA = 1 << 20
LIGHT = 25          # requests/s: latency without queueing
CEILING_BATCH = 250


def row_payload(cid: str, n: int) -> str:
    return events.payload([events.prepare(audit_event(cid, n=n),
                                          max_event_data_bytes=MAX_EVENT_DATA).row])


def fsync_ceiling(directory, seconds: float) -> dict:
    record = encode_record(1, row_payload("ceiling", 0).encode(), time.time_ns())
    path = directory / "ceiling.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    lat = []
    try:
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            t = time.perf_counter()
            os.write(fd, record)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        path.unlink()
    return {"phase": "(a) write + fdatasync loop", "writers": 1, "events": len(lat),
            "events_per_s": len(lat) / seconds, **latency_summary(lat)}


async def append_phase(directory, payloads: list[str], writers: int) -> dict:
    spool = Spool(directory, 1 << 34)
    lat = []
    it = iter(payloads)

    async def writer():
        for p in it:
            t = time.perf_counter()
            await spool.append("audit_events", p)
            lat.append(time.perf_counter() - t)
    start = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    wall = time.perf_counter() - start
    await spool.close()
    for name, _ in list_segments(directory):
        (directory / name).unlink()
    return {"phase": f"(b) Spool.append, {writers} concurrent", "writers": writers,
            "events": len(lat), "events_per_s": len(lat) / wall, **latency_summary(lat)}


class NullSink:
    """Stands in for the database to measure the drainer's own work."""

    async def call(self, function: str, payload: str) -> int:
        return 0


async def spool_events(spool: Spool, payloads: list[str]) -> float:
    t = time.perf_counter()
    for i in range(0, len(payloads), 1000):
        await asyncio.gather(*(spool.append("audit_events", p) for p in payloads[i:i + 1000]))
    took = time.perf_counter() - t
    await spool.close()
    return took


async def drain_phase(url: str, directory, n: int, chains: int) -> dict:
    spool = Spool(directory, 1 << 34)
    cids = correlation_ids(f"drain-{uuid.uuid4().hex[:6]}", chains)
    template = events.prepare(audit_event(cids[0]), max_event_data_bytes=MAX_EVENT_DATA).row
    payloads = []
    for i in range(n):
        row = dict(template, event_id=str(uuid.uuid4()), correlation_id=cids[i % chains],
                   resource_id=cids[i % chains])
        payloads.append(orjson.dumps([row]).decode())
    log(f"spooling {n:,} events twice (null sink, then database) ...")
    await spool_events(spool, payloads)
    t = time.perf_counter()
    null = Drainer(spool, NullSink())
    while await null.drain_pass():
        pass
    null_rate = n / (time.perf_counter() - t)
    fill = await spool_events(spool, payloads)
    spooled_bytes = sum(st.st_size for _, st in list_segments(directory))
    db = Database(url, role="datastorage_app", min_size=1, max_size=2, timeout=300)
    await db.open()
    try:
        log("draining ...")
        drainer = Drainer(spool, db)
        t = time.perf_counter()
        while await drainer.drain_pass():
            pass
        drain = time.perf_counter() - t
        # Ceiling: the same kind of rows, as many per transaction as the
        # drainer groups (256 KiB of ~1 KiB events), straight in.
        rows = [dict(template, event_id=str(uuid.uuid4()), correlation_id=cids[i % chains],
                     resource_id=cids[i % chains]) for i in range(min(n, 40000))]
        log(f"ceiling: {len(rows):,} events in batches of {CEILING_BATCH} via asyncpg ...")
        t = time.perf_counter()
        for i in range(0, len(rows), CEILING_BATCH):
            await db.call("datastorage.append_audit_events",
                          orjson.dumps(rows[i:i + CEILING_BATCH]).decode())
        ceiling = len(rows) / (time.perf_counter() - t)
    finally:
        await db.close()
    with psycopg.connect(libpq_url(url)) as conn:
        stored = conn.execute("SELECT count(*) FROM audit_events WHERE correlation_id = ANY(%s)",
                              (cids,)).fetchone()[0]
    return {"events": n, "chains": chains, "spooled_mb": round(spooled_bytes / 2**20, 1),
            "fill_s": round(fill, 2), "fill_events_per_s": n / fill,
            "drain_s": round(drain, 2), "drain_events_per_s": n / drain,
            "ceiling_events_per_s": ceiling, "ratio": (n / drain) / ceiling,
            "null_sink_events_per_s": null_rate,
            "stored": stored - len(rows), "drained_records": drainer.stats.records,
            "quarantined": drainer.stats.quarantined,
            "segments_left": len(list_segments(directory))}


def http_phases(bc: BenchCluster, url: str, spool_dir, *, clients: int, duration: float,
                workers: int) -> tuple[list[dict], dict]:
    cids = correlation_ids(f"http-{uuid.uuid4().hex[:6]}", 1000)
    reqs = [http_request("POST", SINGLE, orjson.dumps(audit_event(c, n=i)))
            for i, c in enumerate(cids)]
    svc = start_service(url, workers=workers, env={"DS_SPOOL_DIR": str(spool_dir)})
    phases = []
    try:
        log("HTTP, database up ...")
        up = http_load(svc.base_url, reqs, clients=clients, duration=duration)
        phases.append(("(c) HTTP single event, database up (201)", up))
        light = http_load(svc.base_url, reqs, clients=clients, duration=duration, rate=LIGHT)
        phases.append((f"(c) open loop at {LIGHT}/s, database up (201)", light))
        bc.cluster.stop("immediate")
        log("HTTP, database stopped (spooled) ...")
        down = http_load(svc.base_url, reqs, clients=clients, duration=duration)
        phases.append(("(c) HTTP single event, database down (202 spooled)", down))
        rate = max(1.0, down.rate / 2)
        log(f"HTTP, database stopped, open loop at {rate:.0f}/s and {LIGHT}/s ...")
        ol = http_load(svc.base_url, reqs, clients=clients, duration=duration, rate=rate)
        phases.append(("(c) open loop at half the spooled maximum (202)", ol))
        light = http_load(svc.base_url, reqs, clients=clients, duration=duration, rate=LIGHT)
        phases.append((f"(c) open loop at {LIGHT}/s, database down (202)", light))
        waiting = httpx.get(svc.base_url + "/health", timeout=10).json()["spool"]["records"]
        bc.cluster.start()
        t = time.perf_counter()

        def drained() -> bool:
            body = httpx.get(svc.base_url + "/health", timeout=10).json()
            return body.get("database") == "connected" and body["spool"]["records"] == 0
        ok = wait_for(drained, 600, 0.2)
        service_drain = {"records": waiting, "seconds_after_restart": time.perf_counter() - t,
                         "drained": ok}
    finally:
        bc.cluster.start()
        stop_service(svc)
    rows = []
    for label, res in phases:
        d = res.to_dict()
        rows.append({"phase": label, "writers": clients, "events": d["requests"],
                     "events_per_s": d["items_per_s"], "statuses": d["statuses"],
                     "errors": d["errors"], **{k: d[k] for k in ("p50_ms", "p90_ms", "p99_ms",
                                                                   "p999_ms", "max_ms")}})
    return rows, service_drain


def main(quick: bool = False, *, tmpfs: bool = False, events_n: int | None = None,
         clients: int = 16, workers: int = 1) -> dict:
    n = events_n or (20000 if quick else 100000)
    duration = 2.0 if quick else 5.0
    bc = BenchCluster(durable=not tmpfs)
    spool_root = scratch_dir("ds-bench-spool-", durable=True)
    try:
        url = bc.database()
        log(f"PostgreSQL: {bc.settings}; spool on {spool_root}")
        a = fsync_ceiling(spool_root, duration)
        payloads = [row_payload(f"append-{i % 100}", i) for i in range(2000 if quick else 5000)]
        b1 = run_async(append_phase(spool_root, payloads[:1000 if quick else 2000], 1))
        b64 = run_async(append_phase(spool_root, payloads, 64))
        http_rows, service_drain = http_phases(bc, url, spool_root / "service", clients=clients,
                                               duration=duration, workers=workers)
        d = run_async(drain_phase(url, spool_root / "drain", n, 1000))
    finally:
        bc.close()
        shutil.rmtree(spool_root, ignore_errors=True)

    up, _, down, ol, light_down = http_rows
    phases = [a, b1, b64, *http_rows]
    for p in (b1, b64):
        p["ratio"] = f"{p['events_per_s'] / a['events_per_s']:.2f} vs (a)"
    if up["events_per_s"]:
        down["ratio"] = f"{down['events_per_s'] / up['events_per_s']:.2f} vs database up"
    targets = [
        target(f"drain rate after an outage of {n:,} events, events/s",
               d["drain_events_per_s"], ">=", 10000),
        target("spooled write latency p99 (HTTP, open loop at half max), ms",
               ol["p99_ms"], "<", 20),
        target(f"spooled write latency p99 (HTTP, open loop at {LIGHT}/s), ms",
               light_down["p99_ms"], "<", 20),
        target("spooled write latency p99 (Spool.append, 1 writer), ms", b1["p99_ms"], "<", 20),
    ]
    config = {"postgres": bc.settings, "spool_dir": "same disk (/var/tmp)", "clients": clients,
              "workers": workers, "duration_s": duration, "drain_events": n}
    md = render(phases, d, service_drain, targets, config)
    doc = {"config": config, "phases": phases, "drain": d, "service_drain": service_drain,
           "targets": targets}
    path = write_results(NAME, doc, md)
    print(md)
    log(f"results: {path}")
    return doc


def render(phases, d, service_drain, targets, config) -> str:
    rows = [(p["phase"], p["writers"], p["events_per_s"], p["p50_ms"], p["p99_ms"],
             p.get("ratio", ""),
             " ".join(f"{k}: {v}" for k, v in (p.get("statuses") or {}).items()))
            for p in phases]
    out = [f"### Dead-letter spool (PostgreSQL {config['postgres']}; spool fsync'd on disk; "
           f"{config['workers']} worker(s), {config['clients']} HTTP clients, "
           f"{config['duration_s']:.0f} s per HTTP phase)\n",
           markdown_table(["phase", "writers", "events/s", "p50 ms", "p99 ms", "ratio",
                           "outcomes"], rows), "\n",
           markdown_table(["drain", "value"], [
               ("events spooled (single-event records)", d["events"]),
               ("spool size, MiB", d["spooled_mb"]),
               ("fill rate (1,000 concurrent appends at a time), events/s", d["fill_events_per_s"]),
               ("drain time, s", d["drain_s"]),
               ("drain rate, events/s", d["drain_events_per_s"]),
               (f"ceiling: {CEILING_BATCH}-event batches via asyncpg, events/s",
                d["ceiling_events_per_s"]),
               ("drain / ceiling", round(d["ratio"], 2)),
               ("drainer alone (null sink, no database), events/s", d["null_sink_events_per_s"]),
               ("stored / quarantined / segments left",
                f"{d['stored']:,} / {d['quarantined']} / {d['segments_left']}"),
               ("service: records spooled in (c), drained after restart in s",
                f"{service_drain['records']:,} in {service_drain['seconds_after_restart']:.1f}"),
           ]), "\n",
           markdown_table(["target", "value", "limit", "met"],
                          [(t["target"], t["value"], f"{t['op']} {t['limit']}", t["met"])
                           for t in targets])]
    return "".join(out)


def cli(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.bench_spool", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="20,000 events, 2 s phases")
    p.add_argument("--tmpfs", action="store_true", help="PostgreSQL on tmpfs, fsync off")
    p.add_argument("--events", type=int, help="events to spool and drain (default 100,000)")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    main(quick_mode() or args.quick, tmpfs=args.tmpfs, events_n=args.events,
         clients=args.clients, workers=args.workers)


if __name__ == "__main__":
    cli()
