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

What the rules cost, in backend CPU, in the same run and on the same rows
(the plain database, beside each plain INSERT): the hash chain alone (the version-2
canonical text, SHA-256 and the chain window of each batch, minus parsing
the array) and the idempotency claim alone (the batch's ids into a copy of
audit_event_ids holding the preload's ids, as the append claims new ids: a
plain INSERT, minus parsing). The append's
other work (head locks and updates, numbering, sorts) is what remains.

Per call (the group commit's path, single events): then one-event calls,
alternating rounds of each, an append of a new event against a plain INSERT
of the same row, measured as the backend's CPU per call (/proc/PID/schedstat,
robust to the load) beside the wall time.

    python -m bench.bench_append [--quick] [--events N] [--preload N] [--batch N] [--singles N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import datetime, timezone

import orjson
import psycopg

from app.migrate import libpq_url
from bench.common import BenchCluster, backend_cpu, log, markdown_table, quick_mode, target, write_results
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


# The rules' costs, each measured as (statement - PARSE) on the plain rows.
PARSE = "SELECT count(e.event_data) FROM jsonb_populate_recordset(NULL::audit_events, %s::jsonb) e"
HASH = """SELECT count(s.link) FROM (
    SELECT datastorage.chain_links('', datastorage.canonical_event_v2(e))
               OVER (PARTITION BY e.correlation_id ORDER BY e.chain_seq) AS link
    FROM jsonb_populate_recordset(NULL::audit_events, %s::jsonb) e) s"""
CLAIM = """INSERT INTO bench_event_ids (event_id, event_date, correlation_id)
SELECT e.event_id, e.event_date, e.correlation_id
FROM jsonb_populate_recordset(NULL::audit_events, %s::jsonb) e ORDER BY e.event_id"""
RULES = {"parse": PARSE, "hash": HASH, "claim": CLAIM}


def _timed(conn, sql: str, text: str) -> float:
    t0 = time.perf_counter()
    conn.execute(sql, (text,))
    return time.perf_counter() - t0


ROUND = 100  # one-event calls per round


def singles(conns: dict, calls: int, tl: Timeline) -> dict:
    """One-event calls, append and plain INSERT in alternating rounds: backend
    CPU and wall µs per call, medians over the rounds."""
    events = [e for k in range(calls // 3 + 1) for e in chain_rows(2_000_000 + k, 3, tl, SEED)][:calls]
    sql = {"append": APPEND, "plain": PLAIN}
    per: dict[str, dict[str, list[float]]] = {m: {"cpu": [], "wall": []} for m in sql}
    for r, start in enumerate(range(0, calls, ROUND)):
        chunk = events[start:start + ROUND]
        texts = {"append": [orjson.dumps([e]).decode() for e in chunk],
                 "plain": [orjson.dumps(_unchained([e])).decode() for e in chunk]}
        for mode in (("append", "plain") if r % 2 == 0 else ("plain", "append")):
            conn = conns[mode]
            pid = conn.info.backend_pid
            c0, t0 = backend_cpu(pid), time.perf_counter()
            for text in texts[mode]:
                conn.execute(sql[mode], (text,))
            per[mode]["wall"].append(1e6 * (time.perf_counter() - t0) / len(chunk))
            per[mode]["cpu"].append(1e6 * (backend_cpu(pid) - c0) / len(chunk))
    out = {m: {k: round(statistics.median(v), 1) for k, v in d.items()} for m, d in per.items()}
    out["calls"] = calls
    out["rounds"] = len(per["append"]["cpu"])
    return out


def run(events: int, preload: int, batch: int, calls: int) -> dict:
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
            conns["plain"].execute("CREATE TABLE bench_event_ids (LIKE audit_event_ids INCLUDING ALL)")
            conns["plain"].execute("INSERT INTO bench_event_ids SELECT event_id, event_date, correlation_id"
                                   " FROM audit_events")
            for c in conns.values():
                c.execute("VACUUM (ANALYZE) audit_events")
            conns["plain"].execute("VACUUM (ANALYZE) bench_event_ids")
            rules = dict.fromkeys(RULES, 0.0)
            load_before = os.getloadavg()[0]
            spent = {"append": 0.0, "plain": 0.0}
            cpu = {"append": 0.0, "plain": 0.0}
            stored = 0
            log(f"measuring {events:,} events, batches of ~{batch}")
            for i, b in enumerate(batches(1_000_000, events, batch, tl)):
                texts = {"append": orjson.dumps(b).decode(),
                         "plain": orjson.dumps(_unchained(b)).decode()}
                order = ("append", "plain") if i % 2 == 0 else ("plain", "append")
                for mode in order:
                    c0 = backend_cpu(conns[mode].info.backend_pid)
                    spent[mode] += _timed(conns[mode], sql[mode], texts[mode])
                    cpu[mode] += backend_cpu(conns[mode].info.backend_pid) - c0
                names = list(RULES)
                pid = conns["plain"].info.backend_pid
                for rule in names[i % 3:] + names[:i % 3]:  # none always first
                    c0 = backend_cpu(pid)
                    conns["plain"].execute(RULES[rule], (texts["plain"],))
                    rules[rule] += backend_cpu(pid) - c0
                stored += len(b)
            log(f"measuring {calls:,} one-event calls of each")
            single = singles(conns, calls, tl)
            counts = {m: c.execute("SELECT count(*) FROM audit_events").fetchone()[0]
                      for m, c in conns.items()}
            partitions = conns["append"].execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_events'::regclass"
            ).fetchone()[0]
        finally:
            for c in conns.values():
                c.close()
    assert counts["append"] == counts["plain"] == preload + stored + calls, counts
    rates = {m: round(stored / s) for m, s in spent.items()}
    ratio = spent["plain"] / spent["append"]
    # The split in backend CPU: wall times swing with the load, CPU far less.
    cpu_us = {m: 1e6 * t / stored for m, t in cpu.items()}
    cost = {"hash_chain": 1e6 * (rules["hash"] - rules["parse"]) / stored,
            "id_claim": 1e6 * (rules["claim"] - rules["parse"]) / stored}
    cost["rest"] = cpu_us["append"] - cpu_us["plain"] - cost["hash_chain"] - cost["id_claim"]
    return {"events": stored, "preload": preload, "batch": batch, "partitions": partitions,
            "append_events_per_s": rates["append"], "plain_events_per_s": rates["plain"],
            "append_vs_plain": round(ratio, 3),
            "append_us_per_event": round(1e6 * spent["append"] / stored, 1),
            "plain_us_per_event": round(1e6 * spent["plain"] / stored, 1),
            # Backend CPU per event: what the load does not change.
            "append_cpu_us_per_event": round(1e6 * cpu["append"] / stored, 1),
            "plain_cpu_us_per_event": round(1e6 * cpu["plain"] / stored, 1),
            "append_vs_plain_cpu": round(cpu["plain"] / cpu["append"], 3),
            "single_event_calls": single,
            "single_append_vs_plain_cpu": round(single["plain"]["cpu"] / single["append"]["cpu"], 3),
            "rule_us_per_event": {k: round(v, 1) for k, v in cost.items()},
            # The ratio the append would reach if the hash chain cost nothing.
            "append_vs_plain_without_hash_chain": round(
                cpu_us["plain"] / (cpu_us["append"] - cost["hash_chain"]), 3),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "targets": [target("append / plain INSERT", ratio, ">=", 0.8)]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--preload", type=int, default=None)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--singles", type=int, default=None, help="one-event calls of each kind")
    args = ap.parse_args(argv)
    quick = quick_mode(argv) or args.quick
    events = args.events or (4_000 if quick else 60_000)
    preload = args.preload if args.preload is not None else (2_000 if quick else 100_000)
    calls = args.singles if args.singles is not None else (400 if quick else 2_000)
    res = run(events, preload, args.batch, calls)
    res["quick"] = quick
    one = res["single_event_calls"]
    md = "## append_audit_events vs plain INSERT\n\n" + markdown_table(
        ["path", "events/s", "µs/event", "backend CPU µs/event"],
        [["append_audit_events", res["append_events_per_s"], res["append_us_per_event"],
          res["append_cpu_us_per_event"]],
         ["plain INSERT, same rows", res["plain_events_per_s"], res["plain_us_per_event"],
          res["plain_cpu_us_per_event"]]]) + (
        "\nWhere the append's extra backend CPU per event goes (same run, same rows):\n\n" + markdown_table(
            ["rule", "CPU µs/event"],
            [["hash chain (canonical text v2, SHA-256, chain window)", res["rule_us_per_event"]["hash_chain"]],
             ["idempotency claim (audit_event_ids)", res["rule_us_per_event"]["id_claim"]],
             ["the rest (head locks and updates, numbering, sorts)", res["rule_us_per_event"]["rest"]]]) +
        f"\nWithout the hash chain's cost the CPU ratio would be "
        f"{res['append_vs_plain_without_hash_chain']}.\n") + (
        f"\nOne event per call ({one['calls']:,} calls of each, {one['rounds']} alternating rounds, "
        "medians):\n\n" + markdown_table(
            ["call", "backend CPU µs/call", "wall µs/call"],
            [["append_audit_events, one event", one["append"]["cpu"], one["append"]["wall"]],
             ["plain INSERT of the row", one["plain"]["cpu"], one["plain"]["wall"]]]) +
        f"\nplain / append per call (CPU) = {res['single_append_vs_plain_cpu']}.\n") + (
        f"\nappend / plain = **{res['append_vs_plain']}** (target ≥ 0.8), "
        f"{res['append_vs_plain_cpu']} in backend CPU; "
        f"{res['events']:,} events in batches of ~{res['batch']} after a preload of "
        f"{res['preload']:,}, {res['partitions']} partitions; load average "
        f"{res['load_average'][0]} → {res['load_average'][1]}.\n")
    write_results(NAME, res, md)
    print(md)
    return res


if __name__ == "__main__":
    main()
