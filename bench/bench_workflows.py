"""Workflow catalog benchmark (issue 6, "Performance"): `python -m bench.bench_workflows`.

One private cluster, one run, every HTTP number beside its SQL ceiling:

  create    POST /api/v1/workflows, 16 keep-alive clients, every body a new
            workflow (its created audit event is appended in the same
            transaction); ceilings: datastorage.create_workflow from 16 direct
            asyncpg connections with the audit event and without it, and the
            same pair from one connection (the difference is what auditing a
            create costs, in throughput and in latency).
  catalog   topped up to 10,000 rows (the rest: 4 rows per 3 names)
            with a realistic spread: Zipf-distributed signal types, 4
            severities, priorities and components with ~5% wildcards,
            environment sets, detected labels on ~30% of workflows, 0-3
            custom labels.
  search    POST /api/v1/workflows/search, 32 clients, closed loop, queries
            drawn from the same spread (with detected and custom labels), each
            with its own remediation_id; ceiling: the function the service
            calls, datastorage.search_workflows_rendered (the search and its
            results rendered as JSON text), from 32 asyncpg connections; the
            bare datastorage.search_workflows (typed rows) beside it for
            reference. Also one client alone (latency
            without queueing). The service reports in Server-Timing
            how long each request spent searching and how long storing its
            audit event; both are summarised. Then an open-loop run at half the
            closed-loop maximum (latency counted from when a request was due).
            A second service with DS_AUDIT_LINGER=0 (the search audit writer
            without its wait window) runs the closed and open loops beside it,
            phases alternating; the search events each append call carried
            are counted per phase (they share its transaction id).

Target (issue 6): search p99 < 20 ms at 32 concurrent clients.
"""
from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import orjson
import psycopg

from app import events
from app.migrate import libpq_url
from app.workflows import service_event
from bench.common import (BenchCluster, CpuMeter, HttpClient, asyncpg_load, collapsed_summary,
                          drive, http_load, http_request, latency_summary, log, markdown_table,
                          py_spy_record, quick_mode, results_dir, run_async, sanic_workers,
                          start_service, stop_service, target, write_results)

NAME = "bench_workflows"
CATALOG_ROWS = 10_000
SIGNALS = ["OOMKilled", "CrashLoopBackOff", "ImagePullBackOff", "NodeNotReady", "HighCPUUsage",
           "HighMemoryUsage", "DiskPressure", "PodEvicted", "Evicted", "FailedScheduling",
           "LivenessProbeFailed", "ReadinessProbeFailed", "CertificateExpiring",
           "PVCPending", "HPAMaxedOut", "DeploymentReplicasMismatch", "JobFailed",
           "NetworkPolicyDenied", "DNSResolutionFailure", "APIServerLatency", "EtcdLeaderChange",
           "KubeletDown", "ContainerCreating", "ConfigMapMissing", "SecretMissing",
           "ErrImageNeverPull", "InsufficientCPU", "InsufficientMemory", "NodeDiskFull",
           "IngressErrors"]
SIGNAL_WEIGHTS = [1 / (i + 1) for i in range(len(SIGNALS))]  # Zipf: OOMKilled is common
SEVERITIES = ["critical", "high", "medium", "low"]
PRIORITIES = ["P0", "P1", "P2", "P3"]
COMPONENTS = ["pod", "deployment", "statefulset", "daemonset", "node", "service", "ingress",
              "job", "cronjob", "pvc"]
ENVS = ["production", "staging", "development", "test"]
CUSTOM_KEYS = {"team": ["payments", "checkout", "platform", "search", "identity"],
               "constraint": ["cost-constrained", "stateful-safe", "no-restart", "pci"],
               "tier": ["gold", "silver", "bronze"],
               "kubernaut.io/region": ["eu-west-1", "us-east-1", "ap-south-1"]}
CREATE_SQL = "SELECT * FROM datastorage.create_workflow($1, $2, $3)"
SEARCH_SQL = "SELECT * FROM datastorage.search_workflows($1, $2, $3, $4)"
RENDERED_SQL = "SELECT * FROM datastorage.search_workflows_rendered($1, $2, $3, $4)"


