"""`datastorage spool status|drain|inspect`: the operator's view of the
dead-letter spool (docs/spool.md)."""
from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from .spool import Spool
# app.spool (and with it asyncpg and prometheus) is imported by the commands
# themselves: `datastorage verify` shares this command line and stays light.


def register(subparsers) -> None:
    p = subparsers.add_parser("spool", help="inspect and drain the dead-letter spool")
    sub = p.add_subparsers(dest="spool_command", required=True)

    def common(q):
        q.add_argument("--dir", help="spool directory (default: DS_SPOOL_DIR or "
                                     "<DS_DATA_DIR>/spool)")
        q.add_argument("--json", action="store_true", help="machine-readable output")

    q = sub.add_parser("status", help="records waiting, bytes, oldest age, quarantine, drainer")
    common(q)
    q.set_defaults(func=cmd_status)
    q = sub.add_parser("drain", help="replay the spool into the database now (refused while "
                                     "a running service holds the drain lock)")
    common(q)
    q.set_defaults(func=cmd_drain)
    q = sub.add_parser("inspect", help="list spooled records (or the quarantine) with their ids")
    common(q)
    q.add_argument("--limit", type=int, default=50, help="at most this many entries (0: all)")
    q.add_argument("--all", action="store_true",
                   help="also show records already replayed but not yet deleted")
    q.add_argument("--quarantine", action="store_true",
                   help="show the quarantine file instead of the pending records")
    q.set_defaults(func=cmd_inspect)


def _spool(args) -> tuple[Spool, object]:
    from .spool import Spool
    from .config import Settings
    settings = Settings.from_env()
    directory = Path(args.dir) if args.dir else settings.spool_path
    return Spool(directory, settings.spool_max_bytes), settings


def _print(args, doc: dict, lines: list[str]) -> None:
    if args.json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print("\n".join(lines))


def cmd_status(args) -> int:
    spool, _ = _spool(args)
    st = spool.status()
    doc = st.as_dict()
    lines = [
        f"spool directory:   {st.directory}",
        f"records waiting:   {st.records} (events: {st.by_stream['events']}, "
        f"notifications: {st.by_stream['notifications']})",
        f"damaged records:   {st.damaged}",
        f"bytes on disk:     {st.bytes} + {st.quarantine_bytes} quarantined of "
        f"{st.capacity_bytes} ({st.capacity_ratio * 100:.1f}% of capacity)",
        f"oldest record:     " + (f"{doc['oldest_record_at']} ({doc['oldest_age_seconds']:.1f}s "
                                  f"ago)" if st.oldest_ts_ns else "-"),
        f"segments:          {st.segments} ({st.active_segments} being written"
        + (f", {st.unreadable_segments} unreadable" if st.unreadable_segments else "") + ")",
        f"quarantined:       {st.quarantined}"
        + (f" (see {spool.quarantine_path})" if st.quarantined else ""),
        f"drainer:           " + (f"process {st.drainer_pid}" if st.drainer_pid else
                                  "none running"),
    ]
    _print(args, doc, lines)
    return 0


def _error(message: str) -> int:
    # Printed here rather than raised as cli.Fatal: under `python -m app.cli`
    # the running module's Fatal is not the one this module would import.
    print(f"datastorage: error: {message}", file=sys.stderr)
    return 2


def cmd_drain(args) -> int:
    from .spool import Drainer, ReplayDeferred
    from .cli import Fatal, database_url
    from .db import Database, DatabaseUnavailable
    spool, settings = _spool(args)
    if not spool.dir.is_dir():
        _print(args, {"replayed": 0, "remaining": 0}, ["spool is empty (no directory)"])
        return 0
    if not spool.acquire_drain_lock():
        return _error(f"the drain lock is held by process {spool.drainer_pid() or '?'}: a "
                      "running service drains the spool itself (see `datastorage spool status`)")
    try:
        url, _ = database_url(settings, start=False)
    except Fatal as exc:
        spool.release_drain_lock()
        return _error(str(exc))

    async def run():
        db = Database(url, role=settings.db_role, min_size=0, max_size=2,
                      timeout=settings.db_timeout)
        await db.open()
        drainer = Drainer(spool, db)
        try:
            while await drainer.drain_pass():
                pass
        finally:
            await db.close()
        return drainer.stats

    try:
        stats = asyncio.run(run())
    except (DatabaseUnavailable, ReplayDeferred, OSError) as exc:
        return _error(f"drain stopped: {exc}; {spool.depth_records()} records remain in the "
                      "spool (nothing was lost; run the command again)")
    finally:
        spool.release_drain_lock()
    st = spool.status()
    doc = {"replayed": stats.records, "events_inserted": stats.events,
           "notifications_already_stored": stats.duplicates, "quarantined": stats.quarantined,
           "remaining": st.records, "active_segments": st.active_segments}
    lines = [f"replayed {stats.records} records ({stats.events} events inserted, "
             f"{stats.duplicates} notifications already stored), "
             f"{stats.quarantined} quarantined; {st.records} remaining"]
    if st.records and st.active_segments:
        lines.append("records remain in segments a running process is still writing; its "
                     "drainer replays them")
    _print(args, doc, lines)
    return 0 if st.records == 0 else 1


