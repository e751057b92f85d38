"""Dead-letter spool: writes accepted while PostgreSQL is unreachable wait
here, on local disk, until a drainer has replayed them (DESIGN.md, DD-009).

Layout of the spool directory (docs/spool.md is the operator's view):

    seg-<created ns>-<pid>-<random>.log   segment: append-only records
    seg-....ack                           how far the drainer got (offset + crc)
    drain.lock                            flock held by the one elected drainer
    quarantine.jsonl                      records that can never be stored

Segment format: a 16-byte file header, then records

    magic "\\xd5SR1" | body length u32 | crc32 u32 | appended ns u64 | kind u8 | 3 pad | body

(little endian). The crc covers everything after itself, so a torn or
corrupt record is recognised and skipped without losing its neighbours.

Concurrency rules:
  * a segment has one writer for its whole life: the process that created
    it, which holds an exclusive flock on it until it seals it (closes it).
    A flock that can be taken means the writer sealed it or died;
  * exactly one process drains (the holder of drain.lock). It may read a
    segment whose writer is still appending, but only up to the last
    complete record; damage is only declared in sealed segments;
  * a record is acknowledged (ack offset moved past it) only after the
    transaction that stored it committed, or after it was written to the
    quarantine file. A segment is deleted only when sealed and fully
    acknowledged. A crash between commit and ack replays the record, which
    is harmless: every replay path is idempotent.
"""
from __future__ import annotations

import asyncio
import base64
import fcntl
import heapq
import logging
import os
import re
import secrets
import struct
import time
import zlib
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson

from . import metrics, writes
from .db import DatabaseError, DatabaseUnavailable, DeadlineExceeded
from .retry import until_success
from .timeutil import utc_micro

log = logging.getLogger("datastorage.spool")

FILE_HEADER = b"DSSPOOL\x00" + struct.pack("<II", 1, 0)
REC = struct.Struct("<4sIIQB3x")
REC_MAGIC = b"\xd5SR1"
MAX_RECORD = 1 << 30          # a longer length field is garbage, not a record
ACK = struct.Struct("<QI")

KINDS = {"audit_events": 1, "notification": 2}
KIND_NAMES = {v: k for k, v in KINDS.items()}
STREAMS = {"audit_events": "events", "notification": "notifications"}
ENQUEUE_TYPES = {"audit_events": "audit_event", "notification": "notification_audit"}

SEGMENT_PREFIX, SEGMENT_SUFFIX, ACK_SUFFIX, TMP_PREFIX = "seg-", ".log", ".ack", "tmp-"
LOCK_NAME, QUARANTINE_NAME = "drain.lock", "quarantine.jsonl"

# SQLSTATEs meaning "this record can never be stored as it is" (quarantine).
# Anything else that is not "database unavailable" is retried with backoff,
# up to Spool.max_attempts times for the same record (then quarantined as
# retries_exhausted): a passing problem (a missing grant fixed by the DBA, a
# statement timeout) does not empty the spool, a record that fails forever
# does not stall it.
_PERMANENT_CLASSES = ("22", "23")
_PERMANENT_STATES = ("DS400", "DS404", "DS409", "DS413")
# The one unique constraint a notification replay may hit because it was
# stored already; any other conflict is a different record (quarantine).
NOTIFICATION_KEY = "notification_audit_notification_id_key"


class SpoolFull(Exception):
    """At capacity: the client keeps its write and retries (the HTTP layer
    answers 503); nothing is evicted."""

    def __init__(self, used: int, capacity: int):
        super().__init__(f"database unavailable and dead-letter spool full ({used} of "
                         f"{capacity} bytes) - please retry")
        self.used, self.capacity = used, capacity


class SpoolWriteError(DatabaseUnavailable):
    """The spool could not be written either: the routes answer as the
    original does when its DLQ enqueue fails (spec §1.1)."""


class ReplayDeferred(Exception):
    """The database refused a replay for a reason that may pass (retry later)."""


# --- records ---------------------------------------------------------------

def encode_record(kind: int, body: bytes, ts_ns: int) -> bytes:
    tail = struct.pack("<QB3x", ts_ns, kind)
    crc = zlib.crc32(body, zlib.crc32(tail))
    return REC_MAGIC + struct.pack("<II", len(body), crc) + tail + body


@dataclass(slots=True)
class Record:
    offset: int
    end: int
    ts_ns: int
    kind: int
    body: bytes | None


@dataclass(slots=True)
class Damage:
    offset: int
    end: int
    reason: str            # torn_record (runs to the end of the segment) | corrupt_record
    raw: bytes


class SegmentFormatError(Exception):
    pass


