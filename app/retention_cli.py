"""`datastorage retention plan|run`: retention on demand (docs/retention.md).

    datastorage retention plan [--as-of DATE] [--chains N] [--json]
    datastorage retention run [--as-of DATE] [--batch N] [--pause X] [--json]

`plan` is the dry run: what a run as of DATE (default: now; a later date
answers "what will have expired by then") would remove, per partition and
per chain. `run` removes it, with a progress bar; the database refuses a date
ahead of its own clock or before the last run's cutoff, and a second run
while one is going. Both connect as DS_RETENTION_ROLE.
Exit status: 0 done, 1 the run failed (recorded with its reason), 2 refused
or unusable (already running, bad date, no database).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime, timezone

import orjson

from .verifier import Progress as Bar, progress_options

# app.retention (asyncpg, prometheus) is imported only when a retention
# command runs: `datastorage verify` loads no server module (tests/test_layers.py).


def _as_of(text: str) -> datetime:
    from .timeutil import TimeFormatError, parse_rfc3339
    try:
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
    except ValueError:
        pass
    try:
        return parse_rfc3339(text, require_zone=True)
    except TimeFormatError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD) or RFC 3339 time: {exc}") from None


def _pause(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"not a number from 0 to 100: {text!r}")
    return value


def _url(settings) -> str:
    """DS_RETENTION_DATABASE_URL, else the operator's (migration) login: the
    service's runtime login may only use datastorage_app."""
    from .cli import database_urls
    if settings.retention_database_url:
        return settings.retention_database_url
    _, migrate_url, _ = database_urls(settings, start=False)
    return migrate_url


def _table(rows: list[list], header: list[str]) -> list[str]:
    cells = [header] + [["" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool)
                         else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]


def print_plan(doc: dict, chains: int) -> None:
    print(f"retention plan as of {doc['as_of']} (cutoff {doc['cutoff']}: events whose event_date "
          f"+ retention_days lies before it have expired)")
    print(f"  {doc['events_to_delete']:,} event(s) would be removed from {doc['chains_affected']:,} "
          f"chain(s); {len(doc['partitions_to_drop'])} partition(s) dropped whole; "
          f"{doc['kept_held_events']:,} expired event(s) kept under legal hold")
    print("\npartitions:")
    print("\n".join("  " + line for line in _table(
        [[p["partition"], p["events"], p["expired_events"], p["held_events"], p["prunable_events"],
          "drop" if p["droppable"] else ("delete rows" if p["prunable_events"] else "keep")]
         for p in doc["partitions"]],
        ["partition", "events", "expired", "held", "to remove", "action"])))
    listed = doc["chains"][:chains] if chains else doc["chains"]
    print(f"\nchains with expired events ({len(doc['chains']):,}"
          + (f", first {len(listed):,}" if len(listed) < len(doc["chains"]) else "") + "):")
    print("\n".join("  " + line for line in _table(
        [[c["correlation_id"], c["stored_events"], c["expired_events"], c["prunable_events"],
          "held" if c["held"] else ("whole chain" if c["whole_chain"] else
                                    f"up to seq {c['upto_seq']}" if c["upto_seq"] else
                                    "waits for an earlier event")]
         for c in listed],
        ["correlation_id", "events", "expired", "to remove", "note"])))


async def _plan(args, settings) -> int:
    from . import retention
    conn = await retention.connect(_url(settings), settings.retention_role or None)
    try:
        doc = await retention.plan(conn, args.as_of)
    finally:
        await conn.close()
    if args.json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_plan(doc, args.chains)
    return 0


async def _run(args, settings) -> int:
    from . import retention
    conn = await retention.connect(_url(settings), settings.retention_role or None)
    bar: list[Bar] = []
    show = args.progress if args.progress is not None else sys.stderr.isatty()

    def progress(p, step: dict) -> None:
        if step.get("action") == "plan":
            bar.append(Bar(show, p.planned))
        elif bar:
            bar[0].update(min(p.done, p.planned))

    try:
        record = await retention.run(conn, started_by="cli", as_of=args.as_of,
                                     batch=args.batch or settings.retention_batch,
                                     pause=(settings.retention_pause if args.pause is None
                                            else args.pause),
                                     on_progress=progress)
    except retention.RetentionError as exc:
        print(f"datastorage retention: {exc}", file=sys.stderr)
        if exc.record and args.json:
            sys.stdout.write(orjson.dumps(exc.record, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 1 if exc.record else 2
    finally:
        await conn.close()
    if args.json:
        sys.stdout.write(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(f"retention run {record['run_id']} (cutoff {record['cutoff']}): "
              f"{record['events_deleted']:,} event(s) removed from {record['chains_affected']:,} "
              f"chain(s), partitions dropped: {', '.join(record['partitions_dropped']) or 'none'}; "
              f"{record['kept_held_events']:,} expired event(s) kept under legal hold; "
              f"{record['duration_seconds']:.1f}s")
    return 0


def cmd_retention(args) -> int:
    from .config import Settings
    settings = Settings.from_env()
    try:
        return asyncio.run((_plan if args.retention_command == "plan" else _run)(args, settings))
    except (OSError, ConnectionError) as exc:
        print(f"datastorage retention: cannot reach the database: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - asyncpg errors: one line, no traceback
        if type(exc).__module__.startswith("asyncpg"):
            print(f"datastorage retention: {exc}", file=sys.stderr)
            return 2
        raise


def register(subparsers) -> None:
    p = subparsers.add_parser("retention", help="plan or run retention (expired events leave, "
                                                "held ones stay)",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="retention_command", required=True)
    q = sub.add_parser("plan", help="dry run: what would be removed, per partition and chain")
    q.add_argument("--as-of", type=_as_of, help="date (YYYY-MM-DD) or RFC 3339 time; default now")
    q.add_argument("--chains", type=int, default=50, help="list at most this many chains (0: all)")
    q.add_argument("--json", action="store_true", help="the whole plan as JSON")
    q.set_defaults(func=cmd_retention)
    q = sub.add_parser("run", help="remove expired, unheld events now")
    q.add_argument("--as-of", type=_as_of, help="default now; never ahead of the database clock")
    q.add_argument("--batch", type=int, default=None, help="events per delete step "
                                                           "(default DS_RETENTION_BATCH)")
    q.add_argument("--pause", type=_pause, default=None,
                   help="rest after each step, times its duration (0..100; default "
                        "DS_RETENTION_PAUSE, 1: at most half a core; 0: flat out)")
    q.add_argument("--json", action="store_true", help="print the run's record as JSON")
    progress_options(q)
    q.set_defaults(func=cmd_retention)
