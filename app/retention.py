"""Retention runs from Python: the daily run inside the service and the
`datastorage retention plan|run` commands (docs/retention.md).

The rules and the loop live in SQL (sql/functions/450_retention.sql): a run
is `CALL datastorage.run_retention(...)`, which commits after every step and
reports each step as a JSON NOTICE; this module opens the connection (as the
maintenance role, never the application role), follows the notices (progress
bar, log) and turns the outcome into metrics.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import asyncpg
import orjson

from . import metrics

log = logging.getLogger("datastorage.retention")

FIRST_RUN_DELAY = 60.0
# SQLSTATEs raised by datastorage.retention_begin.
ALREADY_RUNNING = "DS409"
REFUSED = "DS400"


class RetentionError(Exception):
    """A run was refused or failed; `record` is the run's row when one exists."""

    def __init__(self, message: str, *, already_running: bool = False, record: dict | None = None):
        super().__init__(message)
        self.already_running = already_running
        self.record = record


@dataclass
class Progress:
    """What the run reported so far (from its NOTICEs)."""
    planned: int = 0
    done: int = 0
    partitions: int = 0


async def connect(url: str, role: str | None) -> asyncpg.Connection:
    settings = {"timezone": "UTC", "application_name": "datastorage-retention"}
    if role:
        settings["role"] = role
    return await asyncpg.connect(url, server_settings=settings, command_timeout=None)


async def plan(conn: asyncpg.Connection, as_of: datetime | None) -> dict:
    """The dry run: what a run as of `as_of` (default: now) would remove."""
    text = await conn.fetchval("SELECT datastorage.retention_plan(coalesce($1, now()))", as_of)
    return orjson.loads(text)


async def run(conn: asyncpg.Connection, *, started_by: str, as_of: datetime | None = None,
              batch: int = 10000, pause: float = 1.0,
              on_progress: Callable[[Progress, dict], None] | None = None) -> dict:
    """One run to its end; returns the run's record. Raises RetentionError.
    `pause`: the rest after each step, as a multiple of its time."""
    progress = Progress()

    def notice(_conn, message) -> None:
        try:
            step = orjson.loads(message.message)
        except orjson.JSONDecodeError:
            return
        if step.get("action") == "plan":
            progress.planned = step.get("events_planned", 0)
        else:
            progress.done += step.get("events", 0)
            progress.partitions += step.get("action") == "drop"
        if on_progress:
            on_progress(progress, step)

    conn.add_log_listener(notice)
    try:
        await conn.execute("SELECT set_config('datastorage.retention_pause', $1, false)",
                           str(float(pause)))
        result = await conn.fetchval(
            "CALL datastorage.run_retention(coalesce($1::timestamptz, now()), $2, $3, NULL)",
            as_of, started_by, batch)
    except asyncpg.PostgresError as exc:
        state = getattr(exc, "sqlstate", "")
        record = await _last_failure(conn) if state not in (ALREADY_RUNNING, REFUSED) else None
        raise RetentionError(exc.args[0] if exc.args else str(exc),
                             already_running=state == ALREADY_RUNNING, record=record) from None
    finally:
        conn.remove_log_listener(notice)
    return orjson.loads(result)


async def _last_failure(conn) -> dict | None:
    try:
        text = await conn.fetchval(
            "SELECT datastorage.retention_run_json(r) FROM audit_retention_runs r "
            "WHERE status = 'failed' ORDER BY run_id DESC LIMIT 1")
    except asyncpg.PostgresError:
        return None
    return orjson.loads(text) if text else None


async def observe_last_run(conn) -> None:
    """Gauges from the newest finished run, whoever ran it (service, CLI, pg_cron)."""
    row = await conn.fetchrow(
        "SELECT extract(epoch FROM finished_at) AS at, "
        "extract(epoch FROM finished_at - started_at) AS took, "
        "status = 'succeeded' AS ok, kept_held_events FROM audit_retention_runs "
        "WHERE finished_at IS NOT NULL ORDER BY run_id DESC LIMIT 1")
    if row is not None:
        metrics.RETENTION_LAST_RUN.set(float(row["at"]))
        metrics.RETENTION_LAST_DURATION.set(float(row["took"]))
        metrics.RETENTION_LAST_OK.set(1 if row["ok"] else 0)
        metrics.RETENTION_KEPT_HELD.set(row["kept_held_events"])


async def service_run(settings) -> dict | None:
    """One attempt by the service: None when another replica is running."""
    conn = await connect(settings.retention_database_url or settings.database_url,
                         settings.retention_role or None)
    try:
        try:
            record = await run(conn, started_by="service", batch=settings.retention_batch,
                               pause=settings.retention_pause)
        except RetentionError as exc:
            if exc.already_running:
                log.info("retention: another replica is running it")
                return None
            metrics.RETENTION_FAILURES.inc()
            log.error("retention run failed: %s", exc)
            return None
        finally:
            await observe_last_run(conn)
        metrics.RETENTION_DELETED.inc(record["events_deleted"])
        metrics.RETENTION_DROPPED.inc(len(record["partitions_dropped"]))
        log.info("retention run %s as of %s: %s event(s) deleted (%s partition(s) dropped), "
                 "%s chain(s) pruned, %s expired event(s) kept under legal hold, %.1fs",
                 record["run_id"], record["cutoff"], record["events_deleted"],
                 len(record["partitions_dropped"]), record["chains_affected"],
                 record["kept_held_events"], record["duration_seconds"])
        return record
    finally:
        await conn.close()


def attach(app, settings) -> None:
    """Daily run inside the service (DS_RETENTION_INTERVAL seconds; 0 = off).
    Every worker of every replica tries; the advisory lock lets one run."""
    if not settings.retention_interval:
        return

    @app.after_server_start
    async def _start(app):
        async def loop():
            # Not at the very start: a restart loop should not mean a run per restart.
            await asyncio.sleep(min(settings.retention_interval, FIRST_RUN_DELAY))
            while True:
                try:
                    await service_run(settings)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    metrics.RETENTION_FAILURES.inc()
                    log.error("retention run could not start: %s", exc)
                await asyncio.sleep(settings.retention_interval)

        app.ctx.retention = asyncio.get_running_loop().create_task(loop())

    @app.before_server_stop
    async def _stop(app):
        task = getattr(app.ctx, "retention", None)
        if task:
            task.cancel()
