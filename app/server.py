"""The HTTP server: `create_app` is the one wiring point (routes, error
handler, middleware, and through app/lifecycle.py everything that runs in
the background)."""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
import traceback

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler

from . import __version__, console, lifecycle, logs, metrics, problems
from .config import Settings
from .db import Database, DatabaseError, DatabaseUnavailable
from .http import check_query, render
from .problems import Problem, for_status, from_database_error
from .spool import SpoolFull

__all__ = ["ProblemErrorHandler", "__version__", "create_app"]
log = logging.getLogger("datastorage")
# Allocations (less deallocations) of tracked objects before a young collection.
YOUNG_GC_THRESHOLD = 10_000


def tune_gc() -> None:
    """The cyclic collector, once a worker serves (benchmarks call it too).

    What is alive then (modules, models, schemas, the pool) lives as long
    as the worker: frozen, the collector need not scan it again. Otherwise
    each full collection walks all of it, and a batch allocates enough
    objects to start several (~30% of a batch's CPU in the service). And a
    batch of 500 allocates ~5,000 containers that die by reference
    counting; at the default threshold (700) they start a dozen young
    collections a request, each walking what is alive at the time: fewer,
    larger ones save ~4% of a batch's worker CPU (docs/performance.md)."""
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


class ProblemErrorHandler(ErrorHandler):
    """Every error leaves as application/problem+json; a 500 never shows internals."""

    def default(self, request, exception):
        path = request.path if request else "/"
        if isinstance(exception, Problem):
            return render(exception, path, getattr(exception, "headers", None))
        if isinstance(exception, DatabaseUnavailable):
            return render(problems.problem("service-unavailable",
                                           "database unavailable - please retry", retry=True),
                          path, {"Retry-After": "1"})
        if isinstance(exception, SpoolFull):
            return render(problems.problem("service-unavailable", str(exception), retry=True), path)
        if isinstance(exception, DatabaseError):
            answer = from_database_error(exception)
            if answer is not None:
                return render(answer, path)
        if isinstance(exception, SanicException) and exception.status_code < 500:
            return render(for_status(exception.status_code, str(exception)), path)
        log.error("unhandled error on %s %s: %s", request.method if request else "?", path,
                  "".join(traceback.format_exception(exception)))
        return render(problems.problem("internal-error", "An unexpected error occurred"), path)


def create_app(settings: Settings | None = None) -> Sanic:
    from .routes import blueprints

    settings = settings or Settings.from_env()
    app = Sanic("datastorage", error_handler=ProblemErrorHandler(), configure_logging=True,
                log_config=logs.log_config(settings.log_format, settings.log_level))
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.KEEP_ALIVE_TIMEOUT = 30
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = max(15.0, settings.shutdown_delay + 10)
    app.config.NOISY_EXCEPTIONS = False
    app.config.ACCESS_LOG = False
    app.ctx.settings = settings
    app.ctx.shutting_down = False
    app.ctx.db = Database(settings.database_url, role=settings.db_role,
                          min_size=settings.pool_min, max_size=settings.pool_max,
                          timeout=settings.db_timeout, pool_wait=settings.pool_wait,
                          expensive_slots=settings.expensive_concurrency)

    @app.on_request(priority=100)
    async def _start_timer(request):
        request.ctx.started = time.perf_counter()
        request.ctx.request_id = logs.begin_request(request.headers.get(logs.REQUEST_ID_HEADER))

    @app.on_request(priority=90)
    async def _query_without_nul(request):
        check_query(request)

    @app.on_response(priority=-100)
    async def _close_when_stopping(request, response):
        # Once stopping, no connection is kept alive: a client's next request
        # opens a new one (to another replica, behind a load balancer), and
        # the connections drain as soon as their requests finish instead of
        # holding the worker for the whole GRACEFUL_SHUTDOWN_TIMEOUT.
        if app.ctx.shutting_down and hasattr(request.stream, "keep_alive"):
            request.stream.keep_alive = False

    @app.on_response(priority=-100)
    async def _count(request, response):
        rid = getattr(request.ctx, "request_id", None)
        if rid is not None and response is not None:
            response.headers[logs.REQUEST_ID_HEADER] = rid
        started = getattr(request.ctx, "started", None)
        route = request.route.path if request.route else "unmatched"
        status = response.status if response is not None else 500
        method = metrics.method_label(request.method)
        metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
        if started is not None:
            elapsed = time.perf_counter() - started
            metrics.HTTP_DURATION.labels(method, route).observe(elapsed)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s -> %d in %.1f ms", request.method, request.path, status,
                          elapsed * 1000)

    @app.after_server_start
    async def _freeze_heap(app):
        tune_gc()

    @app.after_server_start
    async def _drain_on_sigterm(app):
        # Readiness must say 503 before the listener closes, so that a load
        # balancer stops sending traffic; requests keep being served meanwhile.
        loop = asyncio.get_running_loop()

        def begin_shutdown():
            if app.ctx.shutting_down:
                return
            app.ctx.shutting_down = True
            log.info("shutdown signal: readiness now 503, stopping in %.1fs", settings.shutdown_delay)
            loop.call_later(settings.shutdown_delay, app.stop)

        # The worker manager relays a SIGTERM to its workers as SIGINT.
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, begin_shutdown)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass

    lifecycle.attach(app, settings)
    for bp in blueprints():
        app.blueprint(bp)
    console.attach(app)  # the audit console, /console/ (app/console/)
    return app
