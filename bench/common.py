"""Machinery shared by every benchmark in bench/.

* `BenchCluster`: a private PostgreSQL (default: tmpfs, fsync off — the same
  settings as the test suite; every ceiling runs on the same cluster as the
  numbers compared with it, so the setting cancels out of the ratios). Pass
  `durable=True` (or set BENCH_DURABLE=1) for fsync + synchronous_commit on a
  disk directory when absolute commit latency is the question.
* `start_service`: the real `datastorage serve` (harness.Service, shared with the tests).
* `RssSampler`: resident memory of the service's whole process tree (/proc),
  sampled while load runs; per-process peaks, so "per worker" is exact.
* `drive` / `http_load`: a load generator on raw asyncio streams (HTTP/1.1
  keep-alive, one request in flight per connection). Closed loop = every
  connection sends its next request as soon as the previous answer arrived
  (maximum throughput). Open loop = requests are due at a fixed rate whatever
  the server does, and latency is counted from the moment a request was DUE,
  so a stalled server cannot hide its queue (no coordinated omission).
  `generator_ceiling` measures the generator itself against a null server.
* `asyncpg_load`: the same closed/open loop over asyncpg connections (direct
  SQL ceilings). `run_pgbench`: pgbench with a custom script, latencies from
  its per-transaction log.
* `write_results`: bench/results/<name>.json plus a Markdown table snippet
  bench/results/<name>.md, in the shape bench/run.py collects.
"""
from __future__ import annotations

import asyncio
import glob
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

import psycopg

from app.embedded_pg import Cluster, find_bindir
from app.migrate import libpq_url, migrate
from harness import Service, free_port, poll, scratch_dir

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"


def quick_mode(argv: Sequence[str] | None = None) -> bool:
    """`--quick` on the command line or BENCH_QUICK=1 in the environment."""
    argv = sys.argv[1:] if argv is None else argv
    return "--quick" in argv or os.environ.get("BENCH_QUICK", "") not in ("", "0")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- PostgreSQL ----------------------------------------------------------------

