"""Per-chain calls on one PostgreSQL against a 3-node Citus cluster (issue 16):
`python -m bench.bench_citus [--quick]`.

Both on this machine: a private single-node cluster (bench.common.BenchCluster)
and harness.citus.CitusCluster (coordinator + 2 workers), each migrated by
`datastorage migrate` (the cluster one distributed by correlation_id). Over
asyncpg as datastorage_app, the same two per-chain calls on each:

  append  SELECT datastorage.append_chain_events(cid, one event), 1,000 chains
  query   SELECT datastorage.query_audit_events(cid) on those chains
  batch2  SELECT datastorage.append_audit_events(one event in each of two
          chains): a multi-chain batch, one transaction (two-phase commit on
          the cluster when the chains live on different workers)

at 1 client (latency: the routing cost per call is the cluster's p50 minus
the single node's) and 8 clients (throughput). All nodes share the same two
cores, so no speed-up is expected: the ratio cluster/single is the price of
the coordinator's delegation hop, not what N machines would do.
"""
from __future__ import annotations

import argparse
import os
import uuid

import orjson

from bench.common import (BenchCluster, asyncpg_load, log, markdown_table, quick_mode,
                          write_results)
from harness.citus import CitusCluster
from app.migrate import migrate

NAME = "bench_citus"
CHAINS = 1000


def row(cid: str) -> str:
    return orjson.dumps([event(cid)]).decode()


def event(cid: str) -> dict:
    return {
        "event_id": str(uuid.uuid4()), "event_timestamp": "2026-11-26T10:00:00Z",
        "event_type": "gateway.signal.received", "event_category": "gateway",
        "event_action": "received", "event_outcome": "success", "actor_type": "service",
        "actor_id": "gateway", "resource_type": "Signal", "resource_id": cid,
        "correlation_id": cid, "event_data": {"alert_name": "HighCPU", "namespace": "payments"}}


def two_chains(i: int) -> tuple[str]:
    a, b = f"c-{i % CHAINS}", f"c-{(i + CHAINS // 2) % CHAINS}"
    return (orjson.dumps([event(a), event(b)]).decode(),)


def phases(dsn: str, duration: float) -> dict:
    out = {}
    append_sql = "SELECT datastorage.append_chain_events($1::text, $2::jsonb)"
    query_sql = "SELECT datastorage.query_audit_events($1::text)"
    for clients in (1, 8):
        r = asyncpg_load(dsn, append_sql, lambda i: (f"c-{i % CHAINS}", row(f"c-{i % CHAINS}")),
                         clients=clients, duration=duration)
        out[f"append_{clients}"] = r.to_dict()
        r = asyncpg_load(dsn, query_sql, lambda i: (f"c-{i % CHAINS}",),
                         clients=clients, duration=duration)
        out[f"query_{clients}"] = r.to_dict()
    r = asyncpg_load(dsn, "SELECT datastorage.append_audit_events($1::jsonb)", two_chains,
                     clients=1, duration=duration)
    out["batch2_1"] = r.to_dict()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--duration", type=float, default=None)
    args = p.parse_args(argv)
    quick = args.quick or quick_mode(argv)
    duration = args.duration or (2.0 if quick else 8.0)
    results = {}
    with BenchCluster() as single:
        log("single node")
        results["single"] = phases(single.database(), duration)
    citus = CitusCluster()
    try:
        url = citus.url()
        migrate(url)
        log("citus: coordinator + 2 workers")
        results["citus"] = phases(url, duration)
    finally:
        citus.close()
    rows = []
    for phase in ("append_1", "query_1", "append_8", "query_8", "batch2_1"):
        s, c = results["single"][phase], results["citus"][phase]
        rows.append([phase.replace("_", ", ") + " client(s)", s["requests_per_s"], s["p50_ms"],
                     c["requests_per_s"], c["p50_ms"],
                     round(c["requests_per_s"] / s["requests_per_s"], 2) if s["requests_per_s"] else None,
                     round(c["p50_ms"] - s["p50_ms"], 3)])
    md = ("Per-chain calls over asyncpg, single node against Citus (coordinator + 2 workers), "
          f"same machine, {duration:g} s a phase, load average {os.getloadavg()[0]:.1f} at the end.\n\n"
          + markdown_table(["phase", "single /s", "single p50 ms", "citus /s", "citus p50 ms",
                            "citus/single", "routing cost p50 ms"], rows) + "\n")
    write_results(NAME, {"quick": quick, "duration_s": duration, "results": results}, md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