class _Window:
    """Positional reads through a 1 MiB window (records are mostly small)."""

    def __init__(self, fd: int, size: int, chunk: int = 1 << 20):
        self.fd, self.size, self.chunk = fd, size, chunk
        self.base, self.buf = 0, b""

    def get(self, off: int, n: int) -> bytes | None:
        if off + n > self.size:
            return None
        if off < self.base or off + n > self.base + len(self.buf):
            self.buf = os.pread(self.fd, min(max(n, self.chunk), self.size - off), off)
            self.base = off
            if len(self.buf) < n:   # the file shrank under us
                return None
        i = off - self.base
        return self.buf[i:i + n]


def _valid_at(w: _Window, pos: int) -> int | None:
    head = w.get(pos, REC.size)
    if head is None:
        return None
    magic, length, crc, _, _ = REC.unpack(head)
    if magic != REC_MAGIC or length > MAX_RECORD:
        return None
    body = w.get(pos + REC.size, length)
    if body is None or zlib.crc32(body, zlib.crc32(head[12:])) != crc:
        return None
    return pos + REC.size + length


def _resync(w: _Window, start: int) -> int:
    """Offset of the next intact record after damage (or the end of the segment)."""
    rest = w.get(start, w.size - start) or b""
    i = rest.find(REC_MAGIC)
    while i != -1:
        if _valid_at(w, start + i) is not None:
            return start + i
        i = rest.find(REC_MAGIC, i + 1)
    return w.size


def scan(fd: int, start: int, size: int, *, sealed: bool, verify: bool = True):
    """Yield the Records (and, in sealed segments, the Damage) from `start`.

    In a segment whose writer is alive, anything that is not a complete,
    valid record is a write in progress: the scan stops there."""
    w = _Window(fd, size)
    if size < len(FILE_HEADER):
        return                      # created, never written: nothing was acknowledged
    if w.get(0, len(FILE_HEADER)) != FILE_HEADER:
        raise SegmentFormatError("not a spool segment (unknown file header)")
    pos = max(start, len(FILE_HEADER))
    while pos < size:
        head = w.get(pos, REC.size)
        if head is not None:
            magic, length, crc, ts_ns, kind = REC.unpack(head)
            end = pos + REC.size + length
            if magic == REC_MAGIC and length <= MAX_RECORD and end <= size:
                body = w.get(pos + REC.size, length) if verify else None
                if not verify or (body is not None
                                  and zlib.crc32(body, zlib.crc32(head[12:])) == crc):
                    yield Record(pos, end, ts_ns, kind, body)
                    pos = end
                    continue
        if not sealed:
            return
        nxt = _resync(w, pos + 1)
        yield Damage(pos, nxt, "torn_record" if nxt >= size else "corrupt_record",
                     w.get(pos, nxt - pos) or b"")
        pos = nxt


_ID_PATTERNS = (re.compile(rb'"event_id":\s*"([0-9a-fA-F-]{36})"'),
                re.compile(rb'"notification_id":\s*"((?:[^"\\]|\\.){1,200})"'))


def identifiers(body: bytes) -> list[str]:
    """Event ids (or notification ids) named in a record body, even a partial one."""
    found = []
    for pattern in _ID_PATTERNS:
        found += [m.decode(errors="replace") for m in pattern.findall(body)]
    return found


def rfc3339_ns(ts_ns: int) -> str:
    return utc_micro(datetime.fromtimestamp(ts_ns / 1e9, tz=timezone.utc))


# --- file helpers ------------------------------------------------------------