def backend_cpu(pid: int) -> float:
    """CPU seconds of a local backend (/proc/PID/schedstat, nanoseconds): what
    a statement cost PostgreSQL, whatever else shares the cores."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


class BenchCluster:
    """A private cluster for one benchmark run; `database()` makes a migrated DB."""

    def __init__(self, durable: bool | None = None):
        if durable is None:
            durable = os.environ.get("BENCH_DURABLE", "") not in ("", "0")
        self.durable = durable
        self.dir = scratch_dir("ds-bench-pg-", durable)
        self.cluster = Cluster(self.dir, durable=durable)
        self.cluster.init()
        self.cluster.start()
        self._n = 0

    @property
    def settings(self) -> str:
        return ("durable: fsync on, synchronous_commit on, data on disk" if self.durable else
                "tmpfs, fsync off, synchronous_commit off, full_page_writes off")

    def url(self, dbname: str = "postgres") -> str:
        return self.cluster.url(dbname)

    def database(self, name: str | None = None) -> str:
        """Create and migrate a database; returns its URL (superuser)."""
        self._n += 1
        name = name or f"bench_{self._n}"
        with psycopg.connect(libpq_url(self.url()), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        migrate(self.url(name))
        return self.url(name)

    def postmaster_pid(self) -> int:
        return int((self.cluster.pgdata / "postmaster.pid").read_text().split()[0])

    def server_version(self) -> str:
        with psycopg.connect(libpq_url(self.url()), autocommit=True) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def close(self) -> None:
        self.cluster.destroy()

    def __enter__(self) -> "BenchCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_service(database_url: str, workers: int = 1, env: dict | None = None):
    """The real service (`datastorage serve --workers N`) in a subprocess."""
    svc = Service(database_url, env=env, workers=workers)
    return svc.start(timeout=60)


def stop_service(svc) -> None:
    svc.stop()
    shutil.rmtree(svc.data_dir, ignore_errors=True)


# --- resident memory --------------------------------------------------------------

def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        # comm may contain spaces or parentheses: the fields after the last ')'.
        rest = text[text.rindex(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(stat.split("/")[2]))
    return kids


def process_tree(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_name(pid: int) -> str:
    """Sanic workers by their SANIC_WORKER_NAME, anything else by its command."""
    try:
        for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if item.startswith(b"SANIC_WORKER_NAME="):
                return item.split(b"=", 1)[1].decode()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"
    if "app.cli" in cmd:
        return "manager (" + cmd.split("-m ", 1)[-1] + ")"
    if "resource_tracker" in cmd:
        return "multiprocessing resource tracker"
    if "spawn_main" in cmd:
        return "multiprocessing helper"
    return cmd[:80]


class RssSampler:
    """Samples the RSS of a process tree in a thread; keeps each process's peak.

    Sanic names its worker processes `Sanic-Server-*`; they are the "per
    worker" figure, the rest (the manager, multiprocessing helpers) is shown
    as overhead."""

    def __init__(self, root_pid: int, interval: float = 0.25):
        self.root_pid = root_pid
        self.interval = interval
        self.peak_total = 0
        self.peaks: dict[int, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._n = 0
        self._pids: list[int] = []

    def sample(self) -> int:
        # Walking all of /proc costs the generator CPU: the tree is re-read
        # every 8th sample only (a service's processes live as long as it does).
        if self._n % 8 == 0:
            self._pids = process_tree(self.root_pid)
        self._n += 1
        total = 0
        for pid in self._pids:
            rss = rss_bytes(pid)
            total += rss
            name, peak = self.peaks.get(pid, (None, 0))
            if name is None:
                name = process_name(pid)
            self.peaks[pid] = (name, max(peak, rss))
        self.peak_total = max(self.peak_total, total)
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "RssSampler":
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()

    def summary(self) -> dict:
        mb = 1024 * 1024
        workers = {pid: v for pid, v in self.peaks.items() if v[0].startswith("Sanic-Server")}
        return {
            "total_peak_mb": round(self.peak_total / mb, 1),
            "worker_peak_mb": round(max((v[1] for v in workers.values()), default=0) / mb, 1),
            "workers": len(workers),
            "total_per_worker_mb": round(self.peak_total / mb / max(1, len(workers)), 1),
            "per_process_peak_mb": {f"{pid} {name}": round(peak / mb, 1)
                                    for pid, (name, peak) in sorted(self.peaks.items())},
        }


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) of a process tree, plus what the root has
    reaped from exited children (PostgreSQL backends that disconnected)."""
    total = 0.0
    for pid in process_tree(root_pid):
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        f = text[text.rindex(")") + 2:].split()
        total += int(f[11]) + int(f[12])  # utime, stime
        if pid == root_pid:
            total += int(f[13]) + int(f[14])  # cutime, cstime
    return total / _TICK


class CpuMeter:
    """CPU seconds used by named process trees during a phase.

    On a shared machine wall-clock throughput depends on what else runs;
    CPU time per event much less so: it is the contention-independent
    cost of each path (reported as cpu_us_per_item)."""

    def __init__(self, **roots: int | None):
        self.roots = {k: v for k, v in roots.items() if v}
        self.used: dict[str, float] = {}

    def __enter__(self) -> "CpuMeter":
        self._t0 = {k: cpu_seconds(pid) for k, pid in self.roots.items()}
        self._own0 = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.used = {k: cpu_seconds(pid) - self._t0[k] for k, pid in self.roots.items()}
        self.used["client"] = time.process_time() - self._own0

    def into(self, res: "LoadResult", client: float | None = None) -> "LoadResult":
        """Attach to a result; `client` overrides the in-process figure (pgbench)."""
        res.cpu = dict(self.used)
        if client is not None:
            res.cpu["client"] = client
        return res


