"""What the tests and the benchmarks share (neither imports the other's
modules for it): a private PostgreSQL on tmpfs with a template database
(migrations + functions + pgTAP) cloned per test, the real service as a
subprocess, scratch directories, and the one polling helper.

Not part of the shipped package: it needs the test extras (httpx,
pytest-postgresql)."""
from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from pytest_postgresql.janitor import DatabaseJanitor

from app.embedded_pg import Cluster
from app.migrate import RUNTIME_LOGIN, ensure_runtime_login, libpq_url, migrate, with_user

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "ds_template"
_names = itertools.count()


_scratch: list[Path] = []


@atexit.register
def _remove_scratch() -> None:
    # tmpfs is memory: every spool, data and log directory a run made goes
    # when the run ends (clusters and services are stopped before that).
    # Never through a mount left inside one (a failed debootstrap's /proc).
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return
    for path in _scratch:
        if not any(m == str(path) or m.startswith(f"{path}/") for m in mounts):
            shutil.rmtree(path, ignore_errors=True)


def scratch_dir(prefix: str, durable: bool = False) -> Path:
    """A fresh directory the postgres user can traverse: tmpfs, unless
    `durable` (fsync on tmpfs would measure nothing). Removed when the
    process that made it exits."""
    base = None
    if durable:
        base = os.environ.get("BENCH_DURABLE_DIR") or "/var/tmp"
    elif os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        base = "/dev/shm"
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    path.chmod(0o755)
    _scratch.append(path)
    return path



def poll(predicate, *, timeout: float, what: str = "a condition", interval: float = 0.05,
         fail: bool = True):
    """Call `predicate` until it returns something true (returned) or
    `timeout` seconds pass: then AssertionError naming `what`, or with
    fail=False the last (false) value. The one way tests and benchmarks
    wait: never a fixed sleep before an assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if not value and fail:
        raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
    return value


async def apoll(predicate, *, timeout: float, what: str = "a condition",
                interval: float = 0.05):
    """poll() for coroutines: `predicate` may be sync or async."""
    import asyncio
    import inspect
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


class TestCluster:
    def __init__(self):
        self.dir = scratch_dir("ds-test-pg-")
        self.cluster = Cluster(self.dir, durable=False)
        self.cluster.init()
        self.cluster.start()
        self.build_template()

    def url(self, dbname: str = "postgres") -> str:
        return self.cluster.url(dbname)

    def build_template(self) -> None:
        with psycopg.connect(libpq_url(self.url()), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        migrate(self.url(TEMPLATE))
        ensure_runtime_login(self.url(TEMPLATE))
        with psycopg.connect(libpq_url(self.url(TEMPLATE)), autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
            except psycopg.errors.FeatureNotSupported:
                pass
            except psycopg.errors.UndefinedFile:
                pass
        with psycopg.connect(libpq_url(self.url()), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{TEMPLATE}" WITH is_template true')

    def janitor(self, dbname: str | None = None) -> DatabaseJanitor:
        return DatabaseJanitor(user=self.cluster.user, host=str(self.cluster.socket_dir),
                               port=self.cluster.port, version=15,
                               dbname=dbname or f"ds_test_{os.getpid()}_{next(_names)}",
                               template_dbname=TEMPLATE)

    @contextmanager
    def database(self):
        jan = self.janitor()
        jan.init()
        try:
            yield self.url(jan.dbname)
        finally:
            jan.drop()

    def stop_server(self, mode: str = "immediate") -> None:
        self.cluster.stop(mode)

    def start_server(self) -> None:
        self.cluster.start()

    def close(self) -> None:
        self.cluster.destroy()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """`datastorage serve` in a subprocess, as an operator would run it."""

    def __init__(self, database_url: str | None, env: dict | None = None, workers: int = 1,
                 data_dir: Path | None = None, command: list[str] | None = None,
                 cwd: Path = ROOT):
        """database_url None: the service runs its own embedded cluster.
        command: how to run `datastorage` (default: this interpreter's app.cli)."""
        self.command = command or [sys.executable, "-m", "app.cli"]
        self.cwd = cwd
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.data_dir = data_dir or scratch_dir("ds-test-svc-")
        base = {k: v for k, v in os.environ.items()
                if k not in ("DS_DATABASE_URL", "DS_MIGRATE_DATABASE_URL")}
        if database_url:
            # As an operator should run it: migrate with the privileged URL,
            # serve through a login that is a member of datastorage_app only.
            base["DS_MIGRATE_DATABASE_URL"] = database_url
            base["DS_DATABASE_URL"] = with_user(database_url, RUNTIME_LOGIN)
        self.env = {**base, "DS_PORT": str(self.port), "DS_DATA_DIR": str(self.data_dir),
                    "DS_WORKERS": str(workers), "DS_LOG_LEVEL": "WARNING",
                    # No retention run in the middle of another test's data
                    # (tests/api/test_retention.py turns it on where it is tested).
                    "DS_RETENTION_INTERVAL": "0", **(env or {})}
        self.log = open(self.data_dir / "service.log", "ab")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "Service":
        if self.database_url:
            # Roles are cluster-wide: once per cluster (tests, benchmarks).
            ensure_runtime_login(self.database_url)
        self.proc = subprocess.Popen([*self.command, "serve"], env=self.env,
                                     cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def live() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                return httpx.get(self.base_url + "/health/live", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        if not poll(live, timeout=timeout, interval=0.1, fail=False):
            raise RuntimeError(f"service did not start:\n{self.logs()}")
        return self

    def logs(self) -> str:
        self.log.flush()
        return (self.data_dir / "service.log").read_text(errors="replace")[-5000:]

    def signal(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 20) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            # As an orchestrator does: SIGTERM to the main process only.
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kw)


def unique(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4()}"
