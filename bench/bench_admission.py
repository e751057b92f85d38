"""Worker CPU per database call spent on admission and the pool:
`python -m bench.bench_admission [--quick]`.

Every route's SQL call goes through `app.db.Database.connection` (admission
slot, pool acquire, release). This measures its cost per call in process,
against its ceiling: the bare asyncpg pool acquire + release it wraps. The
calls run from 8 tasks (slots free) and from 32 (more tasks than the 16
connections: admission waits), interleaved round by round so the
machine's load hits both alike; process CPU time, median of the rounds.
"""
from __future__ import annotations

import asyncio
import statistics
import time

from app.db import Database
from bench.common import (BenchCluster, log, markdown_table, quick_mode, run_async, target,
                          write_results)

NAME = "admission"
POOL = 16


async def _cpu_us_per_call(body, tasks: int, calls: int) -> float:
    async def loop():
        for _ in range(calls):
            await body()
    started = time.process_time()
    await asyncio.gather(*(loop() for _ in range(tasks)))
    return (time.process_time() - started) / (tasks * calls) * 1e6


async def _measure(url: str, rounds: int, calls: int) -> dict:
    db = Database(url, role="datastorage_app", min_size=1, max_size=POOL, timeout=10)
    await db.open()

    async def service():
        async with db.connection():
            pass

    async def bare():
        conn = await db.pool.acquire()
        await db.pool.release(conn)
    # Without admission, 32 tasks would wait inside asyncpg's pool: the
    # ceiling's tasks never outnumber its connections.
    out: dict = {}
    try:
        for tasks in (8, 32):
            runs: dict[str, list[float]] = {"Database.connection": [], "asyncpg pool": []}
            for _ in range(rounds):
                runs["Database.connection"].append(await _cpu_us_per_call(service, tasks, calls))
                runs["asyncpg pool"].append(await _cpu_us_per_call(bare, min(tasks, POOL), calls))
            out[tasks] = {k: round(statistics.median(v), 1) for k, v in runs.items()}
    finally:
        await db.close()
    return out


def main(quick: bool = False) -> dict:
    rounds, calls = (3, 300) if quick else (7, 1000)
    with BenchCluster() as pg:
        url = pg.database("bench_admission")
        log(f"{rounds} rounds of {calls} calls per task")
        res = run_async(_measure(url, rounds, calls))
    rows = [[f"{tasks} tasks, pool {POOL}", r["Database.connection"], r["asyncpg pool"],
             round(r["Database.connection"] - r["asyncpg pool"], 1)] for tasks, r in res.items()]
    # This round's goal: admission costs the worker less than the pool it guards.
    share = max((r["Database.connection"] - r["asyncpg pool"]) / r["asyncpg pool"]
                for r in res.values())
    targets = [target("admission's share / the bare pool's cost (worst case)", round(share, 2),
                      "<", 1.0)]
    md = ("### Admission and pool, worker CPU per database call (µs, median of rounds)\n\n"
          + markdown_table(["calls from", "Database.connection", "asyncpg pool alone",
                            "admission's share"], rows)
          + "\n" + markdown_table(["target", "value", "limit", "met"],
                                  [[t["target"], t["value"], f"{t['op']} {t['limit']}", t["met"]]
                                   for t in targets]))
    doc = {"rounds": rounds, "calls_per_task": calls, "pool": POOL,
           "us_per_call": {str(k): v for k, v in res.items()}, "targets": targets,
           "command": "python -m bench.bench_admission" + (" --quick" if quick else "")}
    write_results(NAME, doc, md)
    print(md)
    return doc


if __name__ == "__main__":
    main(quick=quick_mode())