# --- latency statistics --------------------------------------------------------

def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def latency_summary(seconds: Iterable[float]) -> dict:
    """Milliseconds: p50, p90, p99, p99.9, max, mean."""
    values = sorted(seconds)
    if not values:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "p999_ms": None,
                "max_ms": None, "mean_ms": None}

    def ms(x: float) -> float:
        return round(x * 1000, 3)
    return {"p50_ms": ms(percentile(values, 50)), "p90_ms": ms(percentile(values, 90)),
            "p99_ms": ms(percentile(values, 99)), "p999_ms": ms(percentile(values, 99.9)),
            "max_ms": ms(values[-1]), "mean_ms": ms(sum(values) / len(values))}


@dataclass
class LoadResult:
    """What one load phase produced (only requests that finished inside the window)."""

    mode: str
    clients: int
    duration: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    client_cpu_s: float = 0.0
    target_rate: float | None = None
    send_lag: list[float] = field(default_factory=list)  # open loop: due -> sent
    items_per_request: int = 1
    reported_rate: float | None = None  # pgbench's own tps figure
    finished: int = 0  # every request that completed, warm-up and stragglers included
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by party, whole phase

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        if self.reported_rate is not None:
            return self.reported_rate
        return self.completed / self.duration if self.duration else 0.0

    def ok(self, *statuses: int) -> int:
        return sum(self.statuses.get(s, 0) for s in statuses)

    def to_dict(self) -> dict:
        d = {"mode": self.mode, "clients": self.clients, "duration_s": round(self.duration, 3),
             "requests": self.completed, "requests_per_s": round(self.rate, 1),
             "items_per_request": self.items_per_request,
             "items_per_s": round(self.rate * self.items_per_request, 1),
             "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
             "errors": self.errors,
             "client_cpu_pct": round(100 * self.client_cpu_s / self.duration, 1)
             if self.duration else None,
             **latency_summary(self.latencies)}
        if self.cpu and self.finished:
            d["cpu_us_per_item"] = {k: round(v * 1e6 / (self.finished * self.items_per_request), 1)
                                    for k, v in self.cpu.items()}
        if self.target_rate is not None:
            d["target_rate_per_s"] = round(self.target_rate, 1)
            d["send_lag_p99_ms"] = latency_summary(self.send_lag)["p99_ms"]
        return d


# --- the generic driver ------------------------------------------------------------

class Client:
    """One logical client (a connection): `call(i)` performs request number i
    and returns a status (an HTTP status, or 0/1 for SQL)."""

    async def open(self) -> None: ...

    async def call(self, i: int) -> int:
        raise NotImplementedError

    async def close(self) -> None: ...


async def drive(make_client: Callable[[], Client], *, clients: int, duration: float,
                warmup: float = 1.0, rate: float | None = None,
                items_per_request: int = 1, grace: float = 30.0) -> LoadResult:
    """Run `clients` clients for warmup + duration seconds.

    rate None: closed loop (maximum throughput). rate R: open loop, request i
    is due at start + i/R; its latency runs from that moment, so time spent
    waiting for a free connection counts. Only requests that complete inside
    [start + warmup, start + warmup + duration] are counted."""
    conns = [make_client() for _ in range(clients)]
    await asyncio.gather(*(c.open() for c in conns))
    clock = time.perf_counter  # uvloop's loop.time() ticks in whole milliseconds
    res = LoadResult("open" if rate else "closed", clients, duration, target_rate=rate,
                     items_per_request=items_per_request)
    lat, lag, statuses, errors = res.latencies, res.send_lag, res.statuses, res.errors
    ticket = 0
    start = clock() + 0.05
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def worker(conn: Client) -> None:
        nonlocal ticket
        while True:
            i = ticket
            ticket += 1
            if rate:
                due = start + i / rate
                if due >= stop_at:
                    return
                delay = due - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent = clock()
            else:
                sent = due = clock()
                if sent >= stop_at:
                    return
            try:
                status = await conn.call(i)
            except Exception as exc:  # noqa: BLE001 - counted, the client reconnects
                name = type(exc).__name__
                errors[name] = errors.get(name, 0) + 1
                try:
                    await conn.close()
                    await conn.open()
                except Exception:  # noqa: BLE001 - server gone: retry after a pause
                    await asyncio.sleep(0.1)
                continue
            done = clock()
            res.finished += 1
            if measure_from <= done <= stop_at:
                lat.append(done - due)
                statuses[status] = statuses.get(status, 0) + 1
                if rate:
                    lag.append(sent - due)

    cpu0 = time.process_time()
    tasks = [asyncio.ensure_future(worker(c)) for c in conns]
    _, pending = await asyncio.wait(tasks, timeout=warmup + duration + grace)
    for t in pending:  # a request hung past the grace period
        t.cancel()
        errors["timeout"] = errors.get("timeout", 0) + 1
    res.client_cpu_s = time.process_time() - cpu0
    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    return res