# ---- the realistic spread ------------------------------------------------------

def _labels(rng: random.Random) -> dict:
    envs = ["*"] if rng.random() < 0.05 else sorted(rng.sample(ENVS, rng.choice([1, 1, 2, 3])))
    return {"signal_type": rng.choices(SIGNALS, SIGNAL_WEIGHTS)[0],
            "severity": rng.choice(SEVERITIES),
            "component": "*" if rng.random() < 0.05 else rng.choice(COMPONENTS),
            "environment": envs,
            "priority": "*" if rng.random() < 0.05 else rng.choice(PRIORITIES)}


def _detected(rng: random.Random, p: float) -> dict:
    d: dict = {}
    if rng.random() < p:
        d["gitOpsManaged"] = True
        d["gitOpsTool"] = rng.choice(["argocd", "flux", "*"])
    for key in ("pdbProtected", "hpaEnabled", "stateful", "helmManaged", "networkIsolated"):
        if rng.random() < p:
            d[key] = True
    if rng.random() < p:
        d["serviceMesh"] = rng.choice(["istio", "linkerd", "*"])
    return d


def _custom(rng: random.Random, allow_star: bool) -> dict:
    out = {}
    for key in rng.sample(list(CUSTOM_KEYS), rng.choice([0, 1, 1, 2, 3])):
        pool = CUSTOM_KEYS[key] + (["*"] if allow_star else [])
        out[key] = rng.sample(pool, rng.choice([1, 1, 2]))
    return out


def workflow_body(rng: random.Random, name: str, version: str) -> dict:
    content = f"apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata: {{name: {name}}}\n" * 8
    return {"workflow_name": name, "version": version, "name": f"Remediate {name}",
            "description": f"Remediation workflow {name} {version}: restarts, scales or rolls back.",
            "owner": "platform-team", "maintainer": "sre@example.com", "content": content,
            "content_hash": "%064x" % rng.getrandbits(256), "execution_engine": "tekton",
            "container_image": f"ghcr.io/kubernaut/workflows/{name}:{version}",
            "status": "active" if rng.random() < 0.9 else "disabled",
            "labels": _labels(rng), "detected_labels": _detected(rng, 0.3),
            "custom_labels": _custom(rng, True), "parameters": {"timeout": "5m", "replicas": 2}}


def catalog_bodies(rng: random.Random, prefix: str, count: int, names: int) -> list[dict]:
    """`count` bodies over `names` names, versions of a name in creation order."""
    per_name = [1] * names
    for _ in range(count - names):
        per_name[rng.randrange(names)] += 1
    out = []
    for n, versions in enumerate(per_name):
        out += [workflow_body(rng, f"{prefix}-{n}", f"v{v + 1}.0.0") for v in range(versions)]
    rng.shuffle(out)  # creates of one name stay in order below
    out.sort(key=lambda b: (int(b["version"][1:].split(".")[0])))
    return out


def search_body(rng: random.Random, n: int) -> dict:
    lab = _labels(rng)
    filters = {"signal_type": lab["signal_type"], "severity": lab["severity"],
               "component": rng.choice(COMPONENTS), "environment": rng.choice(ENVS[:2] * 3 + ENVS),
               "priority": rng.choice(PRIORITIES), "detected_labels": _detected(rng, 0.4)}
    custom = _custom(rng, False)
    if custom:
        filters["custom_labels"] = custom
    return {"remediation_id": f"rem-{n}-{uuid.uuid4().hex[:8]}", "filters": filters, "top_k": 10}


# ---- create ----------------------------------------------------------------------

def create_args(rng: random.Random, prefix: str, with_event: bool):
    """args(i) for the direct ceiling: what the service passes for a new workflow."""
    def args(i: int) -> tuple:
        body = workflow_body(rng, f"{prefix}-{i}", "v1.0.0")
        wid = str(uuid.uuid4())
        event = None
        if with_event:
            data = {"event_type": "datastorage.workflow.created", "workflow_id": wid,
                    "workflow_name": body["workflow_name"], "version": body["version"],
                    "status": body["status"], "is_latest_version": True,
                    "execution_engine": body["execution_engine"], "name": body["name"],
                    "description": body["description"], "labels": body["labels"]}
            event = events.payload([service_event("datastorage.workflow.created", "create",
                                                  "Workflow", wid, wid, data,
                                                  max_bytes=1 << 24)])
        return orjson.dumps(body).decode(), wid, event
    return args


