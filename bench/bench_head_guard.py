"""What the chain heads' guard trigger costs the append (issue 15).

Three databases on one private cluster, the same rows appended to each:

  now     as migrated: audit_chain_heads_hold (UPDATE OF the four hold
          columns) and audit_chain_heads_held_delete (DELETE, WHEN the head
          is held), so an append (which sets no hold column) calls no
          function;
  always  the previous shape: one BEFORE UPDATE OR DELETE trigger without a
          condition, a PL/pgSQL call for every head update (two per chain
          and call);
  off     no row trigger on the chain heads at all: the floor (unsafe, for
          measuring only).

Three phases, each in alternating rounds (the order rotates every round,
so a noisy neighbour hits all three alike), measured as the backend's CPU
(/proc/PID/schedstat) beside the wall time, medians over the rounds (the
first warms the sessions up and is not counted): one-event calls into
existing chains; calls of 50 events in 50 new chains (per event); one
UPDATE of every head that sets no hold column (per row: the trigger's own
cost, without the append around it).

    python -m bench.bench_head_guard [--quick] [--rounds N] [--calls N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import datetime, timezone

import orjson
import psycopg

from app.migrate import libpq_url
from bench.common import (BenchCluster, audit_event, backend_cpu, log, markdown_table, quick_mode,
                          write_results)
from bench.generate_data import APPEND

NAME = "bench_head_guard"
VARIANTS = ("now", "always", "off")
HEAD_TRIGGERS = ("audit_chain_heads_hold", "audit_chain_heads_held_delete")
# Run as the superuser, whom the DDL guard does not check.
RESHAPE = {
    "now": [],
    "always": ["DROP TRIGGER audit_chain_heads_held_delete ON audit_chain_heads",
               "CREATE OR REPLACE TRIGGER audit_chain_heads_hold BEFORE UPDATE OR DELETE "
               "ON audit_chain_heads FOR EACH ROW EXECUTE FUNCTION datastorage_guard.guard_chain_head()"],
    "off": [f"DROP TRIGGER {t} ON audit_chain_heads" for t in HEAD_TRIGGERS],
}
CHAINS = 50  # per call in the new-chains phase
TOUCH = "UPDATE audit_chain_heads SET updated_at = updated_at"


def _events(cids: list[str], ts: datetime, n0: int) -> str:
    """One realistic gateway event per chain, as the service would hand it over."""
    return orjson.dumps([{**audit_event(c, ts=ts, n=n0 + i), "event_id": str(uuid.uuid4()),
                          "resource_type": "Signal", "resource_id": c}
                         for i, c in enumerate(cids)]).decode()


def _head_triggers(conn) -> list[tuple]:
    return conn.execute("SELECT tgname, tgqual IS NOT NULL OR tgattr::text <> '' FROM pg_trigger "
                        "WHERE tgrelid = 'audit_chain_heads'::regclass AND tgtype & 1 = 1 ORDER BY 1"
                        ).fetchall()


def _phase(conns: dict, sql: str, payloads: list[list[tuple]], per_call: int) -> dict:
    """payloads[r] are round r's calls of sql (the same for every variant);
    returns CPU and wall µs per row (per_call rows a call), median over the rounds."""
    per = {v: {"cpu": [], "wall": []} for v in conns}
    for r, calls in enumerate(payloads):  # round 0 warms the sessions up: not counted
        order = VARIANTS[r % len(VARIANTS):] + VARIANTS[:r % len(VARIANTS)]
        for v in order:
            conn = conns[v]
            pid = conn.info.backend_pid
            c0, t0 = backend_cpu(pid), time.perf_counter()
            for params in calls:
                conn.execute(sql, params)
            events = len(calls) * per_call
            if r == 0:
                continue
            per[v]["wall"].append(1e6 * (time.perf_counter() - t0) / events)
            per[v]["cpu"].append(1e6 * (backend_cpu(pid) - c0) / events)
    return {v: {k: round(statistics.median(x), 1) for k, x in d.items()} for v, d in per.items()}


def run(rounds: int, calls: int) -> dict:
    ts = datetime.now(timezone.utc).replace(microsecond=0)
    with BenchCluster() as cluster:
        template = cluster.database("head_guard_now")
        with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as su:
            for v in VARIANTS[1:]:
                su.execute(f'CREATE DATABASE "head_guard_{v}" TEMPLATE "head_guard_now"')
        urls = {v: template if v == "now" else cluster.url(f"head_guard_{v}") for v in VARIANTS}
        conns = {v: psycopg.connect(libpq_url(u), autocommit=True) for v, u in urls.items()}
        try:
            for v, conn in conns.items():
                for stmt in RESHAPE[v]:
                    conn.execute(stmt)
            shapes = {v: _head_triggers(c) for v, c in conns.items()}
            assert shapes["now"] == [(t, True) for t in sorted(HEAD_TRIGGERS)], shapes
            assert shapes["always"] == [("audit_chain_heads_hold", False)] and shapes["off"] == [], shapes
            # Existing chains for the one-event calls, and a warm-up of each session.
            existing = [f"hg-old-{i}" for i in range(calls)]
            seed = _events(existing, ts, 0)
            for conn in conns.values():
                conn.execute(APPEND, (seed,))
            load_before = os.getloadavg()[0]
            log(f"one-event calls into existing chains: {rounds} rounds of {calls}")
            singles = _phase(conns, APPEND, [[(_events([c], ts, r),) for c in existing]
                                             for r in range(rounds)], 1)
            log(f"calls of {CHAINS} events in {CHAINS} new chains: {rounds} rounds of {calls // 10}")
            fresh = [[(_events([f"hg-new-{r}-{k}-{i}" for i in range(CHAINS)], ts, k),)
                      for k in range(max(1, calls // 10))] for r in range(rounds)]
            new_chains = _phase(conns, APPEND, fresh, CHAINS)
            # The trigger alone: one statement updating every head but no hold column.
            heads = conns["now"].execute("SELECT count(*) FROM audit_chain_heads").fetchone()[0]
            log(f"an UPDATE of all {heads:,} heads, no hold column changed: {rounds} rounds")
            head_update = _phase(conns, TOUCH, [[None]] * rounds, heads)
            counts = {v: c.execute("SELECT count(*) FROM audit_events").fetchone()[0]
                      for v, c in conns.items()}
        finally:
            for c in conns.values():
                c.close()
    assert len(set(counts.values())) == 1, counts

    def ratios(d: dict) -> dict:
        return {"now_vs_always_cpu": round(d["now"]["cpu"] / d["always"]["cpu"], 3),
                "now_vs_off_cpu": round(d["now"]["cpu"] / d["off"]["cpu"], 3),
                "saved_cpu_us": round(d["always"]["cpu"] - d["now"]["cpu"], 1)}

    return {"rounds": rounds - 1, "calls_per_round": calls, "events_per_variant": counts["now"],
            "one_event_calls_us_per_call": singles, "one_event_calls": ratios(singles),
            "new_chains_us_per_event": new_chains, "new_chains": ratios(new_chains),
            "head_update_us_per_row": head_update, "head_update": ratios(head_update),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--calls", type=int, default=None, help="one-event calls per variant and round")
    args = ap.parse_args(argv)
    quick = quick_mode(argv) or args.quick
    rounds = args.rounds or (4 if quick else 41)
    calls = args.calls or (50 if quick else 300)
    res = run(rounds, calls)
    res["quick"] = quick
    one, new, touch = (res["one_event_calls_us_per_call"], res["new_chains_us_per_event"],
                       res["head_update_us_per_row"])
    labels = {"now": "guard only for hold columns and held heads (as migrated)",
              "always": "guard without a condition (before)", "off": "no guard (floor)"}
    md = "## The chain heads' guard trigger and the append\n\n" + markdown_table(
        ["chain heads' guard", "one-event call: CPU µs", "wall µs",
         f"{CHAINS} new chains: CPU µs/event", "wall µs/event", "UPDATE of every head: CPU µs/row"],
        [[labels[v], one[v]["cpu"], one[v]["wall"], new[v]["cpu"], new[v]["wall"], touch[v]["cpu"]]
         for v in VARIANTS]) + (
        f"\nBackend CPU, now vs before: one-event call {res['one_event_calls']['now_vs_always_cpu']} "
        f"({res['one_event_calls']['saved_cpu_us']} µs saved), new chains "
        f"{res['new_chains']['now_vs_always_cpu']} ({res['new_chains']['saved_cpu_us']} µs per event "
        f"saved); now vs no guard: {res['one_event_calls']['now_vs_off_cpu']} and "
        f"{res['new_chains']['now_vs_off_cpu']}; per head updated {res['head_update']['now_vs_always_cpu']} "
        f"and {res['head_update']['now_vs_off_cpu']}. {res['rounds']} alternating rounds, medians; "
        f"load average {res['load_average'][0]} → {res['load_average'][1]}.\n")
    write_results(NAME, res, md)
    print(md)
    return res


if __name__ == "__main__":
    main()