def run_async(coro: Awaitable):
    """asyncio.run on uvloop when it is installed (it is: Sanic depends on it)."""
    try:
        import uvloop
        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


# --- HTTP/1.1 client on asyncio streams ------------------------------------------

def http_request(method: str, path: str, body: bytes | str | None = None, *,
                 host: str = "127.0.0.1", content_type: str = "application/json",
                 headers: dict | None = None) -> bytes:
    """The exact bytes of one keep-alive request, built once and sent many times."""
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    if body is not None:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class HttpClient(Client):
    """One keep-alive connection; request i sends requests[i % len(requests)]."""

    def __init__(self, host: str, port: int, requests: Sequence[bytes],
                 keep_bodies: list | None = None):
        self.host, self.port = host, port
        self.requests = requests
        self.keep_bodies = keep_bodies
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port,
                                                                 limit=1 << 20)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def call(self, i: int) -> int:
        if self.writer is None:
            await self.open()
        data = self.requests[i % len(self.requests)]
        self.writer.write(data)
        if len(data) > 65536:
            await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        low = head.lower()
        at = low.find(b"\r\ncontent-length:")
        if at >= 0:
            end = low.index(b"\r\n", at + 2)
            body = await self.reader.readexactly(int(low[at + 17:end]))
        elif b"transfer-encoding: chunked" in low:
            raise ValueError("chunked responses are not supported by the load generator")
        else:
            body = b""
        if self.keep_bodies is not None and len(self.keep_bodies) < 1000:
            self.keep_bodies.append((status, body))
        if b"\r\nconnection: close" in low:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            w, self.writer = self.writer, None
            w.close()
            try:
                await w.wait_closed()
            except OSError:
                pass


def http_load(base_url: str, requests: Sequence[bytes], *, clients: int, duration: float,
              warmup: float = 1.0, rate: float | None = None, items_per_request: int = 1,
              keep_bodies: list | None = None) -> LoadResult:
    """Closed loop (rate None) or open loop at `rate` requests/s against base_url."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    return run_async(drive(lambda: HttpClient(host, port, requests, keep_bodies),
                           clients=clients, duration=duration, warmup=warmup, rate=rate,
                           items_per_request=items_per_request))


# --- the generator's own ceiling: a null HTTP server ------------------------------

_NULL_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 18\r\nConnection: keep-alive\r\n\r\n{\"status\":\"alive\"}")


def _null_server(port: int) -> None:
    """Answers every GET with a fixed 200 (no parsing beyond the header end)."""
    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            self.t, self.buf = transport, b""

        def data_received(self, data):
            self.buf += data
            n = self.buf.count(b"\r\n\r\n")
            if n:
                self.buf = self.buf[self.buf.rindex(b"\r\n\r\n") + 4:]
                self.t.write(_NULL_RESPONSE * n)

    async def serve():
        srv = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", port)
        print("ready", flush=True)
        await srv.serve_forever()
    run_async(serve())


def generator_ceiling(*, clients: int, duration: float, warmup: float = 0.5) -> LoadResult:
    """Closed loop against a null server in another process: what the load
    generator itself can drive on this machine (it shares the CPUs)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c",
                             f"from bench.common import _null_server; _null_server({port})"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        req = [http_request("GET", "/health/live")]
        return http_load(f"http://127.0.0.1:{port}", req, clients=clients, duration=duration,
                         warmup=warmup)
    finally:
        proc.terminate()
        proc.wait()


