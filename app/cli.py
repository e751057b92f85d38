"""`datastorage` command line: serve, migrate, psql, verify, spool, retention."""
from __future__ import annotations

import argparse
import importlib
import errno
import logging
import multiprocessing
import os
import shutil
import socket
import sys
from functools import partial
from pathlib import Path

log = logging.getLogger("datastorage")


class Fatal(Exception):
    """One line for the operator, non-zero exit, no traceback."""


def _settings(args=None):
    from .config import Settings
    overrides = {}
    for name in ("host", "port", "workers"):
        if args is not None and getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    return Settings.from_env(**overrides)


def _embedded(settings):
    from .embedded_pg import Cluster
    return Cluster(Path(settings.data_dir) / "postgres", port=settings.pg_port)


def database_urls(settings, *, start: bool) -> tuple[str, str, object | None]:
    """(runtime URL, migration URL, embedded cluster or None). The embedded
    cluster serves through a login that is a member of datastorage_app only
    and migrates as its superuser; with DS_DATABASE_URL the migration URL is
    DS_MIGRATE_DATABASE_URL, else the same URL (one login for both)."""
    from .migrate import RUNTIME_LOGIN, ensure_database, with_user
    if settings.database_url or settings.migrate_database_url:
        return (settings.database_url,
                settings.migrate_database_url or settings.database_url, None)
    cluster = _embedded(settings)
    if start:
        cluster.init()
        cluster.start()
        ensure_database(cluster.url(), "datastorage")
    elif not cluster.running():
        raise Fatal(f"the embedded PostgreSQL in {cluster.datadir} is not running; "
                    "start the service with `datastorage serve` or set DS_DATABASE_URL")
    admin = settings.migrate_database_url or cluster.url("datastorage")
    return with_user(cluster.url("datastorage"), RUNTIME_LOGIN), admin, cluster


def database_url(settings, *, start: bool) -> tuple[str, object | None]:
    """The URL the service uses; starts the embedded cluster when none is configured."""
    url, _, cluster = database_urls(settings, start=start)
    return url, cluster


