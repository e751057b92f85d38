"""Console trail page: GET /console/trail for chains of 1,000 events (issue 17;
target: server time p99 < 300 ms).

One client, one request at a time, rotating over several 1,000-event chains.
Every request verifies the whole chain (the badge) and renders one page of
50 events. Measured in the same run, on the same cluster:

* the first page and a middle page (offset 500) over HTTP (1 worker);
* the SQL function alone (datastorage.console_trail, role datastorage_app);
* ceilings: GET /health/live (what any request costs) and
  datastorage.verify_chain_summary of the same chains (what verifying a
  chain costs in SQL at the least). Ratios are page / ceiling.

    python -m bench.bench_console [--quick]
"""
from __future__ import annotations

import os
from urllib.parse import quote

from bench.bench_reconstruction import seed
from bench.common import (BenchCluster, asyncpg_load, http_load, http_request, log,
                          markdown_table, quick_mode, start_service, stop_service, target,
                          write_results)

NAME = "bench_console"
PAGE = "/console/trail?correlation_id={cid}&offset={offset}"


def main() -> None:
    quick = quick_mode()
    duration = 3.0 if quick else 10.0
    cids = [f"bench-console-{i:03d}" for i in range(4 if quick else 12)]
    results: dict[str, dict] = {}
    load_start = os.getloadavg()[0]
    with BenchCluster() as pg:
        url = pg.database()
        log(f"seeding {len(cids)} chains of 1,000 events")
        seed(url, {1000: cids})
        svc = start_service(url, workers=1)
        try:
            for label, offset in (("first", 0), ("middle", 500)):
                reqs = [http_request("GET", PAGE.format(cid=quote(c), offset=offset))
                        for c in cids]
                log(f"HTTP trail page ({label})")
                r = http_load(svc.base_url, reqs, clients=1, duration=duration)
                assert set(r.statuses) == {200}, r.statuses
                results[f"http_{label}"] = r.to_dict()
            log("SQL function console_trail")
            r = asyncpg_load(url, "SELECT datastorage.console_trail($1, 0, 50)",
                             lambda i: (cids[i % len(cids)],), clients=1, duration=duration)
            results["sql_trail"] = r.to_dict()
            log("ceiling: verify_chain_summary")
            r = asyncpg_load(url, "SELECT * FROM datastorage.verify_chain_summary($1)",
                             lambda i: (cids[i % len(cids)],), clients=1, duration=duration)
            results["sql_verify"] = r.to_dict()
            log("ceiling: GET /health/live")
            r = http_load(svc.base_url, [http_request("GET", "/health/live")], clients=1,
                          duration=duration)
            results["http_floor"] = r.to_dict()
        finally:
            stop_service(svc)
        settings = pg.settings
        version = pg.server_version()
    load_end = os.getloadavg()[0]

    def row(label, key, ceiling):
        r, c = results[key], results[ceiling]
        return [label, r["requests"], r["p50_ms"], r["p99_ms"], r["max_ms"],
                round(r["p50_ms"] / c["p50_ms"], 1), round(r["p99_ms"] / c["p99_ms"], 1), ceiling]

    rows = [row("trail page 1, 1,000-event chain", "http_first", "http_floor"),
            row("trail page 11, 1,000-event chain", "http_middle", "http_floor"),
            row("SQL console_trail, 1,000 events", "sql_trail", "sql_verify")]
    for key in ("http_floor", "sql_verify"):
        r = results[key]
        rows.append([f"ceiling: {key}", r["requests"], r["p50_ms"], r["p99_ms"], r["max_ms"],
                     None, None, None])
    checks = [target("trail page p99 ms, 1,000 events", results["http_first"]["p99_ms"], "<", 300.0),
              target("trail page (middle) p99 ms, 1,000 events", results["http_middle"]["p99_ms"],
                     "<", 300.0)]
    md = (f"Console trail page latency, 1 client, sequential; PostgreSQL {version} ({settings}); "
          f"{duration:.0f} s per phase; {os.cpu_count()} CPUs, 1-minute load average "
          f"{load_start:.1f} at start, {load_end:.1f} at end.\n\n"
          + markdown_table(["phase", "requests", "p50 ms", "p99 ms", "max ms", "p50 / ceiling",
                            "p99 / ceiling", "ceiling"], rows)
          + "\n" + markdown_table(["target", "value", "op", "limit", "met"],
                                  [[t["target"], t["value"], t["op"], t["limit"], t["met"]]
                                   for t in checks]))
    path = write_results(NAME, {"quick": quick, "results": results, "targets": checks,
                                "loadavg": [round(load_start, 2), round(load_end, 2)],
                                "chains": len(cids)}, md)
    print(md)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