# --- direct SQL through asyncpg --------------------------------------------------

class AsyncpgClient(Client):
    """One asyncpg connection as role `datastorage_app` (like the service's pool);
    request i runs `sql` with args(i)."""

    def __init__(self, dsn: str, sql: str, args: Callable[[int], tuple], role: str | None):
        self.dsn, self.sql, self.args, self.role = dsn, sql, args, role
        self.conn = None
        self.stmt = None

    async def open(self) -> None:
        import asyncpg
        settings = {"timezone": "UTC"}
        if self.role:
            settings["role"] = self.role
        self.conn = await asyncpg.connect(self.dsn, server_settings=settings)
        self.stmt = await self.conn.prepare(self.sql)

    async def call(self, i: int) -> int:
        await self.stmt.fetch(*self.args(i))
        return 1

    async def close(self) -> None:
        if self.conn is not None:
            c, self.conn = self.conn, None
            await c.close()


def asyncpg_load(dsn: str, sql: str, args: Callable[[int], tuple], *, clients: int,
                 duration: float, warmup: float = 1.0, rate: float | None = None,
                 items_per_request: int = 1, role: str | None = "datastorage_app") -> LoadResult:
    return run_async(drive(lambda: AsyncpgClient(dsn, sql, args, role), clients=clients,
                           duration=duration, warmup=warmup, rate=rate,
                           items_per_request=items_per_request))


# --- pgbench ------------------------------------------------------------------------

def pgbench_path() -> Path:
    return find_bindir() / "pgbench"


