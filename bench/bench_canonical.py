"""Canonical form versions (issue 15): SQL chain verification of the same
10,000-event chain hashed in version 1 and in version 2, beside its ceiling.

One private cluster, one database. Two chains of the same 10,000 realistic
events (bench.bench_export.rows, ~0.6 KB of event_data each): one appended
as the service appends (version 2), the other appended the same way and then
re-hashed in version 1 by the superuser (what a chain stored before
migration 0070 is). Measured in alternating rounds on one connection (role
datastorage_app, like the service):

* datastorage.verify_chain() of each chain, with the function's parallel
  workers and with parallelism off;
* the hash alone (datastorage.chain_hash over the chain's rows), per version;
* ceiling: reading the same rows and hashing their event_data text
  (sha256 of event_data::text): what verification costs at the very least.

Events/s are reported from the best and the median wall time, and from the
backend's own CPU time (parallelism off: robust to a busy machine).

    python -m bench.bench_canonical [--quick]
"""
from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg

from app.migrate import libpq_url
from bench.bench_export import rows
from bench.common import BenchCluster, backend_cpu, log, markdown_table, quick_mode, target, write_results

NAME = "bench_canonical"
EVENTS = 10_000

# As the superuser, past the immutability trigger: the chain's hashes in
# version 1, links and head included.
TO_V1 = """
WITH l AS (
    SELECT e.event_id, e.event_date, e.chain_seq,
           datastorage.chain_links('', '{' || datastorage.canonical_members(e) || '}')
               OVER (ORDER BY e.chain_seq) AS link
    FROM audit_events e WHERE e.correlation_id = %(cid)s)
UPDATE audit_events e SET hash_version = 1, event_hash = right(l.link, 64),
                          previous_event_hash = left(l.link, -64)
FROM l WHERE e.event_id = l.event_id AND e.event_date = l.event_date
"""


def seed(url: str, v1: str, v2: str) -> None:
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for cid in (v1, v2):
            batch = rows(cid, EVENTS, start)
            for i in range(0, len(batch), 2000):
                conn.execute("SELECT datastorage.append_audit_events(%s::jsonb)",
                             (json.dumps(batch[i:i + 2000]),))
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(TO_V1, {"cid": v1})
            conn.execute("UPDATE audit_chain_heads h SET last_hash = e.event_hash FROM audit_events e "
                         "WHERE h.correlation_id = %(cid)s AND e.correlation_id = %(cid)s "
                         "AND e.chain_seq = h.last_seq", {"cid": v1})
        conn.execute("VACUUM ANALYZE audit_events")
        for cid, version in ((v1, 1), (v2, 2)):
            got = conn.execute("SELECT s.is_valid, s.total_events, (SELECT array_agg(DISTINCT "
                               "hash_version) FROM audit_events WHERE correlation_id = %s) "
                               "FROM datastorage.verify_chains(ARRAY[%s]) s", (cid, cid)).fetchone()
            assert got == (True, EVENTS, [version]), got


def measure(url: str, v1: str, v2: str, repeat: int) -> dict:
    queries = {
        "verify_v1": ("SELECT count(*) FILTER (WHERE valid) FROM datastorage.verify_chain(%s)", v1),
        "verify_v2": ("SELECT count(*) FILTER (WHERE valid) FROM datastorage.verify_chain(%s)", v2),
        "hash_v1": ("SELECT count(datastorage.chain_hash(e.previous_event_hash, e)) "
                    "FROM audit_events e WHERE e.correlation_id = %s", v1),
        "hash_v2": ("SELECT count(datastorage.chain_hash(e.previous_event_hash, e)) "
                    "FROM audit_events e WHERE e.correlation_id = %s", v2),
        "ceiling": ("SELECT count(encode(sha256(convert_to(e.event_data::text, 'UTF8')), 'hex')) "
                    "FROM audit_events e WHERE e.correlation_id = %s", v2),
    }
    out: dict = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        for mode, workers in (("parallel", None), ("serial", 0)):
            conn.execute("RESET max_parallel_workers_per_gather" if workers is None
                         else "SET max_parallel_workers_per_gather = 0")
            wall = {k: [] for k in queries}
            cpu = {k: [] for k in queries}
            for _ in range(repeat):                       # alternating rounds
                for key, (sql, cid) in queries.items():
                    c, t = backend_cpu(pid), time.perf_counter()
                    # Never prepared: a cached plan would keep the other mode's workers.
                    conn.execute(sql, (cid,), prepare=False).fetchone()
                    wall[key].append(time.perf_counter() - t)
                    cpu[key].append(backend_cpu(pid) - c)
            for key in queries:
                out[f"{key}_{mode}"] = {"best_s": min(wall[key]),
                                        "median_s": statistics.median(wall[key]),
                                        "backend_cpu_s": min(cpu[key]), "runs": repeat}
    return out