def _check_reachable(url: str) -> None:
    import psycopg
    from .migrate import libpq_url, redacted
    try:
        psycopg.connect(libpq_url(url), connect_timeout=5).close()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Fatal(f"cannot reach the database at {redacted(url)} ({first}); "
                    "check DS_DATABASE_URL and that the server is running") from None


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Fatal(f"port {port} on {host} is already in use; stop the other process "
                            "or choose another with --port / DS_PORT") from None
            raise Fatal(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _migrate(admin_url: str, cluster) -> int:
    from .migrate import ensure_runtime_login, migrate
    _check_reachable(admin_url)
    n = migrate(admin_url)
    if cluster is not None:
        ensure_runtime_login(admin_url)
    return n


def cmd_serve(args) -> int:
    from .migrate import redacted
    settings = _settings(args)
    _check_port(settings.host, settings.port)
    url, admin_url, cluster = database_urls(settings, start=True)
    if not url:
        raise Fatal("DS_MIGRATE_DATABASE_URL is set but DS_DATABASE_URL is not: "
                    "set the runtime login's URL too")
    try:
        _migrate(admin_url, cluster)
        # The workers (spawned, they inherit the environment) never see it.
        os.environ.pop("DS_MIGRATE_DATABASE_URL", None)
        _check_reachable(url)
        log.info("database: %s", redacted(url))
        from .tlog_service import load_signer
        log.info("transparency log verifier key: %s", load_signer(settings).verifier.vkey())
        settings = settings.model_copy(update={"database_url": url, "migrate_database_url": None})
        _serve(settings)
    finally:
        if cluster is not None:
            cluster.stop()
    return 0


def _serve(settings) -> None:
    # Workers are spawned, so they import prometheus_client after this is set.
    metrics_dir = Path(settings.data_dir) / f"metrics-{os.getpid()}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from .server import create_app
    try:
        loader = AppLoader(factory=partial(create_app, settings))
        app = loader.load()
        app.prepare(host=settings.host, port=settings.port, workers=settings.workers,
                    motd=False, access_log=False)
        app.register_listener(_stop_signals_without_ipc, "main_process_ready")
        log.info("serving on http://%s:%d with %d worker(s)", settings.host, settings.port,
                 settings.workers)
        Sanic.serve(primary=app, app_loader=loader)
    finally:
        # Sanic stops waiting for its workers after ten seconds; one may still
        # be finishing requests. Its metrics files and the embedded database
        # (stopped by the caller) must outlive it.
        for child in multiprocessing.active_children():
            child.join()
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _stop_signals_without_ipc(app) -> None:
    """Replace the worker manager's SIGTERM/SIGINT handler. Sanic's writes
    the workers' state through its multiprocessing manager from inside the
    handler; when the signal lands while the monitor loop is itself in such
    a call (every 0.1 s, slower on a busy machine), the two share one
    connection: the main process crashes or waits forever for an answer the
    other call took, and the stop hangs. Here the handler only signals the
    workers and wakes the monitor loop; state is written outside it."""
    import signal as signals

    manager = app.manager

    def stop(signum, frame):
        again = manager._shutting_down
        manager._shutting_down = True
        for process in manager.processes:
            try:
                # Workers begin their graceful stop on SIGINT (app/server.py).
                os.kill(process.pid, signals.SIGKILL if again else signals.SIGINT)
            except ProcessLookupError:
                pass
        manager.monitor_publisher.send(None)

    for sig in (signals.SIGTERM, signals.SIGINT):
        signals.signal(sig, stop)


def cmd_migrate(args) -> int:
    from .migrate import redacted
    settings = _settings()
    _, url, cluster = database_urls(settings, start=not settings.database_url)
    try:
        n = _migrate(url, cluster)
        print(f"{redacted(url)}: {n} migration(s) applied, functions re-applied")
    finally:
        if cluster is not None and not args.keep_running:
            cluster.stop()
    return 0


def cmd_psql(args) -> int:
    from .embedded_pg import find_bindir
    from .migrate import libpq_url
    settings = _settings()
    # The service's own login by default: `--migrate` is the privileged one.
    runtime, admin, _ = database_urls(settings, start=False)
    url = admin if args.migrate else runtime
    if not url:
        raise Fatal("no runtime URL: set DS_DATABASE_URL (or use --migrate)")
    psql = shutil.which("psql") or str(find_bindir() / "psql")
    os.execvp(psql, [psql, libpq_url(url), *args.rest])
    return 0


def main(argv: list[str] | None = None) -> int:
    from .logs import configure
    fmt = os.environ.get("DS_LOG_FORMAT", "text")
    configure("json" if fmt == "json" else "text", os.environ.get("DS_LOG_LEVEL", "INFO"))
    parser = argparse.ArgumentParser(prog="datastorage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the HTTP service (embedded PostgreSQL unless "
                                     "DS_DATABASE_URL is set)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("migrate", help="apply migrations and re-apply SQL functions")
    p.add_argument("--keep-running", action="store_true",
                   help="leave the embedded cluster running afterwards")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("psql", help="open psql on the service's database as the service's login")
    p.add_argument("--migrate", action="store_true",
                   help="connect with the migration (privileged) URL instead")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_psql)
    for module in ("verifier", "spool_cli", "retention_cli", "tlog_cli"):
        try:
            mod = importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{module}":
                raise
            continue
        mod.register(sub)
    # psql's own options (-c, -f, ...) pass through untouched.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "psql":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.rest = [*extra, *args.rest]
    from .config import ConfigError
    from .embedded_pg import EmbeddedPgError
    from .migrate import MigrationError
    try:
        return args.func(args) or 0
    except (Fatal, ConfigError, EmbeddedPgError, MigrationError) as exc:
        print(f"datastorage: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