def run_pgbench(dsn: str, script: str, *, clients: int, duration: float = 10,
                transactions: int | None = None, threads: int = 2,
                role: str | None = "datastorage_app", items_per_request: int = 1) -> LoadResult:
    """pgbench -M prepared with a custom script for `duration` seconds (or
    `transactions` per client); latencies from its per-transaction log.

    The script runs as `role` (PGOPTIONS -c role=...) so it has the same
    privileges as the service's pool."""
    work = Path(tempfile.mkdtemp(prefix="ds-pgbench-"))
    try:
        (work / "script.sql").write_text(script)
        env = dict(os.environ)
        if role:
            env["PGOPTIONS"] = f"-c role={role}"
        cmd = [str(pgbench_path()), "-n", "-M", "prepared", "-c", str(clients),
               "-j", str(min(threads, clients)),
               *(["-t", str(transactions)] if transactions
                 else ["-T", str(max(1, round(duration)))]),
               "-f", str(work / "script.sql"), "-l", "--log-prefix", str(work / "tx"),
               libpq_url(dsn)]
        cpu0 = os.times()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
        cpu1 = os.times()
        if proc.returncode != 0:
            raise RuntimeError(f"pgbench failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        lat: list[float] = []
        for path in work.glob("tx*"):
            for line in path.read_text().splitlines():
                f = line.split()
                if len(f) >= 3 and f[2].isdigit():
                    lat.append(int(f[2]) / 1e6)
        tps = _pgbench_value(proc.stdout, "tps = ")
        res = LoadResult("closed", clients, max(1, round(duration)), latencies=lat,
                         statuses={1: len(lat)}, items_per_request=items_per_request)
        res.client_cpu_s = (cpu1.children_user + cpu1.children_system
                            - cpu0.children_user - cpu0.children_system)
        res.reported_rate = tps
        res.finished = len(lat)
        res.errors = {} if tps else {"unparsed_output": 1}
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pgbench_value(out: str, key: str) -> float | None:
    for line in out.splitlines():
        if line.strip().startswith(key):
            try:
                return float(line.split("=", 1)[1].split()[0])
            except (IndexError, ValueError):
                return None
    return None


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- audit events for load --------------------------------------------------------

def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def audit_event(correlation_id: str, *, ts: datetime | None = None, n: int = 0) -> dict:
    """A realistic gateway event (~0.6 KB) accepted by POST /api/v1/audit/events.

    The timestamp defaults to now (the API accepts now-7d .. now+60min)."""
    ts = ts or datetime.now(timezone.utc)
    return {
        "version": "1.0", "event_type": "gateway.signal.received", "event_timestamp": iso(ts),
        "event_category": "gateway", "event_action": "received", "event_outcome": "success",
        "correlation_id": correlation_id, "namespace": "payments", "cluster_name": "prod-eu-1",
        "actor_type": "service", "actor_id": "gateway-service", "severity": "warning",
        "event_data": {
            "event_type": "gateway.signal.received", "signal_type": "prometheus-alert",
            "alert_name": "HighCPUUsage", "namespace": "payments",
            "fingerprint": f"fp-{n:08x}", "severity": "warning", "resource_kind": "Pod",
            "resource_name": f"checkout-7d9f8b-{n % 97:02d}",
            "deduplication_status": "new", "occurrence_count": 1,
            "signal_labels": {"alertname": "HighCPUUsage", "team": "payments",
                              "pod": f"checkout-7d9f8b-{n % 97:02d}"},
            "signal_annotations": {"summary": "CPU above 90% for 5 minutes",
                                   "runbook_url": "https://runbooks.example.com/cpu"},
        },
    }


def correlation_ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(n)]


# --- profiling (py-spy, optional) -------------------------------------------------

