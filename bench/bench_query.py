"""Audit query latency on a million events (issue 8): `python -m bench.bench_query`.

Against the generated dataset (bench/generate_data.py: 1,000,000 events,
100,000 correlation ids, 12 monthly partitions; generated on first use, then
reused), GET /api/v1/audit/events:

  by correlation id        a random chain of ~10 events out of 2,000 (limit 50)
  long chain               the 10,000-event chain (limit 50: the newest page)
  event type + since 24h   one of 8 common types, limit 50, exact `total`
  deep offset              no filter, offset 100,000, limit 50 (total: the planner's
                           estimate of 1M, exact counts stop at 10,000; docs/overload.md)

each measured three ways in one run: HTTP with one connection (latency, the
targets), HTTP with 16 connections (throughput and p99 under load), and the
SQL function alone over asyncpg with one connection (role datastorage_app,
the SQL ceiling). The HTTP ceiling is the service's trivial route
GET /health/live. `since` is sent as the RFC 3339 time 24 h before the
dataset's anchor (its generation time), so a reused dataset still has a
populated last-24-hours slice; the SQL is the same as for `since=24h`.
Targets (issue 8): by correlation id p99 < 10 ms; event type + since 24h,
limit 50, p99 < 50 ms.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import psycopg

from app.migrate import libpq_url
from bench.common import (CpuMeter, LoadResult, asyncpg_load, http_load, http_request, iso,
                          log, markdown_table, quick_mode, start_service, stop_service, target,
                          write_results)
from bench.generate_data import open_dataset, sizes

NAME = "query"
PATH = "/api/v1/audit/events"
QUERY_SQL = "SELECT * FROM datastorage.query_audit_events($1, $2, $3, $4, $5, $6, $7, $8, $9)"
TYPES = ("gateway.signal.received", "signalprocessing.phase.transition", "llm_tool_call",
         "aianalysis.analysis.completed", "workflow.catalog.search_completed",
         "workflowexecution.workflow.completed", "notification.message.sent",
         "holmesgpt.response.complete")


class NestedPlans:
    """The plans of every statement a session runs, the ones inside SQL
    functions included: auto_explain sends them to the client as NOTICEs
    (JSON). Needs a superuser connection (LOAD)."""

    def __init__(self, conn: psycopg.Connection, analyze: bool = False):
        self.conn = conn
        self.plans: list[dict] = []
        conn.execute("LOAD 'auto_explain'")
        for name, value in (("log_min_duration", "0"), ("log_nested_statements", "on"),
                            ("log_format", "json"), ("log_level", "notice"),
                            ("log_analyze", "on" if analyze else "off"),
                            ("log_buffers", "on" if analyze else "off"),
                            ("log_timing", "on" if analyze else "off")):
            conn.execute(f"SET auto_explain.{name} = '{value}'")
        conn.execute("SET client_min_messages = notice")
        conn.add_notice_handler(self._notice)

    def _notice(self, diag) -> None:
        text = diag.message_primary or ""
        at = text.find("plan:")
        if at >= 0:
            self.plans.append(json.loads(text[at + 5:]))

    def of(self, sql: str, params=()) -> list[dict]:
        self.plans = []
        self.conn.execute(sql, params).fetchall()
        return list(self.plans)

    def close(self) -> None:
        self.conn.execute("SET auto_explain.log_min_duration = -1")
        self.conn.remove_notice_handler(self._notice)


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def plan_summary(plans: list[dict], populated: set[str]) -> list[dict]:
    """Per statement that reads audit_events: its time, buffers, and its
    scans by kind (partition indexes under their parent's column list;
    partitions without rows, e.g. future months, counted apart)."""
    out = []
    for p in plans:
        scans: dict[str, int] = {}
        for n in plan_nodes(p["Plan"]):
            rel, idx = n.get("Relation Name") or "", n.get("Index Name") or ""
            if not (rel.startswith("audit_events") or idx.startswith("audit_events")):
                continue
            if idx:
                what = "index (" + re.sub(r"^audit_events_(\d{4}_\d{2}|default)_|_idx$|_pkey$", "",
                                          idx).replace("_", " ") + ")"
                if idx.endswith("_pkey"):
                    what = "primary key"
            else:
                what = "partition" if rel in populated else "empty partition"
            key = f"{n['Node Type']}: {what}"
            scans[key] = scans.get(key, 0) + 1
        if scans:
            out.append({"statement": " ".join(p.get("Query Text", "").split())[:200],
                        "ms": p["Plan"].get("Actual Total Time"),
                        "shared_hit_blocks": p["Plan"].get("Shared Hit Blocks"),
                        "shared_read_blocks": p["Plan"].get("Shared Read Blocks"),
                        "scans": scans})
    return out


def populated_partitions(conn) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'audit_events'::regclass AND c.reltuples > 0")}


def total_ok(total: int, stored: int) -> bool:
    """Exact up to 10,000 matches; above, an estimate (at least 10,001) within 10%."""
    if stored <= 10_000:
        return total == stored
    return total > 10_000 and abs(total - stored) <= 0.1 * stored


def query_args(correlation_id=None, event_type=None, since=None, limit=50, offset=0) -> tuple:
    return (correlation_id, event_type, None, None, None, since, None, limit, offset)


def http_query(**params) -> bytes:
    return http_request("GET", f"{PATH}?{urlencode({k: v for k, v in params.items() if v is not None})}")


def row(label: str, kind: str, res: LoadResult, **extra) -> dict:
    d = res.to_dict()
    d.update(label=label, kind=kind, **extra)
    return d


def main(quick: bool = False, *, duration: float | None = None, clients: int = 16) -> dict:
    duration = duration or (2.0 if quick else 10.0)
    warmup = 0.5 if quick else 2.0
    size = sizes(quick)
    phases: list[dict] = []
    checks: dict = {}
    explains: dict = {}
    with open_dataset(size["events"], size["chains"], size["months"],
                      long_chain=size["long_chain"]) as ds:
        lengths = ds.lengths()
        rng = random.Random(11)
        sample = rng.sample(range(1, size["chains"]), min(2000, size["chains"] - 1))
        cids = [ds.cid(c) for c in sample]
        since = ds.anchor - timedelta(hours=24)
        offset = 100_000 if not quick else 10_000
        cases = {
            "by correlation id": ([http_query(correlation_id=c) for c in cids],
                                  lambda i: query_args(correlation_id=cids[i % len(cids)])),
            f"by correlation id, {size['long_chain']:,}-event chain": (
                [http_query(correlation_id=ds.long_chain_id)],
                lambda i: query_args(correlation_id=ds.long_chain_id)),
            "event type + since 24h, limit 50": (
                [http_query(event_type=t, since=iso(since), limit=50) for t in TYPES],
                lambda i: query_args(event_type=TYPES[i % len(TYPES)], since=since)),
            f"deep offset {offset:,}, limit 50": (
                [http_query(offset=offset, limit=50)],
                lambda i: query_args(offset=offset)),
        }
        with psycopg.connect(libpq_url(ds.url), autocommit=True) as conn:
            stored = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
            recent = conn.execute("SELECT count(*) FROM audit_events WHERE event_timestamp >= %s",
                                  (since,)).fetchone()[0]
            type_counts = dict(conn.execute(
                "SELECT event_type, count(*) FROM audit_events WHERE event_timestamp >= %s "
                "AND event_type = ANY(%s) GROUP BY 1", (since, list(TYPES))).fetchall())
            # How each statement inside the function reads the table (one call each).
            populated = populated_partitions(conn)
            explainer = NestedPlans(conn, analyze=True)
            for label, (_, args) in cases.items():
                explains[label] = plan_summary(explainer.of(
                    "SELECT datastorage.query_audit_events(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    args(0)), populated)
        checks.update(stored_events=stored, events_last_24h=recent,
                      type_counts_last_24h=type_counts)
        log(f"dataset {ds.meta['database']}: {stored:,} events, {recent:,} in the last 24 h")

        svc = start_service(ds.url, workers=1)
        pg_pid = ds.postmaster_pid()
        try:
            # Correctness first (untimed): exact totals, right pages.
            with httpx.Client(base_url=svc.base_url, timeout=60) as client:
                body = client.get(PATH, params={"correlation_id": cids[0]}).json()
                checks["by_cid_total_ok"] = body["pagination"]["total"] == lengths[sample[0]]
                body = client.get(PATH, params={"event_type": TYPES[0], "since": iso(since),
                                                "limit": 50}).json()
                checks["type_since_total_ok"] = total_ok(body["pagination"]["total"],
                                                         type_counts.get(TYPES[0], 0))
                body = client.get(PATH, params={"offset": offset, "limit": 50}).json()
                checks["deep_offset_total_ok"] = total_ok(body["pagination"]["total"], stored)
                checks["deep_offset_page_len"] = len(body["data"])
            log(f"checks: {checks}")

            def http(reqs, n, label, kind):
                with CpuMeter(service=svc.proc.pid, postgres=pg_pid) as m:
                    res = http_load(svc.base_url, reqs, clients=n, duration=duration,
                                    warmup=warmup)
                m.into(res)
                bad = {s: k for s, k in res.statuses.items() if s != 200}
                if bad or res.errors:
                    log(f"WARNING {label}: statuses {res.statuses}, errors {res.errors}")
                return row(label, kind, res)

            live = [http_request("GET", "/health/live")]
            phases.append(http(live, 1, "HTTP ceiling: GET /health/live", "ceiling"))
            phases.append(http(live, clients, "HTTP ceiling: GET /health/live", "ceiling"))
            for label, (reqs, args) in cases.items():
                log(f"{label}: SQL function (1 connection), HTTP (1, then {clients})")
                with CpuMeter(postgres=pg_pid) as m:
                    res = asyncpg_load(ds.url, QUERY_SQL, args, clients=1, duration=duration,
                                       warmup=warmup)
                phases.append(row(label, "sql", m.into(res)))
                phases.append(http(reqs, 1, label, "http"))
                phases.append(http(reqs, clients, label, "http"))
                log(f"    p99: SQL {phases[-3]['p99_ms']} ms, HTTP {phases[-2]['p99_ms']} ms; "
                    f"{phases[-1]['requests_per_s']:,} req/s with {clients} connections")
        finally:
            stop_service(svc)
        meta = {k: ds.meta.get(k) for k in ("database", "events", "chains", "months",
                                           "long_chain", "anchor", "generated_at", "size_mb")}

    def find(label, kind, n):
        return next(p for p in phases if p["label"] == label and p["kind"] == kind
                    and p["clients"] == n)

    labels = list(cases)
    targets = [
        target("by correlation id: HTTP p99 (1 connection), ms",
               find(labels[0], "http", 1)["p99_ms"], "<", 10),
        target("event type + since 24h, limit 50: HTTP p99 (1 connection), ms",
               find(labels[2], "http", 1)["p99_ms"], "<", 50),
    ]
    config = {"quick": quick, "duration_s": duration, "warmup_s": warmup, "clients": clients,
              "dataset": meta, "since": iso(since), "deep_offset": offset,
              "service": "1 worker, default pool (16)"}
    md = render(phases, targets, config, checks, explains, labels, clients)
    doc = {"config": config, "phases": phases, "targets": targets, "checks": checks,
           "explain": explains, "command": "python -m bench.bench_query"
           + (" --quick" if quick else ""), "markdown": md}
    path = write_results(NAME, doc, md)
    print(md)
    log(f"results: {path}")
    return doc


def render(phases, targets, config, checks, explains, labels, clients) -> str:
    def get(label, kind, n):
        return next((p for p in phases if p["label"] == label and p["kind"] == kind
                     and p["clients"] == n), {})

    live1 = get("HTTP ceiling: GET /health/live", "ceiling", 1)
    liven = get("HTTP ceiling: GET /health/live", "ceiling", clients)
    rows = [["GET /health/live (HTTP ceiling)", live1.get("p50_ms"), live1.get("p99_ms"),
             None, None, liven.get("requests_per_s"), liven.get("p99_ms"), None]]
    for label in labels:
        s, h1, hn = get(label, "sql", 1), get(label, "http", 1), get(label, "http", clients)
        cpu = hn.get("cpu_us_per_item") or {}
        rows.append([label, h1.get("p50_ms"), h1.get("p99_ms"), s.get("p50_ms"), s.get("p99_ms"),
                     hn.get("requests_per_s"), hn.get("p99_ms"),
                     " + ".join(f"{cpu[k]:.0f}" for k in ("service", "postgres") if k in cpu)
                     or None])
    ds = config["dataset"]
    out = [f"### Audit queries ({ds['events']:,} events, {ds['chains']:,} correlation ids, "
           f"{ds['months']} monthly partitions; {config['duration_s']:.0f} s per phase, "
           f"service with 1 worker)\n\n",
           markdown_table(["query", "HTTP p50 ms", "HTTP p99 ms", "SQL p50 ms", "SQL p99 ms",
                           f"HTTP req/s ({clients} conn)", f"HTTP p99 ms ({clients} conn)",
                           "CPU µs/req: service + PG"], rows),
           "\nHTTP and SQL p50/p99 with one connection (one request at a time); SQL = the "
           "same function over asyncpg (role datastorage_app).\n\n",
           markdown_table(["target", "value", "limit", "met"],
                          [[t["target"], t["value"], f"{t['op']} {t['limit']}", t["met"]]
                           for t in targets]),
           "\nHow the function's statements read audit_events (EXPLAIN ANALYZE of one call):\n\n",
           markdown_table(["query", "statement ms", "buffers hit/read", "scans"],
                          [[label, e["ms"], f"{e['shared_hit_blocks']}/{e['shared_read_blocks']}",
                            ", ".join(f"{k} ×{v}" for k, v in e["scans"].items())]
                           for label, es in explains.items() for e in es]),
           f"\nChecks: {json.dumps({k: v for k, v in checks.items() if k != 'type_counts_last_24h'})}\n"]
    return "".join(out)


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_query",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="the 20,000-event dataset, 2 s phases")
    ap.add_argument("--duration", type=float, help="seconds measured per phase")
    ap.add_argument("--clients", type=int, default=16)
    a = ap.parse_args(argv)
    main(quick=a.quick or quick_mode([]), duration=a.duration, clients=a.clients)


if __name__ == "__main__":
    cli(sys.argv[1:])