def _describe(kind: str, body: bytes) -> dict:
    from .spool import identifiers
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"ids": identifiers(body)}
    if kind == "audit_events" and isinstance(value, list):
        return {"events": len(value),
                "ids": [e.get("event_id") for e in value if isinstance(e, dict)],
                "correlation_ids": sorted({e.get("correlation_id") for e in value
                                           if isinstance(e, dict)} - {None})}
    if isinstance(value, dict):
        return {"ids": [value.get("notification_id")],
                "remediation_id": value.get("remediation_id")}
    return {"ids": identifiers(body)}


def _records(spool: Spool, include_replayed: bool):
    from .spool import (ACK_SUFFIX, KIND_NAMES, SEGMENT_SUFFIX, STREAMS, Damage,
                        SegmentFormatError, identifiers, list_segments, read_ack,
                        rfc3339_ns, scan, writer_alive)
    for name, _ in list_segments(spool.dir):
        ack = read_ack(spool.dir / (name[:-len(SEGMENT_SUFFIX)] + ACK_SUFFIX))
        try:
            fd = os.open(spool.dir / name, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            sealed = not writer_alive(fd)
            size = os.fstat(fd).st_size
            try:
                for item in scan(fd, 0 if include_replayed else ack, size, sealed=sealed):
                    entry = {"segment": name, "offset": item.offset,
                             "state": "replayed" if item.end <= ack else "pending"}
                    if isinstance(item, Damage):
                        entry.update(state=item.reason, bytes=item.end - item.offset,
                                     ids=identifiers(item.raw))
                    else:
                        kind = KIND_NAMES.get(item.kind, f"kind-{item.kind}")
                        entry.update(appended_at=rfc3339_ns(item.ts_ns), kind=kind,
                                     stream=STREAMS.get(kind, "unknown"),
                                     bytes=item.end - item.offset, **_describe(kind, item.body))
                    yield entry
            except SegmentFormatError as exc:
                yield {"segment": name, "offset": 0, "state": "unreadable", "detail": str(exc)}
        finally:
            os.close(fd)


def cmd_inspect(args) -> int:
    spool, _ = _spool(args)
    entries = []
    if args.quarantine:
        try:
            with open(spool.quarantine_path, "rb") as f:
                for line in f:
                    if line.strip():
                        entry = orjson.loads(line)
                        if "raw_base64" in entry:
                            entry["raw_bytes"] = len(base64.b64decode(entry.pop("raw_base64")))
                        entry.pop("payload", None)
                        entries.append(entry)
        except FileNotFoundError:
            pass
        if args.limit:
            entries = entries[-args.limit:]
        lines = [f"{e['quarantined_at']} {e['reason']}: {e['detail']} "
                 f"[{e['segment']}@{e['offset']}] ids: {', '.join(e.get('ids') or []) or '-'}"
                 for e in entries] or ["quarantine is empty"]
        _print(args, {"quarantine": entries}, lines)
        return 0
    for entry in _records(spool, args.all):
        entries.append(entry)
        if args.limit and len(entries) >= args.limit:
            break
    lines = []
    for e in entries:
        where = f"{e['segment']}@{e['offset']}"
        if "kind" in e:
            what = f"{e['kind']} ({e.get('events', 1)} event(s))"
            lines.append(f"{e.get('appended_at')} {e['state']:8} {what:28} {where} "
                         f"ids: {', '.join(map(str, e['ids']))}")
        else:
            lines.append(f"{'':27} {e['state']:8} {e.get('detail', '')} {where} "
                         f"ids: {', '.join(e.get('ids') or []) or '-'}")
    _print(args, {"records": entries}, lines or ["no records"])
    return 0