def py_spy_path() -> str | None:
    """py-spy is not a project dependency: `.venv/bin/pip install py-spy`."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def sanic_workers(root_pid: int) -> list[int]:
    return [p for p in process_tree(root_pid) if process_name(p).startswith("Sanic-Server")]


def py_spy_record(pid: int, seconds: float, out: Path, rate: int = 200) -> subprocess.Popen:
    """Start sampling `pid` (collapsed stacks, `-f raw`) in the background;
    wait() on the result. --nonblocking: the target is never paused."""
    exe = py_spy_path()
    if not exe:
        raise RuntimeError("py-spy is not installed (.venv/bin/pip install py-spy)")
    return subprocess.Popen([exe, "record", "-p", str(pid), "-d", str(max(1, round(seconds))),
                             "-r", str(rate), "-f", "raw", "-o", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def collapsed_summary(path: Path, top: int = 30) -> dict:
    """Share of samples per function from py-spy's collapsed stacks:
    inclusive (the function is anywhere on the stack) and self (innermost)."""
    import re
    incl: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        total += count
        names = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        for f in set(names):
            incl[f] = incl.get(f, 0) + count
        own[names[-1]] = own.get(names[-1], 0) + count
    ranked = sorted(incl.items(), key=lambda kv: -kv[1])
    skip = ("multiprocessing", "<module>", "worker_serve", "_serve_http_1", "spawn_main")
    rows = [{"function": f, "inclusive_pct": round(100 * n / total, 1),
             "self_pct": round(100 * own.get(f, 0) / total, 1)}
            for f, n in ranked if not any(s in f for s in skip)][:top]
    return {"samples": total, "top": rows}


# --- results ----------------------------------------------------------------------

def machine_info() -> dict:
    def git_rev() -> str | None:
        try:
            out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=5)
            return out.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "git": git_rev(),
            "loadavg_at_start": [round(x, 2) for x in load] if load else None}


def target(name: str, value: float | None, op: str, limit: float) -> dict:
    """A target from an issue, checked: op is '>=' or '<'."""
    ok = None if value is None else (value >= limit if op == ">=" else value < limit)
    return {"target": name, "value": None if value is None else round(value, 3),
            "op": op, "limit": limit, "met": ok}


def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 1 else f"{v:.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def results_dir(quick: bool = False) -> Path:
    """bench/results/, or bench/results/quick/ for smoke runs, so that a
    --quick run never overwrites the numbers of a real one."""
    return RESULTS_DIR / "quick" if quick or quick_mode([]) else RESULTS_DIR


def _is_quick(data: dict) -> bool:
    config = data.get("config")
    return bool(data.get("quick") or (isinstance(config, dict) and config.get("quick")))


def write_results(name: str, data: dict, markdown: str) -> Path:
    """<results>/<name>.json (data + the markdown) and <name>.md, where
    <results> is bench/results/ (bench/results/quick/ for a quick run: the
    data says "quick": true, or BENCH_QUICK=1)."""
    out = results_dir(_is_quick(data))
    out.mkdir(parents=True, exist_ok=True)
    doc = {"name": name, "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": machine_info(), **data, "markdown": markdown}
    path = out / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    tmp.replace(path)
    (out / f"{name}.md").write_text(markdown)
    return path


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    return bool(poll(predicate, timeout=timeout, interval=interval, fail=False))


__all__ = [
    "BenchCluster", "start_service", "stop_service", "RssSampler", "CpuMeter", "cpu_seconds",
    "process_tree", "rss_bytes",
    "percentile", "latency_summary", "LoadResult", "Client", "drive", "run_async",
    "http_request", "HttpClient", "http_load", "generator_ceiling", "AsyncpgClient",
    "asyncpg_load", "run_pgbench", "pgbench_path", "sql_literal", "audit_event",
    "correlation_ids", "iso", "machine_info", "target", "markdown_table", "write_results",
    "quick_mode", "log", "wait_for", "RESULTS_DIR", "py_spy_path", "py_spy_record",
    "collapsed_summary", "sanic_workers", "results_dir",
]


LATENCY_COLUMNS = ["phase", "requests", "p50 ms", "p99 ms", "max ms", "p50 / ceiling",
                   "p99 / ceiling", "ceiling"]


def latency_rows(results: dict[str, dict], phases: Sequence[tuple[str, str, str]],
                 ceilings: Sequence[str]) -> list[list]:
    """Table rows for (label, result key, ceiling key) phases, each with its
    ratios to the ceiling measured in the same run, then the ceilings."""
    rows = []
    for label, key, ceiling in phases:
        r, c = results[key], results[ceiling]
        rows.append([label, r["requests"], r["p50_ms"], r["p99_ms"], r["max_ms"],
                     round(r["p50_ms"] / c["p50_ms"], 1), round(r["p99_ms"] / c["p99_ms"], 1),
                     ceiling])
    for key in ceilings:
        r = results[key]
        rows.append([f"ceiling: {key}", r["requests"], r["p50_ms"], r["p99_ms"], r["max_ms"],
                     None, None, None])
    return rows


def latency_markdown(intro: str, rows: list[list], checks: list[dict]) -> str:
    """The latency table and the targets table under an intro line."""
    return (intro + "\n\n" + markdown_table(LATENCY_COLUMNS, rows) + "\n"
            + markdown_table(["target", "value", "op", "limit", "met"],
                             [[t["target"], t["value"], t["op"], t["limit"], t["met"]]
                              for t in checks]))


def http_floor(base_url: str, duration: float) -> dict:
    """Ceiling: the service's cheapest route, one client, one request at a time."""
    log("ceiling: GET /health/live")
    return http_load(base_url, [http_request("GET", "/health/live")], clients=1,
                     duration=duration).to_dict()

