"""append_audit_events against a plain INSERT of the same rows (issue 15):
target append >= 0.8x plain.

Two databases on one private cluster, 16 monthly partitions each (12 months
back, 3 ahead, the default). Both first receive the same preload (so every
partition's indexes are real B-trees, as in production), then the measured
batches: the same generated rows (bench.generate_data: realistic chains,
whole chains per batch), once through datastorage.append_audit_events()
into one database and once as a plain INSERT (no chain heads, no hashes, no
idempotency probe) into the other. The two alternate batch by batch, each
going first every other time, so a noisy neighbour hits both alike; the
ratio is the sum of plain times over the sum of append times.

    python -m bench.bench_append [--quick] [--events N] [--preload N] [--batch N]
"""
from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timezone

import orjson
import psycopg

from app.migrate import libpq_url
from bench.common import BenchCluster, log, markdown_table, quick_mode, target, write_results
from bench.generate_data import (APPEND, PLAIN, SEED, Timeline, _unchained, chain_lengths,
                                 chain_rows)

NAME = "bench_append"
MONTHS = 12


def batches(first_chain: int, events: int, batch: int, tl: Timeline) -> list[list[dict]]:
    """Whole chains packed into batches of about `batch` events."""
    lengths = chain_lengths(events, max(1, events // 10), 0, SEED)
    out: list[list[dict]] = [[]]
    for k, n in enumerate(lengths):
        chain = chain_rows(first_chain + k, n, tl, SEED)
        if out[-1] and len(out[-1]) + len(chain) > batch:
            out.append([])
        out[-1].extend(chain)
    return [b for b in out if b]


def _timed(conn, sql: str, text: str) -> float:
    t0 = time.perf_counter()
    conn.execute(sql, (text,))
    return time.perf_counter() - t0


def run(events: int, preload: int, batch: int) -> dict:
    anchor = datetime.now(timezone.utc).replace(microsecond=0)
    tl = Timeline(anchor, MONTHS)
    with BenchCluster() as cluster:
        urls = {"append": cluster.database("append"), "plain": cluster.database("plain")}
        conns = {m: psycopg.connect(libpq_url(u), autocommit=True) for m, u in urls.items()}
        try:
            for c in conns.values():
                c.execute("SELECT datastorage.ensure_audit_partitions(%s, 3)", (MONTHS - 1,))
            sql = {"append": APPEND, "plain": PLAIN}
            log(f"preloading {preload:,} events into both databases")
            for b in batches(0, preload, batch, tl) if preload else []:
                conns["append"].execute(APPEND, (orjson.dumps(b).decode(),))
                conns["plain"].execute(PLAIN, (orjson.dumps(_unchained(b)).decode(),))
            for c in conns.values():
                c.execute("VACUUM (ANALYZE) audit_events")
            load_before = os.getloadavg()[0]
            spent = {"append": 0.0, "plain": 0.0}
            stored = 0
            log(f"measuring {events:,} events, batches of ~{batch}")
            for i, b in enumerate(batches(1_000_000, events, batch, tl)):
                texts = {"append": orjson.dumps(b).decode(),
                         "plain": orjson.dumps(_unchained(b)).decode()}
                order = ("append", "plain") if i % 2 == 0 else ("plain", "append")
                for mode in order:
                    spent[mode] += _timed(conns[mode], sql[mode], texts[mode])
                stored += len(b)
            counts = {m: c.execute("SELECT count(*) FROM audit_events").fetchone()[0]
                      for m, c in conns.items()}
            partitions = conns["append"].execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_events'::regclass"
            ).fetchone()[0]
        finally:
            for c in conns.values():
                c.close()
    assert counts["append"] == counts["plain"] == preload + stored, counts
    rates = {m: round(stored / s) for m, s in spent.items()}
    ratio = spent["plain"] / spent["append"]
    return {"events": stored, "preload": preload, "batch": batch, "partitions": partitions,
            "append_events_per_s": rates["append"], "plain_events_per_s": rates["plain"],
            "append_vs_plain": round(ratio, 3),
            "append_us_per_event": round(1e6 * spent["append"] / stored, 1),
            "plain_us_per_event": round(1e6 * spent["plain"] / stored, 1),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "targets": [target("append / plain INSERT", ratio, ">=", 0.8)]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--preload", type=int, default=None)
    ap.add_argument("--batch", type=int, default=2000)
    args = ap.parse_args(argv)
    quick = quick_mode(argv) or args.quick
    events = args.events or (4_000 if quick else 60_000)
    preload = args.preload if args.preload is not None else (2_000 if quick else 100_000)
    res = run(events, preload, args.batch)
    res["quick"] = quick
    md = "## append_audit_events vs plain INSERT\n\n" + markdown_table(
        ["path", "events/s", "µs/event"],
        [["append_audit_events", res["append_events_per_s"], res["append_us_per_event"]],
         ["plain INSERT, same rows", res["plain_events_per_s"], res["plain_us_per_event"]]]) + (
        f"\nappend / plain = **{res['append_vs_plain']}** (target ≥ 0.8); "
        f"{res['events']:,} events in batches of ~{res['batch']} after a preload of "
        f"{res['preload']:,}, {res['partitions']} partitions; load average "
        f"{res['load_average'][0]} → {res['load_average'][1]}.\n")
    write_results(NAME, res, md)
    print(md)
    return res


if __name__ == "__main__":
    main()