def _segment_name() -> str:
    # Names sort by creation time; pid and random part keep them unique.
    return (f"{SEGMENT_PREFIX}{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}"
            f"{SEGMENT_SUFFIX}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def writer_alive(fd: int) -> bool:
    """A segment's writer holds LOCK_EX until it seals it (or dies)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def read_ack(path: Path) -> int:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    if len(data) != ACK.size:
        return 0
    offset, crc = ACK.unpack(data)
    # A damaged ack file means "replay from the start": duplicates are
    # harmless, skipping records is not.
    return offset if zlib.crc32(data[:8]) == crc else 0


def _ack_bytes(offset: int) -> bytes:
    head = struct.pack("<Q", offset)
    return head + struct.pack("<I", zlib.crc32(head))


def list_segments(directory: Path) -> list[tuple[str, os.stat_result]]:
    out = []
    try:
        with os.scandir(directory) as it:
            for e in it:
                if e.name.startswith(SEGMENT_PREFIX) and e.name.endswith(SEGMENT_SUFFIX):
                    try:
                        out.append((e.name, e.stat()))
                    except FileNotFoundError:
                        pass
    except OSError:       # missing, or not a directory: nothing spooled there
        pass
    out.sort()
    return out


# --- writer ---------------------------------------------------------------------

class _Writer:
    """This process's active segment. Concurrent appends are written and
    fsync'd together (group commit); each caller returns only after the
    fsync that covers its record."""

    def __init__(self, spool: "Spool"):
        self.spool = spool
        self.fd: int | None = None
        self.path: Path | None = None
        self.ino = 0
        self.size = 0
        self.last_write = 0.0
        self.queue: list[tuple[bytes, asyncio.Future]] = []
        self.queued = 0
        self.flushing = False
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task | None = None

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def write(self, rec: bytes) -> None:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.queue.append((rec, fut))
        self.queued += len(rec)
        if not self.flushing:
            self.flushing = True
            self._task = loop.create_task(self._flush())
        await fut

    async def _flush(self) -> None:
        try:
            async with self.lock:
                while self.queue:
                    batch, self.queue = self.queue, []
                    data = b"".join(r for r, _ in batch)
                    try:
                        await asyncio.to_thread(self._write_sync, data)
                        error = None
                        self.spool._written_since_scan += len(data)
                    except OSError as exc:
                        error = exc
                    self.queued -= len(data)
                    for _, fut in batch:
                        if fut.done():
                            continue
                        if error is None:
                            fut.set_result(None)
                        else:
                            fut.set_exception(SpoolWriteError(f"spool write failed: {error}"))
        finally:
            self.flushing = False

    def _write_sync(self, data: bytes) -> None:
        if self.fd is not None:
            try:
                same = os.stat(self.path).st_ino == self.ino
            except OSError:
                same = False
            if not same:
                # Someone moved or deleted it: appending would write into a
                # file no drainer will ever see.
                log.error("active spool segment %s disappeared; starting a new one", self.path)
                self.close_sync()
            elif self.size >= self.spool.segment_bytes:
                self.close_sync()
        if self.fd is None:
            self._open_sync()
        start = self.size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
            os.fdatasync(self.fd)
        except OSError:
            # Never append after a failed write or fsync: cut the partial
            # bytes if possible and seal. The drainer reports what remains.
            try:
                os.ftruncate(self.fd, start)
            except OSError:
                pass
            self.close_sync()
            raise
        self.size = start + len(data)
        self.last_write = time.monotonic()

    def _open_sync(self) -> None:
        directory = self.spool.dir
        directory.mkdir(parents=True, exist_ok=True)
        name = _segment_name()
        tmp = directory / (TMP_PREFIX + name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            # Locked before it gets its real name: no drainer ever sees it unlocked.
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, FILE_HEADER)
            os.rename(tmp, directory / name)
            _fsync_dir(directory)
        except OSError:
            os.close(fd)
            try:
                tmp.unlink()
            except OSError:
                pass
            raise
        self.fd, self.path = fd, directory / name
        self.ino, self.size = os.fstat(fd).st_ino, len(FILE_HEADER)

    def close_sync(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)   # releases the flock: the segment is sealed

    async def seal_if_idle(self, idle: float) -> None:
        if self.fd is None or self.flushing or time.monotonic() - self.last_write < idle:
            return
        async with self.lock:
            if self.fd is not None and not self.queue and \
                    time.monotonic() - self.last_write >= idle:
                self.close_sync()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)
        async with self.lock:
            self.close_sync()


# --- status (depth, age) ---------------------------------------------------------

class _SegmentIndex:
    """Record ends/timestamps/kinds of one segment, scanned incrementally."""
    __slots__ = ("ino", "scanned", "ends", "ts", "kinds", "unreadable")

    def __init__(self, ino: int):
        self.ino = ino
        self.scanned = 0
        self.ends, self.ts, self.kinds = array("q"), array("q"), array("b")
        self.unreadable = False


@dataclass
class SpoolStatus:
    directory: str
    records: int
    by_stream: dict
    damaged: int
    bytes: int
    quarantine_bytes: int
    pending_bytes: int
    capacity_bytes: int
    oldest_ts_ns: int | None
    segments: int
    active_segments: int
    unreadable_segments: int
    quarantined: int
    writable: bool
    last_error: str | None
    drainer_pid: int | None

    @property
    def capacity_ratio(self) -> float:
        """Segments and quarantine together: both hold accepted writes."""
        used = self.bytes + self.quarantine_bytes
        return used / self.capacity_bytes if self.capacity_bytes else 0.0

    @property
    def oldest_age_seconds(self) -> float | None:
        if self.oldest_ts_ns is None:
            return None
        return max(0.0, (time.time_ns() - self.oldest_ts_ns) / 1e9)

    def as_dict(self) -> dict:
        return {"directory": self.directory, "records": self.records,
                "records_by_stream": self.by_stream, "damaged_records": self.damaged,
                "bytes": self.bytes, "quarantine_bytes": self.quarantine_bytes,
                "pending_bytes": self.pending_bytes,
                "capacity_bytes": self.capacity_bytes,
                "capacity_ratio": round(self.capacity_ratio, 6),
                "oldest_record_at": rfc3339_ns(self.oldest_ts_ns) if self.oldest_ts_ns else None,
                "oldest_age_seconds": (round(self.oldest_age_seconds, 3)
                                       if self.oldest_ts_ns else None),
                "segments": self.segments, "active_segments": self.active_segments,
                "unreadable_segments": self.unreadable_segments,
                "quarantined": self.quarantined, "writable": self.writable,
                "last_error": self.last_error, "drainer_pid": self.drainer_pid}


# --- the spool ----------------------------------------------------------------

class Spool:
    def __init__(self, directory, max_bytes: int, *, segment_bytes: int = 8 << 20,
                 seal_idle: float = 1.0, poll_interval: float = 0.5,
                 min_backoff: float = 0.25, max_backoff: float = 5.0,
                 group_bytes: int = 256 << 10, group_records: int = 2000,
                 max_attempts: int = 20):
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.seal_idle = seal_idle
        self.poll_interval = poll_interval
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.group_bytes, self.group_records = group_bytes, group_records
        self.max_attempts = max_attempts
        # (segment, offset) of the record the drain is stuck on, and how many
        # passes it failed: a pass stops at its first deferred record, so one
        # entry is enough.
        self._failing: tuple[tuple[str, int], int] | None = None
        self.last_error: str | None = None
        self._writer = _Writer(self)
        self._index: dict[str, _SegmentIndex] = {}
        self._disk_bytes, self._disk_at, self._written_since_scan = 0, -1.0, 0
        self._quarantine_count = (0, -1)          # (lines, file size)
        self._lock_fd: int | None = None
        self._tasks: list[asyncio.Task] = []
        self._active = False        # publish gauges once the spool has been used
        self._level: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings) -> "Spool":
        return cls(settings.spool_path, settings.spool_max_bytes,
                   max_attempts=settings.spool_max_attempts)

    def failed_attempt(self, key: tuple[str, int]) -> int:
        """Count one more failed replay of the record at `key`; returns the count."""
        count = self._failing[1] + 1 if self._failing and self._failing[0] == key else 1
        self._failing = (key, count)
        return count

    def _quarantine_bytes(self) -> int:
        try:
            return self.quarantine_path.stat().st_size
        except OSError:
            return 0

    @property
    def quarantine_path(self) -> Path:
        return self.dir / QUARANTINE_NAME

    # -- append (request path) --------------------------------------------------
    async def append(self, kind: str, payload: str) -> None:
        """Durably store one already-validated write; returns after fsync.

        Raises SpoolFull (503) at capacity and SpoolWriteError when the disk
        refuses the write."""
        code = KINDS[kind]
        rec = encode_record(code, payload.encode(), time.time_ns())
        used = self._used_bytes()
        if used + len(rec) > self.max_bytes:
            metrics.SPOOL_REJECTED.labels(reason="full").inc()
            log.error("dead-letter spool full (%d of %d bytes): refusing a %s write with 503",
                      used, self.max_bytes, kind)
            raise SpoolFull(used, self.max_bytes)
        try:
            await self._writer.write(rec)
        except SpoolWriteError as exc:
            self.last_error = str(exc)
            metrics.SPOOL_REJECTED.labels(reason="write_error").inc()
            log.error("%s (%s write refused)", exc, kind)
            raise
        self.last_error = None
        self._active = True
        metrics.DLQ_ENQUEUE.labels(stream=STREAMS[kind], type=ENQUEUE_TYPES[kind]).inc()

    def _used_bytes(self) -> int:
        """Bytes of every process's segments (a directory scan, at most every
        0.25 s and on every append once 80% full), plus what this process
        wrote since and has queued. Other workers' appends since the last scan
        are not seen: the limit can be passed by at most that much."""
        now = time.monotonic()
        used = self._disk_bytes + self._written_since_scan
        if used > 0.8 * self.max_bytes or now - self._disk_at > 0.25:
            # The quarantine holds accepted writes too: it counts until the
            # operator has dealt with it (docs/spool.md).
            self._disk_bytes = (sum(st.st_size for _, st in list_segments(self.dir))
                                + self._quarantine_bytes())
            self._disk_at, self._written_since_scan = now, 0
        return self._disk_bytes + self._written_since_scan + self._writer.queued

    # -- status ---------------------------------------------------------------------
    def status(self) -> SpoolStatus:
        records = damaged = pending_bytes = disk = active = unreadable = 0
        by_stream = {"events": 0, "notifications": 0}
        oldest = None
        seen = set()
        for name, st in list_segments(self.dir):
            seen.add(name)
            disk += st.st_size
            idx = self._index.get(name)
            if idx is None or idx.ino != st.st_ino:
                idx = self._index[name] = _SegmentIndex(st.st_ino)
            try:
                fd = os.open(self.dir / name, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                alive = writer_alive(fd)
                active += alive
                size = os.fstat(fd).st_size
                if size < idx.scanned:      # cut back after a failed write: index again
                    idx = self._index[name] = _SegmentIndex(st.st_ino)
                if size > idx.scanned and not idx.unreadable:
                    self._extend_index(idx, fd, size, sealed=not alive)
            finally:
                os.close(fd)
            if idx.unreadable:
                unreadable += 1
                continue
            ack = read_ack(self.dir / (name[:-len(SEGMENT_SUFFIX)] + ACK_SUFFIX))
            first = bisect_right(idx.ends, ack)
            pending = idx.kinds[first:]
            notifications, broken = pending.count(KINDS["notification"]), pending.count(0)
            damaged += broken
            records += len(pending) - broken
            by_stream["notifications"] += notifications
            by_stream["events"] += len(pending) - broken - notifications
            if first < len(idx.ends):
                if oldest is None or idx.ts[first] < oldest:
                    oldest = idx.ts[first] or oldest
                pending_bytes += max(0, st.st_size - max(ack, len(FILE_HEADER)))
        for gone in set(self._index) - seen:
            del self._index[gone]
        return SpoolStatus(str(self.dir), records, by_stream, damaged, disk,
                           self._quarantine_bytes(), pending_bytes, self.max_bytes, oldest, len(seen), active, unreadable,
                           self._count_quarantined(), self.last_error is None, self.last_error,
                           self.drainer_pid())

    def _extend_index(self, idx: _SegmentIndex, fd: int, size: int, *, sealed: bool) -> None:
        last_ts = idx.ts[-1] if len(idx.ts) else 0
        try:
            for item in scan(fd, idx.scanned, size, sealed=sealed, verify=False):
                if isinstance(item, Record):
                    last_ts = item.ts_ns
                    idx.kinds.append(item.kind)
                else:
                    idx.kinds.append(0)
                idx.ends.append(item.end)
                idx.ts.append(last_ts)
                idx.scanned = item.end
        except SegmentFormatError:
            idx.unreadable = True

    def _count_quarantined(self) -> int:
        try:
            size = self.quarantine_path.stat().st_size
        except OSError:
            return 0
        if size != self._quarantine_count[1]:
            with open(self.quarantine_path, "rb") as f:
                self._quarantine_count = (sum(chunk.count(b"\n") for chunk in
                                              iter(lambda: f.read(1 << 20), b"")), size)
        return self._quarantine_count[0]

    def depth_records(self) -> int:
        return self.status().records

    def health(self) -> dict:
        return self.status().as_dict()

    def publish(self, status: SpoolStatus | None = None) -> SpoolStatus:
        """Refresh the spool gauges (spec §1.4 thresholds, but kept current)."""
        status = status or self.status()
        if not (self._active or status.segments or status.quarantined):
            return status   # like the original: no DLQ series before the DLQ is used
        ratio = status.capacity_ratio
        level = ("overflow_imminent" if ratio >= 0.95 else "critical" if ratio >= 0.90
                 else "warning" if ratio >= 0.80 else "ok")
        for stream, depth in status.by_stream.items():
            metrics.DLQ_DEPTH.labels(stream=stream).set(depth)
            metrics.DLQ_CAPACITY_RATIO.labels(stream=stream).set(ratio)
            metrics.DLQ_WARNING.labels(stream=stream).set(level == "warning")
            metrics.DLQ_CRITICAL.labels(stream=stream).set(level == "critical")
            metrics.DLQ_OVERFLOW_IMMINENT.labels(stream=stream).set(level == "overflow_imminent")
            if self._level.get(stream, "ok") != level:
                self._level[stream] = level
                if level in ("critical", "overflow_imminent"):
                    log.error("dead-letter spool %s: %.0f%% of capacity used (%s, %d records)",
                              level, ratio * 100, stream, depth)
                elif level == "warning":
                    log.info("dead-letter spool warning: %.0f%% of capacity used (%s)",
                             ratio * 100, stream)
        metrics.SPOOL_BYTES.set(status.bytes)
        metrics.SPOOL_QUARANTINE_BYTES.set(status.quarantine_bytes)
        metrics.SPOOL_QUARANTINE_RECORDS.set(status.quarantined)
        metrics.SPOOL_OLDEST_AGE.set(status.oldest_age_seconds or 0.0)
        metrics.SPOOL_DAMAGED.set(status.damaged)
        return status

    # -- the drain lock -------------------------------------------------------------
    def acquire_drain_lock(self) -> bool:
        if self._lock_fd is not None:
            return True
        if not self.dir.is_dir():
            return False
        fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        return True

    def release_drain_lock(self) -> None:
        if self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            os.close(fd)

    def drainer_pid(self) -> int | None:
        """The pid of the process holding the drain lock, if any."""
        if self._lock_fd is not None:
            return os.getpid()
        try:
            fd = os.open(self.dir / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not writer_alive(fd):
                return None
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else None
        finally:
            os.close(fd)

    # -- service lifecycle ----------------------------------------------------------
    async def start(self, db) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.last_error = f"spool directory {self.dir} unusable: {exc}"
            log.error("%s; writes during a database outage will fail", self.last_error)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._drain_forever(db)),
                       loop.create_task(self._housekeeping())]

    async def stop(self) -> None:
        """Stop draining. Whatever was not replayed stays on disk."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.release_drain_lock()

    async def close(self) -> None:
        await self._writer.close()

    async def _housekeeping(self) -> None:
        last_publish = 0.0
        while True:
            await asyncio.sleep(min(0.5, self.seal_idle))
            try:
                await self._writer.seal_if_idle(self.seal_idle)
                if self.last_error is not None:
                    await asyncio.to_thread(self._probe_writable)
                if time.monotonic() - last_publish >= 1.0:
                    self.publish()
                    last_publish = time.monotonic()
            except Exception:  # noqa: BLE001 - keep the loop; the error is logged
                log.exception("spool housekeeping failed")

    def _probe_writable(self) -> None:
        """After a write failure, find out when the directory takes writes again."""
        probe = self.dir / f"{TMP_PREFIX}probe-{os.getpid()}"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, b"probe")
                os.fsync(fd)
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError:
            return
        log.info("spool directory %s is writable again", self.dir)
        self.last_error = None

    async def _drain_forever(self, db) -> None:
        failing_since: float | None = None
        last_log = 0.0

        async def one_pass() -> int | None:
            """Records handled, or None when another process drains."""
            if not self.acquire_drain_lock():
                return None
            drainer = Drainer(self, db)
            handled = await drainer.drain_pass()
            if handled:
                st = drainer.stats
                log.info("spool: %d records replayed (%d events inserted), %d quarantined",
                         st.records, st.events, st.quarantined)
            return handled

        def failed(exc: BaseException, delay: float) -> None:
            # Nothing is lost: the records stay on disk until a pass commits them.
            nonlocal failing_since, last_log
            now = time.monotonic()
            if failing_since is None:
                failing_since = now
            metrics.SPOOL_REPLAY_RETRIES.inc()
            if now - last_log >= 60 or last_log < failing_since:
                last_log = now
                waiting = self.depth_records()
                if isinstance(exc, (DatabaseUnavailable, ReplayDeferred)):
                    log.warning("spool drain paused: %s (%d records waiting); retrying "
                                "with backoff", exc, waiting)
                else:
                    log.error("spool drain failed: %r (%d records waiting); retrying",
                              exc, waiting)

        while True:
            handled = await until_success(one_pass, initial=self.min_backoff,
                                          maximum=self.max_backoff, on_failure=failed)
            if failing_since is not None:
                log.info("spool drain resumed after %.1fs", time.monotonic() - failing_since)
                failing_since = None
            if handled:
                self.publish()
            else:
                await asyncio.sleep(self.poll_interval)


