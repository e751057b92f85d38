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
from bench.common import (BenchCluster, asyncpg_load, http_floor, http_load, http_request,
                          latency_markdown, latency_rows, log, quick_mode, start_service, stop_service, target,
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
            results["http_floor"] = http_floor(svc.base_url, duration)
        finally:
            stop_service(svc)
        settings = pg.settings
        version = pg.server_version()
    load_end = os.getloadavg()[0]

    rows = latency_rows(results, [("trail page 1, 1,000-event chain", "http_first", "http_floor"),
                                  ("trail page 11, 1,000-event chain", "http_middle", "http_floor"),
                                  ("SQL console_trail, 1,000 events", "sql_trail", "sql_verify")],
                        ("http_floor", "sql_verify"))
    checks = [target(f"trail page ({label}) p99 ms, 1,000 events", results[f"http_{label}"]["p99_ms"],
                     "<", 300.0) for label in ("first", "middle")]
    md = latency_markdown(
        f"Console trail page latency, 1 client, sequential; PostgreSQL {version} ({settings}); "
        f"{duration:.0f} s per phase; {os.cpu_count()} CPUs, 1-minute load average "
        f"{load_start:.1f} at start, {load_end:.1f} at end.", rows, checks)
    path = write_results(NAME, {"quick": quick, "results": results, "targets": checks,
                                "loadavg": [round(load_start, 2), round(load_end, 2)],
                                "chains": len(cids)}, md)
    print(md)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