def main() -> None:
    quick = quick_mode()
    repeat = 3 if quick else 9
    v1, v2 = f"canon-v1-{uuid.uuid4()}", f"canon-v2-{uuid.uuid4()}"
    load_start = os.getloadavg()[0]
    with BenchCluster() as pg:
        url = pg.database()
        log(f"seeding two chains of {EVENTS:,} events (version 1 and version 2)")
        seed(url, v1, v2)
        log("verification, alternating rounds")
        m = measure(url, v1, v2, repeat)
        settings, version = pg.settings, pg.server_version()
    load_end = os.getloadavg()[0]

    def rate(seconds: float) -> int:
        return round(EVENTS / seconds)

    table = []
    for key, label in (("verify_v2", "verify_chain, version 2"), ("verify_v1", "verify_chain, version 1"),
                       ("hash_v2", "hash alone (chain_hash), version 2"),
                       ("hash_v1", "hash alone (chain_hash), version 1"),
                       ("ceiling", "ceiling: rows + sha256 of event_data")):
        p, s, c = m[f"{key}_parallel"], m[f"{key}_serial"], m["ceiling_serial"]
        table.append([label, rate(p["best_s"]), rate(s["best_s"]), rate(s["median_s"]),
                      rate(s["backend_cpu_s"]), round(s["backend_cpu_s"] / c["backend_cpu_s"], 2)])
    best_v2 = rate(min(m["verify_v2_parallel"]["best_s"], m["verify_v2_serial"]["best_s"]))
    best_v1 = rate(min(m["verify_v1_parallel"]["best_s"], m["verify_v1_serial"]["best_s"]))
    cpu_ratio = m["verify_v1_serial"]["backend_cpu_s"] / m["verify_v2_serial"]["backend_cpu_s"]
    checks = [target("SQL verification events/s (verify_chain, version 2, best)", best_v2, ">=", 100_000),
              target("version 2 / version 1 speed (backend CPU, serial)", round(cpu_ratio, 2), ">=", 1.0)]
    md = (f"Canonical form versions; PostgreSQL {version} ({settings}); {os.cpu_count()} CPUs shared, "
          f"1-minute load average {load_start:.1f} at start, {load_end:.1f} at end; {repeat} "
          f"alternating rounds.\n\n"
          + markdown_table(["10,000-event chain", "events/s best (parallel workers)",
                            "events/s best (serial)", "events/s median (serial)",
                            "events per backend CPU-s (serial)", "CPU / ceiling's"], table)
          + f"\nBest of either mode: version 2 {best_v2:,}/s, version 1 {best_v1:,}/s; "
            f"version 2 needs {1 / cpu_ratio:.2f}x version 1's backend CPU.\n\n"
          + markdown_table(["target", "value", "op", "limit", "met"],
                           [[t["target"], t["value"], t["op"], t["limit"], t["met"]] for t in checks]))
    path = write_results(NAME, {"quick": quick, "measures": m, "events": EVENTS, "targets": checks,
                                "loadavg": [round(load_start, 2), round(load_end, 2)]}, md)
    print(md)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