class _Source:
    """One segment as seen by a drain pass."""

    def __init__(self, spool: Spool, name: str):
        self.name = name
        self.path = spool.dir / name
        self.ack_path = spool.dir / (name[:-len(SEGMENT_SUFFIX)] + ACK_SUFFIX)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        self.sealed = not writer_alive(self.fd)
        self.size = os.fstat(self.fd).st_size
        self.acked = read_ack(self.ack_path)
        self.items = scan(self.fd, self.acked, self.size, sealed=self.sealed)
        self.exhausted = False
        self.unreadable = False
        self.last_ts = 0

    def next(self):
        try:
            item = next(self.items)
        except StopIteration:
            self.exhausted = True
            return None
        except SegmentFormatError as exc:
            if not self.unreadable:
                log.error("spool segment %s skipped: %s (left in place for the operator)",
                          self.path, exc)
            self.unreadable = True
            return None
        if isinstance(item, Record):
            self.last_ts = item.ts_ns
        return item

    def write_ack(self) -> None:
        # No fsync: a lost ack only means an idempotent replay.
        fd = os.open(self.ack_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.pwrite(fd, _ack_bytes(self.acked), 0)
        finally:
            os.close(fd)

    def close(self) -> None:
        os.close(self.fd)


# What a replay can be refused with: the database's errors, and its deadline
# (a record that times out every time must not stall the drain either).
_REFUSED = (DatabaseError, DeadlineExceeded)


def _reason(exc) -> str:
    """SQLSTATE and message, as quarantine entries and logs show them."""
    return str(exc) if isinstance(exc, DatabaseError) else f"{exc.sqlstate}: {exc}"


def _permanent(exc) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return state.startswith(_PERMANENT_CLASSES) or state in _PERMANENT_STATES


def _array_items(body: bytes) -> bytes | None:
    body = body.strip()
    if body[:1] == b"[" and body[-1:] == b"]":
        return body[1:-1].strip()
    return None


def _joined(bodies: list[bytes]) -> str:
    """Records that are JSON arrays as one array, their bytes untouched."""
    parts = [_array_items(b) for b in bodies]
    return (b"[" + b",".join(p for p in parts if p) + b"]").decode()


@dataclass
class DrainStats:
    records: int = 0            # records committed
    events: int = 0             # audit events newly inserted
    duplicates: int = 0         # notifications that were already stored
    quarantined: int = 0


class Drainer:
    """One pass over every segment, oldest record first across segments (so
    a child event written after its parent, by any worker, replays after it).
    Consecutive audit-event records are stored in one transaction."""

    def __init__(self, spool: Spool, db):
        self.spool = spool
        self.db = db
        self.stats = DrainStats()
        self._distributed: bool | None = None

    async def _by_chain(self) -> bool:
        """Whether the chains live on Citus shards (asked once per pass)."""
        if self._distributed is None:
            try:
                self._distributed = await writes.chains_distributed(self.db)
            except _REFUSED as exc:     # not a refusal of the records: retry the pass
                raise ReplayDeferred(f"cannot tell how the chains are placed: {_reason(exc)}") from exc
        return self._distributed

    async def drain_pass(self) -> int:
        """Replay everything visible now; returns the number of records handled.

        Raises DatabaseUnavailable / ReplayDeferred with nothing acknowledged
        beyond what committed."""
        spool = self.spool
        sources: list[_Source] = []
        handled = 0
        self._distributed = None
        try:
            for name, _ in list_segments(spool.dir):
                try:
                    sources.append(_Source(spool, name))
                except FileNotFoundError:     # deleted by a previous drainer meanwhile
                    continue
            heap: list = []

            def push(src: _Source) -> None:
                item = src.next()
                if item is not None:
                    ts = item.ts_ns if isinstance(item, Record) else src.last_ts
                    heapq.heappush(heap, (ts, src.name, item.offset, item, src))

            for src in sources:
                push(src)
            group: list[tuple[_Source, Record]] = []
            group_bytes = 0
            while heap:
                _, _, _, item, src = heap[0]
                if isinstance(item, Record) and item.kind == KINDS["audit_events"]:
                    inner = _array_items(item.body)
                    fits = (inner is not None and len(group) < spool.group_records
                            and group_bytes + len(item.body) <= spool.group_bytes)
                    if fits or not group:
                        heapq.heappop(heap)
                        push(src)
                        group.append((src, item))
                        group_bytes += len(item.body)
                        if inner is None:       # not an array: let the database judge it alone
                            handled += await self._replay_isolating("audit_events", group)
                            group, group_bytes = [], 0
                        continue
                if group:
                    handled += await self._replay_isolating("audit_events", group)
                    group, group_bytes = [], 0
                    continue
                heapq.heappop(heap)
                push(src)
                if isinstance(item, Damage):
                    self._quarantine_damage(src, item)
                    self._advance([(src, item)])
                elif item.kind == KINDS["notification"]:
                    handled += await self._replay_isolating("notification", [(src, item)])
                    continue
                else:
                    self._quarantine(src, item, "unknown_kind",
                                     f"unknown record kind {item.kind}")
                    self._advance([(src, item)])
                handled += 1
            if group:
                handled += await self._replay_isolating("audit_events", group)
            self._delete_finished(sources)
        finally:
            for src in sources:
                src.close()
        self._collect_garbage()
        return handled

    # The order below is the rule this module exists for: store (commit)
    # first, acknowledge after. tests/db/test_spool_drain.py proves that the
    # reverse order loses records.
    async def _replay(self, kind: str, records: list) -> None:
        await self._store(kind, records)
        self._advance(records)
        self.stats.records += len(records)
        metrics.SPOOL_REPLAYED.labels(stream=STREAMS[kind]).inc(len(records))

    async def _store(self, kind: str, records: list) -> None:
        if kind == "audit_events":
            bodies = [r.body for _, r in records]
            if len(records) == 1 and _array_items(bodies[0]) is None:
                calls = [(None, bodies[0].decode(errors="replace"))]
            elif await self._by_chain():
                # On a cluster: one delegated call per chain (app/writes.py).
                calls = [(chain, _joined(group)) for chain, group in writes.replay_calls(bodies)]
            else:
                calls = [(None, _joined(bodies))]
            for chain, payload in calls:
                self.stats.events += await writes.store(self.db, kind, payload, chain) or 0
            return
        (_, rec), = records
        try:
            await writes.store(self.db, kind, rec.body.decode(errors="replace"))
        except DatabaseError as exc:
            if exc.sqlstate != "23505" or exc.constraint != NOTIFICATION_KEY:
                raise               # another record's key: permanent, quarantined
            # The notification is stored already (an earlier replay, or the
            # original write committed but its reply was lost).
            self.stats.duplicates += 1
            log.warning("spooled notification %s was already stored; replay skipped",
                        ", ".join(identifiers(rec.body)) or "?")

    async def _replay_isolating(self, kind: str, records: list) -> int:
        """Replay; on a refusal that is permanent, or that kept coming back
        max_attempts times, find the record(s) responsible."""
        try:
            await self._replay(kind, records)
            return len(records)
        except _REFUSED as exc:
            exhausted = False
            if not _permanent(exc):
                self._defer(records[0], exc)        # raises unless attempts are used up
                exhausted = True
            if len(records) == 1:
                self._give_up(records[0], exc, exhausted)
                return 1
        n = 0
        for one in records:
            try:
                await self._replay(kind, [one])
            except _REFUSED as exc:
                if _permanent(exc):
                    self._give_up(one, exc, False)
                else:
                    if not exhausted:
                        self._defer(one, exc)
                    self._give_up(one, exc, True)
                    # Only the first record failing after the group used up
                    # its attempts pays for them; later ones count afresh.
                    exhausted = False
            n += 1
        return n

    def _defer(self, item: tuple, exc) -> None:
        """Count a passing failure of this record; raise ReplayDeferred unless
        it has failed max_attempts times (then the caller quarantines it)."""
        src, rec = item
        attempts = self.spool.failed_attempt((src.name, rec.offset))
        if attempts < self.spool.max_attempts:
            raise ReplayDeferred(f"{_reason(exc)} (attempt {attempts} of "
                                 f"{self.spool.max_attempts})") from exc

    def _give_up(self, item: tuple, exc, exhausted: bool) -> None:
        src, rec = item
        if exhausted:
            self._quarantine(src, rec, "retries_exhausted",
                             f"{_reason(exc)} (failed {self.spool.max_attempts} times)")
        else:
            self._quarantine(src, rec, "permanent_error", _reason(exc))
        self._advance([item])

    def _advance(self, records: list) -> None:
        touched = {}
        for src, item in records:
            src.acked = max(src.acked, item.end)
            touched[src.name] = src
        for src in touched.values():
            src.write_ack()

    # -- quarantine -----------------------------------------------------------
    def _write_quarantine(self, entry: dict) -> None:
        path = self.spool.quarantine_path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, orjson.dumps(entry) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        self.stats.quarantined += 1

    def _quarantine(self, src: _Source, rec: Record, reason: str, detail: str) -> None:
        kind = KIND_NAMES.get(rec.kind, f"kind-{rec.kind}")
        ids = identifiers(rec.body)
        self._write_quarantine({
            "quarantined_at": rfc3339_ns(time.time_ns()), "reason": reason, "detail": detail,
            "segment": src.name, "offset": rec.offset, "length": rec.end - rec.offset,
            "kind": kind, "appended_at": rfc3339_ns(rec.ts_ns), "ids": ids,
            "payload": rec.body.decode(errors="replace")})
        metrics.SPOOL_QUARANTINED.labels(stream=STREAMS.get(kind, "unknown"), reason=reason).inc()
        log.error("spool record quarantined (%s): %s; segment %s offset %d; ids %s",
                  reason, detail, src.name, rec.offset, ", ".join(ids) or "-")

    def _quarantine_damage(self, src: _Source, dmg: Damage) -> None:
        ids = identifiers(dmg.raw)
        stream = "unknown"
        if len(dmg.raw) >= REC.size and dmg.raw[:4] == REC_MAGIC:
            stream = STREAMS.get(KIND_NAMES.get(dmg.raw[20], ""), "unknown")
        self._write_quarantine({
            "quarantined_at": rfc3339_ns(time.time_ns()), "reason": dmg.reason,
            "detail": f"{dmg.end - dmg.offset} damaged bytes at offset {dmg.offset}",
            "segment": src.name, "offset": dmg.offset, "length": dmg.end - dmg.offset,
            "kind": None, "appended_at": None, "ids": ids,
            "raw_base64": base64.b64encode(dmg.raw).decode()})
        metrics.SPOOL_QUARANTINED.labels(stream=stream, reason=dmg.reason).inc()
        log.error("spool %s in %s at offset %d (%d bytes) skipped; ids it names: %s",
                  dmg.reason.replace("_", " "), src.name, dmg.offset, dmg.end - dmg.offset,
                  ", ".join(ids) or "none readable")

    # -- clean-up ----------------------------------------------------------------
    def _delete_finished(self, sources: list[_Source]) -> None:
        deleted = False
        for src in sources:
            if src.sealed and src.exhausted and not src.unreadable and src.acked >= src.size \
                    or src.sealed and src.exhausted and src.size <= len(FILE_HEADER):
                src.path.unlink(missing_ok=True)
                src.ack_path.unlink(missing_ok=True)
                deleted = True
        if deleted:
            _fsync_dir(self.spool.dir)

    def _collect_garbage(self) -> None:
        """Ack files whose segment is gone; temp files of a writer that died
        between creating and naming its segment."""
        directory = self.spool.dir
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return
        present = set(names)
        for name in names:
            path = directory / name
            if name.startswith(SEGMENT_PREFIX) and name.endswith(ACK_SUFFIX):
                if name[:-len(ACK_SUFFIX)] + SEGMENT_SUFFIX not in present:
                    path.unlink(missing_ok=True)
            elif name.startswith(TMP_PREFIX):
                try:
                    if time.time() - path.stat().st_mtime < 60:
                        continue
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    if not writer_alive(fd):
                        path.unlink(missing_ok=True)
                finally:
                    os.close(fd)