def top_up(url: str, bodies: list[dict]) -> None:
    """Direct SQL inserts through create_workflow (same rules, no HTTP)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.executemany("SELECT datastorage.create_workflow(%s::jsonb)",
                            [(orjson.dumps(b).decode(),) for b in bodies])


# ---- search with Server-Timing --------------------------------------------------

class TimedClient(HttpClient):
    """HttpClient that also records the Server-Timing header of each answer."""

    def __init__(self, *a, timings: list, **kw):
        super().__init__(*a, **kw)
        self.timings = timings
        self.head = b""

    async def open(self) -> None:
        await super().open()
        read = self.reader.readuntil

        async def readuntil(separator=b"\n"):
            self.head = await read(separator)
            return self.head
        self.reader.readuntil = readuntil

    async def call(self, i: int) -> int:
        status = await super().call(i)
        for line in self.head.split(b"\r\n"):
            if line.lower().startswith(b"server-timing:"):
                parts = dict(p.strip().split(";dur=") for p in line[14:].decode().split(","))
                self.timings.append((time.perf_counter(), float(parts["search"]),
                                     float(parts["audit"])))
        return status


def timed_search(base_url: str, requests: list[bytes], *, clients: int, duration: float,
                 warmup: float, rate: float | None = None):
    from urllib.parse import urlsplit
    parts = urlsplit(base_url)
    timings: list = []
    started = time.perf_counter()
    wall = datetime.now(timezone.utc)
    res = run_async(drive(lambda: TimedClient(parts.hostname, parts.port, requests,
                                              timings=timings),
                          clients=clients, duration=duration, warmup=warmup, rate=rate))
    measured = [t for t in timings if t[0] >= started + warmup]
    server = {"search_ms": latency_summary([t[1] / 1000 for t in measured]),
              "audit_ms": latency_summary([t[2] / 1000 for t in measured])}
    # When this phase's measured audit events were built (append_calls).
    window = (wall + timedelta(seconds=warmup), datetime.now(timezone.utc))
    return res, server, window


def audit_lag(base_url: str) -> dict[float, float]:
    """Cumulative bucket counts of datastorage_audit_lag_seconds{service="workflow"}."""
    import httpx
    out: dict[float, float] = {}
    for line in httpx.get(base_url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("datastorage_audit_lag_seconds_bucket") and 'service="workflow"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def lag_quantiles(before: dict, after: dict) -> dict:
    """Upper bounds (bucket edges, ms) of p50/p99 of the events stored in between."""
    diff = sorted((le, after.get(le, 0) - before.get(le, 0)) for le in after)
    total = diff[-1][1] if diff else 0
    res: dict = {"events": int(total)}
    for name, q in (("p50_le_ms", 0.5), ("p99_le_ms", 0.99)):
        res[name] = next((le * 1000 for le, n in diff if total and n >= q * total), None)
    return res


def append_calls(url: str, windows: dict[str, tuple]) -> dict:
    """Events per append call, per phase: the search audit events one call
    stored share its transaction id (event_timestamp: when the event was built)."""
    out = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for name, (start, end) in windows.items():
            events_, calls = conn.execute(
                "SELECT count(*), count(DISTINCT xmin::text) FROM audit_events "
                "WHERE event_type = 'workflow.catalog.search_completed' "
                "AND event_timestamp >= %s AND event_timestamp < %s", (start, end)).fetchone()
            out[name] = {"events": events_, "calls": calls,
                         "events_per_call": round(events_ / calls, 2) if calls else None}
    return out


def row(label: str, res, *, ceiling: float | None = None, note: str = "") -> dict:
    d = res.to_dict()
    return {"phase": label, **d, "ceiling_per_s": None if ceiling is None else round(ceiling, 1),
            "ratio_to_ceiling": None if not ceiling else round(res.rate / ceiling, 3),
            "note": note}


def _cpu_ratio(ceiling, service) -> float | None:
    a = ceiling.to_dict().get("cpu_us_per_item") or {}
    b = service.to_dict().get("cpu_us_per_item") or {}
    spent = b.get("service", 0) + b.get("postgres", 0)
    return round(a["postgres"] / spent, 3) if a.get("postgres") and spent else None


def _cpu(phase: dict) -> str:
    cpu = phase.get("cpu_us_per_item") or {}
    return ", ".join(f"{k} {v:,.0f}" for k, v in cpu.items() if k != "client") or "–"


def check(label: str, res, *ok: int) -> None:
    other = {s: n for s, n in res.statuses.items() if s not in ok}
    if other or res.errors or not res.completed:
        log(f"WARNING {label}: statuses {res.statuses}, errors {res.errors}")


def main(quick: bool = False, *, workers: int = 1, search_clients: int = 32,
         create_clients: int = 16, duration: float | None = None,
         warmup: float | None = None) -> dict:
    duration = duration or (3.0 if quick else 15.0)
    warmup = warmup if warmup is not None else (0.5 if quick else 2.0)
    rng = random.Random(6)
    phases: list[dict] = []
    server_timing: dict = {}
    audit_delay: dict = {}
    windows: dict = {}
    with BenchCluster() as pg:
        url = pg.database("bench_workflows")
        log(f"cluster ready ({pg.settings})")

        # ---- create: ceilings first, in a scratch database ----------------------
        scratch = pg.database("bench_workflows_scratch")
        log("create, 1 client: create_workflow with and without its audit event")
        one_ev = asyncpg_load(scratch, CREATE_SQL, create_args(rng, "oe", True), clients=1,
                              duration=duration / 2, warmup=warmup)
        one_no = asyncpg_load(scratch, CREATE_SQL, create_args(rng, "on", False), clients=1,
                              duration=duration / 2, warmup=warmup)
        phases.append(row("SQL create_workflow, 1 client, without audit event", one_no))
        phases.append(row("SQL create_workflow, 1 client, with audit event", one_ev,
                          ceiling=one_no.rate, note="vs without the event"))
        log(f"    p50 {one_no.to_dict()['p50_ms']} -> {one_ev.to_dict()['p50_ms']} ms")
        log(f"create ceiling: create_workflow + audit event, {create_clients} asyncpg clients")
        c_ev = asyncpg_load(scratch, CREATE_SQL, create_args(rng, "ce", True),
                            clients=create_clients, duration=duration, warmup=warmup)
        log(f"    {c_ev.rate:,.0f}/s")
        log("create ceiling: create_workflow without the audit event")
        c_no = asyncpg_load(scratch, CREATE_SQL, create_args(rng, "cn", False),
                            clients=create_clients, duration=duration, warmup=warmup)
        log(f"    {c_no.rate:,.0f}/s")
        phases.append(row("SQL create_workflow without audit event", c_no))
        phases.append(row("SQL create_workflow with audit event", c_ev, ceiling=c_no.rate,
                          note="vs without the event"))

        svc = start_service(url, workers=workers)
        try:
            # ---- create over HTTP: new names only, so every request is a 201 --------
            fresh = [http_request("POST", "/api/v1/workflows",
                                  orjson.dumps(workflow_body(rng, f"http-{i}", "v1.0.0")))
                     for i in range(40_000 if not quick else 8_000)]
            log(f"HTTP create, {create_clients} clients")
            hc = http_load(svc.base_url, fresh, clients=create_clients, duration=duration,
                           warmup=warmup)
            check("create", hc, 201)
            phases.append(row("HTTP POST /api/v1/workflows", hc, ceiling=c_ev.rate,
                              note="vs SQL with event"))
            log(f"    {hc.rate:,.0f}/s, p99 {hc.to_dict()['p99_ms']} ms")
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                have = conn.execute("SELECT count(*) FROM remediation_workflow_catalog").fetchone()[0]
            need = max(0, CATALOG_ROWS - have)
            log(f"catalog: {have} rows from the create phase, topping up {need}")
            top_up(url, catalog_bodies(rng, "wf", need, need * 3 // 4))
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                conn.execute("ANALYZE remediation_workflow_catalog")
                stats = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE is_latest_version), "
                    "count(DISTINCT labels->>'signal_type') FROM remediation_workflow_catalog"
                ).fetchone()
            log(f"catalog: {stats[0]} rows, {stats[1]} latest, {stats[2]} signal types")

            # ---- search ------------------------------------------------------------
            queries = [search_body(rng, n) for n in range(5_000)]
            sql_args = [(orjson.dumps(q["filters"]).decode(), 10, Decimal(0), False) for q in queries]
            # The ceiling is the function the service calls, alone: the search
            # and the rendering of its two result arrays. The bare search
            # (typed rows, no rendering) is measured beside it for reference.
            log("search ceiling: search_workflows_rendered, 1 asyncpg client")
            s_one = asyncpg_load(url, RENDERED_SQL, lambda i: sql_args[i % len(sql_args)],
                                 clients=1, duration=duration / 2, warmup=warmup)
            phases.append(row("SQL search_workflows_rendered, 1 client", s_one))
            log(f"    p50 {s_one.to_dict()['p50_ms']} ms")
            log(f"search ceiling: search_workflows_rendered, {search_clients} asyncpg clients")
            with CpuMeter(postgres=pg.postmaster_pid()) as meter:
                s_sql = asyncpg_load(url, RENDERED_SQL, lambda i: sql_args[i % len(sql_args)],
                                     clients=search_clients, duration=duration, warmup=warmup)
            meter.into(s_sql)
            log(f"    {s_sql.rate:,.0f}/s p99 {s_sql.to_dict()['p99_ms']} ms, "
                f"CPU µs per search {s_sql.to_dict().get('cpu_us_per_item')}")
            phases.append(row("SQL search_workflows_rendered", s_sql))
            log(f"reference: search_workflows (typed rows), {search_clients} asyncpg clients")
            with CpuMeter(postgres=pg.postmaster_pid()) as meter:
                s_bare = asyncpg_load(url, SEARCH_SQL, lambda i: sql_args[i % len(sql_args)],
                                      clients=search_clients, duration=duration, warmup=warmup)
            meter.into(s_bare)
            log(f"    {s_bare.rate:,.0f}/s, CPU µs per search {s_bare.to_dict().get('cpu_us_per_item')}")
            phases.append(row("SQL search_workflows (reference: rows not rendered)", s_bare))
            reqs = [http_request("POST", "/api/v1/workflows/search", orjson.dumps(q))
                    for q in queries]

            def metered(svc, key: str, rate: float | None = None):
                """A search phase with its Server-Timing, time window and server
                CPU per search (service + PostgreSQL: robust to the machine's load)."""
                with CpuMeter(service=svc.proc.pid, postgres=pg.postmaster_pid()) as meter:
                    res, server_timing[key], windows[key] = timed_search(
                        svc.base_url, reqs, clients=search_clients, duration=duration,
                        warmup=warmup, rate=rate)
                return meter.into(res)
            # A/B in the same run: a second service whose audit writer has no
            # wait window (each call takes what queued while the previous one
            # ran), started now so that both are warm; phases alternate
            # (A closed, B closed; open loops A B B A) so neither always goes last.
            svc0 = start_service(url, workers=workers, env={"DS_AUDIT_LINGER": "0"})
            try:
                log("HTTP search, 1 client")
                lag0 = audit_lag(svc.base_url)
                h1, server_timing["1 client"], windows["1 client"] = timed_search(
                    svc.base_url, reqs, clients=1, duration=duration / 2, warmup=warmup)
                lag1 = audit_lag(svc.base_url)
                audit_delay["1 client"] = lag_quantiles(lag0, lag1)
                check("search 1", h1, 200)
                phases.append(row("HTTP search, 1 client", h1, ceiling=s_one.rate,
                                  note="vs SQL search_workflows_rendered, 1 client"))
                log(f"    p50 {h1.to_dict()['p50_ms']} p99 {h1.to_dict()['p99_ms']} ms")
                log(f"HTTP search, {search_clients} clients, closed loop")
                hs = metered(svc, "closed")
                lag2 = audit_lag(svc.base_url)
                audit_delay["closed"] = lag_quantiles(lag1, lag2)
                check("search", hs, 200)
                closed = row(f"HTTP search, {search_clients} clients, closed loop", hs,
                             ceiling=s_sql.rate, note="vs SQL search_workflows_rendered")
                log(f"    {hs.rate:,.0f}/s p50 {closed['p50_ms']} p99 {closed['p99_ms']} ms, "
                    f"CPU µs per search {closed.get('cpu_us_per_item')}")
                half = hs.rate / 2
                log(f"B: DS_AUDIT_LINGER=0, {search_clients} clients, closed loop")
                hs0 = metered(svc0, "closed, linger 0")
                check("search B", hs0, 200)
                closed0 = row(f"HTTP search, {search_clients} clients, closed loop, "
                              "DS_AUDIT_LINGER=0", hs0, ceiling=s_sql.rate,
                              note="vs SQL search_workflows_rendered")
                log(f"    {hs0.rate:,.0f}/s, CPU µs per search {closed0.get('cpu_us_per_item')}")

                def open_loop(service, key: str, label: str) -> dict:
                    log(f"{label} at {half:,.0f}/s")
                    lag = audit_lag(service.base_url)
                    res = metered(service, key, rate=half)
                    audit_delay[key] = lag_quantiles(lag, audit_lag(service.base_url))
                    check(label, res, 200)
                    out = row(label, res)
                    log(f"    p50 {out['p50_ms']} p99 {out['p99_ms']} ms, "
                        f"CPU µs per search {out.get('cpu_us_per_item')}")
                    return out
                # Open loops in the order A B B A: a later phase runs on more
                # stored events (and meets autovacuum more often), so each
                # side gets one early and one late round.
                a_label = f"HTTP search, open loop at half max, {search_clients} conns"
                b_label = "HTTP search, open loop at the same rate, DS_AUDIT_LINGER=0"
                opened = open_loop(svc, "open", a_label)
                opened0 = open_loop(svc0, "open, linger 0", b_label)
                opened0_2 = open_loop(svc0, "open 2, linger 0", b_label + ", round 2")
                opened_2 = open_loop(svc, "open 2", a_label + ", round 2")
                phases += [closed, opened, opened_2, closed0, opened0, opened0_2]
            finally:
                stop_service(svc0)
        finally:
            stop_service(svc)
        per_call = append_calls(url, windows)

    targets = [target("search p99 at 32 clients, closed loop (ms)", closed["p99_ms"], "<", 20.0),
               target("search p99 at half max rate, open loop (ms), the worse of two rounds",
                      max(opened["p99_ms"], opened_2["p99_ms"]), "<", 20.0),
               # Issue 15: the HTTP layer within 0.8 of the SQL it calls, same concurrency.
               target(f"issue 15: HTTP search / SQL search_workflows_rendered, {search_clients} "
                      "connections", hs.rate / s_sql.rate if s_sql.rate else None, ">=", 0.8),
               # Where the cores are the limit (a quiet machine), the rates go
               # inversely with the server CPU each path needs per search.
               target("the same projected from server CPU per search (PostgreSQL; "
                      "service + PostgreSQL)", _cpu_ratio(s_sql, hs), ">=", 0.8)]
    doc = {"config": {"workers": workers, "search_clients": search_clients,
                      "create_clients": create_clients, "duration_s": duration,
                      "warmup_s": warmup, "catalog_rows": CATALOG_ROWS, "quick": quick,
                      "catalog": {"rows": stats[0], "latest": stats[1], "signal_types": stats[2]}},
           "phases": phases, "server_timing": server_timing,
           "search_audit_delay": audit_delay, "search_audit_calls": per_call, "targets": targets,
           "command": "python -m bench.bench_workflows" + (" --quick" if quick else "")}
    md = (f"### Workflow catalog (catalog {stats[0]:,} rows, {stats[1]:,} latest; "
          f"service workers: {workers})\n\n"
          + markdown_table(["phase", "clients", "req/s", "p50 ms", "p99 ms", "ratio to ceiling",
                            "CPU µs per request", "statuses"],
                           [[p["phase"], p["clients"], p["requests_per_s"], p["p50_ms"],
                             p["p99_ms"], p["ratio_to_ceiling"], _cpu(p), p["statuses"]]
                            for p in phases])
          + "\nInside the service (Server-Timing), ms. On the request path the audit event is "
            "only built and queued (\"audit build+queue\"); the group-commit writer commits it "
            "after the response (\"audit delay\": event built -> committed, read from the lag "
            "histogram's buckets, so an upper bound):\n\n"
          + markdown_table(["run", "SQL call p50", "SQL call p99", "audit build+queue p50",
                            "audit build+queue p99", "audit delay p50 <=", "audit delay p99 <=",
                            "events per append call"],
                           [[k, v["search_ms"]["p50_ms"], v["search_ms"]["p99_ms"],
                             v["audit_ms"]["p50_ms"], v["audit_ms"]["p99_ms"],
                             audit_delay.get(k, {}).get("p50_le_ms"),
                             audit_delay.get(k, {}).get("p99_le_ms"),
                             per_call.get(k, {}).get("events_per_call")]
                            for k, v in server_timing.items()])
          + "\n" + markdown_table(["target", "value", "limit", "met"],
                                  [[t["target"], t["value"], f"{t['op']} {t['limit']}", t["met"]]
                                   for t in targets]))
    path = write_results(NAME, doc, md)
    print(md)
    log(f"results: {path}")
    return doc


def profile(quick: bool = False, *, clients: int = 32, seconds: float | None = None) -> dict:
    """py-spy on the service's worker during the closed-loop search: where the
    Python layer spends a search. Writes workflows_profile.{json,md} and the
    collapsed stacks (workflows_profile_search.txt, flamegraph.pl input)."""
    seconds = seconds or (4.0 if quick else 12.0)
    rng = random.Random(6)
    with BenchCluster() as pg:
        url = pg.database("bench_workflows_profile")
        top_up(url, catalog_bodies(rng, "wf", CATALOG_ROWS, CATALOG_ROWS * 3 // 4))
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("ANALYZE remediation_workflow_catalog")
        reqs = [http_request("POST", "/api/v1/workflows/search", orjson.dumps(search_body(rng, n)))
                for n in range(5_000)]
        svc = start_service(url, workers=1)
        try:
            worker = sanic_workers(svc.proc.pid)[0]
            raw = results_dir(quick) / "workflows_profile_search.txt"
            raw.parent.mkdir(parents=True, exist_ok=True)
            http_load(svc.base_url, reqs, clients=clients, duration=1.0, warmup=0.2)
            log(f"profiling the search for {seconds:.0f} s")
            spy = py_spy_record(worker, seconds + 1, raw)
            with CpuMeter(service=svc.proc.pid, postgres=pg.postmaster_pid()) as meter:
                res = http_load(svc.base_url, reqs, clients=clients, duration=seconds, warmup=0.5)
            meter.into(res)
            spy.wait()
        finally:
            stop_service(svc)
    out = {"tool": "py-spy (record --nonblocking -r 200 -f raw)", "quick": quick,
           "load": res.to_dict(), **collapsed_summary(raw, 40)}
    md = (f"### Workflow search profile (py-spy, 1 worker, {clients} clients)\n\n"
          f"{res.rate:,.0f} searches/s, CPU µs per search {res.to_dict().get('cpu_us_per_item')}, "
          f"{out['samples']} samples; share of the worker's busy samples\n\n"
          + markdown_table(["function", "inclusive %", "self %"],
                           [[r["function"], r["inclusive_pct"], r["self_pct"]] for r in out["top"]]))
    write_results("workflows_profile", out, md)
    print(md)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="python -m bench.bench_workflows",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 s phases: a smoke run")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--search-clients", type=int, default=32)
    ap.add_argument("--create-clients", type=int, default=16)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--profile", action="store_true",
                    help="instead: py-spy on the worker during the closed-loop search")
    a = ap.parse_args()
    if a.profile:
        profile(quick=a.quick, clients=a.search_clients, seconds=a.duration)
        raise SystemExit(0)
    main(quick=a.quick or quick_mode([]), workers=a.workers, search_clients=a.search_clients,
         create_clients=a.create_clients, duration=a.duration)
