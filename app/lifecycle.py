"""What runs beside the requests, started and stopped in one place.

Start (before the listener opens), in this order: the connection pool, the
export signing key, the dead-letter spool's drainer, the single-event
group commit, the workflow audit writer, the daily partition upkeep, the daily retention run, the
transparency log's integrator and checkpoint signer. Stop (SIGTERM, after
the shutdown delay) in reverse: the log's loops stop, the audit writer
flushes its backlog, upkeep is
cancelled, the drainer stops (the spool stays on disk), the pool closes.
"""
from __future__ import annotations

import asyncio
import logging

from .signing import Signer, SigningError
from .spool import Spool
from .tlog_service import LogWorker, load_signer
from .workflows import AuditWriter
from .writes import GroupCommit

log = logging.getLogger("datastorage")
MAINTENANCE_INTERVAL = 24 * 3600


async def _partition_upkeep(db) -> None:
    """Months ahead exist before anyone writes into them; then daily."""
    while True:
        try:
            await db.call("datastorage.maintain")
        except Exception as exc:  # noqa: BLE001 - retried tomorrow; inserts still succeed (DEFAULT partition)
            log.warning("partition upkeep failed: %s", exc)
        await asyncio.sleep(MAINTENANCE_INTERVAL)


def attach(app, settings) -> None:
    """Register the start and stop of everything in the background on `app`."""
    app.ctx.spool = Spool.from_settings(settings)
    log_signer = load_signer(settings)
    app.ctx.log_verifier = log_signer.verifier

    @app.before_server_start
    async def _start(app):
        await app.ctx.db.open()
        try:
            app.ctx.signer = Signer.from_settings(settings)
        except SigningError as exc:
            log.critical("export signing key: %s", exc)
            raise
        await app.ctx.spool.start(app.ctx.db)
        # More calls than connections would only wait for the pool, unbatched.
        app.ctx.event_writes = GroupCommit(
            app.ctx.db, calls=min(settings.write_calls, settings.pool_max),
            wait=settings.pool_wait)
        app.ctx.workflow_audit = AuditWriter(app, linger=settings.audit_linger)
        app.ctx.maintenance = asyncio.get_running_loop().create_task(
            _partition_upkeep(app.ctx.db))
        app.ctx.log_worker = LogWorker(app.ctx.db, settings, log_signer)
        app.ctx.log_worker.start()

    @app.before_server_stop
    async def _stop(app):
        app.ctx.shutting_down = True
        await app.ctx.log_worker.stop()
        app.ctx.maintenance.cancel()
        await asyncio.gather(app.ctx.maintenance, return_exceptions=True)
        await app.ctx.spool.stop()

    # Daily retention run (app/retention.py; one replica at a time, own connection).
    from .retention import attach as attach_retention
    attach_retention(app, settings)

    # Sanic runs before_server_stop while the listener is still open and
    # before in-flight requests have finished; what they use (the audit
    # writer, the pool, the spool) closes only after they have, so they
    # complete against the database instead of failing or being spooled.
    @app.after_server_stop
    async def _close(app):
        await app.ctx.workflow_audit.close()
        await app.ctx.db.close()
        await app.ctx.spool.close()
