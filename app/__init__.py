"""datastorage: an audit-trail service. `create_app` is the only wiring point."""
from __future__ import annotations

import asyncio
import logging
import signal
import time
import traceback

from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler

from . import metrics
from .config import Settings
from .db import Database, DatabaseUnavailable
from .problems import Problem, from_database_error, render

__version__ = "0.1.0"
log = logging.getLogger("datastorage")

_STATUS_SLUGS = {400: "validation-error", 404: "not-found", 405: "method-not-allowed",
                 413: "payload-too-large", 415: "unsupported-media-type",
                 503: "service-unavailable"}


class ProblemErrorHandler(ErrorHandler):
    """Every error leaves as application/problem+json; a 500 never shows internals."""

    def default(self, request, exception):
        path = request.path if request else "/"
        if isinstance(exception, Problem):
            return render(exception, path, getattr(exception, "headers", None))
        if isinstance(exception, DatabaseUnavailable):
            return render(Problem(503, "service-unavailable", "database unavailable - please retry",
                                  retry=True), path, {"Retry-After": "1"})
        problem = from_database_error(exception)
        if problem is not None:
            return render(problem, path)
        if isinstance(exception, SanicException) and exception.status_code < 500:
            status = exception.status_code
            slug = _STATUS_SLUGS.get(status, "bad-request")
            detail = str(exception) or slug.replace("-", " ")
            return render(Problem(status, slug, detail, title=_title(status)), path)
        log.error("unhandled error on %s %s: %s", request.method if request else "?", path,
                  "".join(traceback.format_exception(exception)))
        return render(Problem(500, "internal-error", "An unexpected error occurred",
                              title="Internal Server Error"), path)


def _title(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def create_app(settings: Settings | None = None) -> Sanic:
    from .routes import blueprints

    settings = settings or Settings.from_env()
    app = Sanic("datastorage", error_handler=ProblemErrorHandler(), configure_logging=True)
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
    logging.getLogger("datastorage").setLevel(settings.log_level.upper())

    @app.on_request(priority=100)
    async def _start_timer(request):
        request.ctx.started = time.perf_counter()

    @app.on_response(priority=-100)
    async def _count(request, response):
        started = getattr(request.ctx, "started", None)
        route = request.route.path if request.route else "unmatched"
        status = response.status if response is not None else 500
        method = metrics.method_label(request.method)
        metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
        if started is not None:
            metrics.HTTP_DURATION.labels(method, route).observe(
                time.perf_counter() - started)

    @app.before_server_start
    async def _open(app):
        await app.ctx.db.open()

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

    @app.before_server_stop
    async def _close(app):
        app.ctx.shutting_down = True
        await app.ctx.db.close()

    # Dead-letter spool (app/spool.py): starts draining once the pool is open,
    # stops before it closes.
    from .spool import attach as attach_spool
    attach_spool(app, settings)

    # Registered after the app's own listeners: a blueprint's start-up runs
    # with the pool open, its shutdown (listeners run in reverse) before close.
    for bp in blueprints():
        app.blueprint(bp)
    return app
