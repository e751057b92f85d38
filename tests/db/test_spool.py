"""Spool files on a real filesystem: format, checksums, torn tails, capacity,
unwritable directories, one writer per segment across processes."""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import struct
import uuid
from pathlib import Path

import orjson
import pytest

from app.server import ProblemErrorHandler
from app.db import DatabaseUnavailable
from app.spool import (ACK, FILE_HEADER, REC, Damage, Record, Spool, SpoolFull,
                       SpoolWriteError, _ack_bytes, list_segments, read_ack, scan, writer_alive)


def audit_payload(n: int = 1, cid: str = "c-1") -> str:
    return orjson.dumps([{"event_id": str(uuid.uuid4()), "correlation_id": cid, "n": i}
                         for i in range(n)]).decode()


def items(path: Path, *, sealed: bool, start: int = 0):
    fd = os.open(path, os.O_RDONLY)
    try:
        return list(scan(fd, start, os.fstat(fd).st_size, sealed=sealed))
    finally:
        os.close(fd)


def segments(directory: Path) -> list[Path]:
    return [directory / name for name, _ in list_segments(directory)]


async def fill(spool: Spool, payloads: list[tuple[str, str]]) -> None:
    for kind, payload in payloads:
        await spool.append(kind, payload)


def test_records_read_back_in_order_with_their_bytes(tmp_path):
    spool = Spool(tmp_path, 1 << 20)
    payloads = [("audit_events", audit_payload(i % 3 + 1)) for i in range(20)]
    payloads.insert(7, ("notification", '{"notification_id": "n-1"}'))

    async def go():
        await fill(spool, payloads)
        await spool.close()
    asyncio.run(go())

    (seg,) = segments(tmp_path)
    assert f"-{os.getpid()}-" in seg.name            # a segment belongs to one process
    assert seg.read_bytes()[:len(FILE_HEADER)] == FILE_HEADER
    got = items(seg, sealed=True)
    assert all(isinstance(r, Record) for r in got)
    assert [r.body.decode() for r in got] == [p for _, p in payloads]
    assert [r.kind for r in got] == [2 if k == "notification" else 1 for k, _ in payloads]
    assert [r.ts_ns for r in got] == sorted(r.ts_ns for r in got)
    status = spool.status()
    assert (status.records, status.by_stream) == (21, {"events": 20, "notifications": 1})
    print(f"\n21 records appended and read back byte for byte from {seg.name}")


def test_concurrent_appends_share_one_fsync_and_all_land(tmp_path):
    spool = Spool(tmp_path, 1 << 22)
    payloads = [audit_payload() for _ in range(300)]

    async def go():
        await asyncio.gather(*(spool.append("audit_events", p) for p in payloads))
        await spool.close()
    asyncio.run(go())
    got = [r.body.decode() for seg in segments(tmp_path) for r in items(seg, sealed=True)]
    assert sorted(got) == sorted(payloads)


def test_a_flipped_byte_is_caught_and_only_that_record_is_lost(tmp_path):
    spool = Spool(tmp_path, 1 << 20)
    payloads = [("audit_events", audit_payload()) for _ in range(5)]
    asyncio.run(fill(spool, payloads))
    asyncio.run(spool.close())
    (seg,) = segments(tmp_path)
    good = items(seg, sealed=True)
    third = good[2]
    data = bytearray(seg.read_bytes())
    data[third.offset + REC.size + 10] ^= 0x01            # one bit inside the 3rd body
    seg.write_bytes(bytes(data))

    got = items(seg, sealed=True)
    assert [type(x).__name__ for x in got] == ["Record", "Record", "Damage", "Record", "Record"]
    assert got[2].reason == "corrupt_record"
    assert (got[2].offset, got[2].end) == (third.offset, third.end)
    assert [r.body for r in got if isinstance(r, Record)] == \
        [r.body for i, r in enumerate(good) if i != 2]


def test_torn_tail_is_damage_in_a_sealed_segment_and_pending_in_an_active_one(tmp_path):
    spool = Spool(tmp_path, 1 << 20)
    payloads = [("audit_events", audit_payload()) for _ in range(4)]
    asyncio.run(fill(spool, payloads))
    asyncio.run(spool.close())
    (seg,) = segments(tmp_path)
    size = seg.stat().st_size
    os.truncate(seg, size - 5)

    sealed = items(seg, sealed=True)
    assert [type(x) for x in sealed] == [Record, Record, Record, Damage]
    assert sealed[3].reason == "torn_record" and sealed[3].end == size - 5
    # The same bytes in a segment whose writer is alive are a write in progress.
    assert [type(x) for x in items(seg, sealed=False)] == [Record, Record, Record]
    assert spool.status().damaged == 1


def test_full_spool_refuses_with_503_and_keeps_what_it_accepted(tmp_path):
    spool = Spool(tmp_path, 8192)
    accepted = []

    async def go():
        with pytest.raises(SpoolFull) as refused:
            for _ in range(100):
                p = audit_payload()
                await spool.append("audit_events", p)
                accepted.append(p)
        await spool.close()
        return refused.value
    refusal = asyncio.run(go())
    assert refusal.capacity == 8192 and refusal.used <= 8192
    # The HTTP layer's answer to it: 503 service-unavailable, retry.
    answer = ProblemErrorHandler().default(None, refusal)
    problem = orjson.loads(answer.body)
    assert answer.status == 503 and problem["type"].endswith("/service-unavailable")
    assert {k: v for k, v in problem.items()
            if k not in ("type", "title", "status", "detail", "instance")} == {"retry": True}
    assert 0 < len(accepted) < 100
    got = [r.body.decode() for seg in segments(tmp_path) for r in items(seg, sealed=True)]
    assert got == accepted
    assert sum(s.stat().st_size for s in segments(tmp_path)) <= 8192
    print(f"\ncapacity 8192 bytes: {len(accepted)} records accepted, the next one refused (503)")


def test_unwritable_directory_fails_the_write_and_recovers(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the spool directory should be")
    spool = Spool(blocker / "spool", 1 << 20)

    async def go():
        with pytest.raises(SpoolWriteError) as exc:
            await spool.append("audit_events", audit_payload())
        assert isinstance(exc.value, DatabaseUnavailable)   # routes answer 500 database_error
        assert spool.status().writable is False
        blocker.unlink()
        spool._probe_writable()
        assert spool.status().writable is True
        await spool.append("audit_events", audit_payload())
        await spool.close()
    asyncio.run(go())
    assert len(segments(blocker / "spool")) == 1


def test_a_segment_moved_away_is_not_written_into(tmp_path):
    """Appending to a segment nobody can find any more would lose the record."""
    directory = tmp_path / "spool"
    spool = Spool(directory, 1 << 20)

    async def go():
        await spool.append("audit_events", audit_payload())
        directory.rename(tmp_path / "moved")
        directory.mkdir()
        await spool.append("audit_events", audit_payload())
        await spool.close()
    asyncio.run(go())
    assert len(segments(directory)) == 1 and len(segments(tmp_path / "moved")) == 1


def test_the_writer_holds_its_segment_until_it_seals_it(tmp_path):
    spool = Spool(tmp_path, 1 << 20, seal_idle=0.0)

    async def go():
        await spool.append("audit_events", audit_payload())
        (seg,) = segments(tmp_path)
        fd = os.open(seg, os.O_RDONLY)
        try:
            assert writer_alive(fd)
            assert spool.status().active_segments == 1
            await spool._writer.seal_if_idle(0.0)
            assert not writer_alive(fd)
            assert spool.status().active_segments == 0
        finally:
            os.close(fd)
    asyncio.run(go())


def _append_in_child(directory: str, tag: str, n: int) -> None:
    async def go():
        spool = Spool(directory, 1 << 24)
        await asyncio.gather(*(spool.append("audit_events", orjson.dumps(
            [{"event_id": str(uuid.uuid4()), "tag": tag, "i": i}]).decode()) for i in range(n)))
        await spool.close()
    asyncio.run(go())


def test_processes_never_share_a_segment(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_in_child, args=(str(tmp_path), f"p{i}", 250))
             for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    segs = segments(tmp_path)
    assert len(segs) == 3
    per_segment = []
    for seg in segs:
        tags = {orjson.loads(r.body)[0]["tag"] for r in items(seg, sealed=True)}
        assert len(tags) == 1                  # one writer per segment
        per_segment.append(len(items(seg, sealed=True)))
    assert per_segment == [250, 250, 250]
    print(f"\n3 processes x 250 appends -> 3 segments, {sum(per_segment)} intact records")


def test_ack_offset_counts_pending_records_and_a_damaged_ack_means_from_the_start(tmp_path):
    spool = Spool(tmp_path, 1 << 20)
    asyncio.run(fill(spool, [("audit_events", audit_payload()) for _ in range(6)]))
    asyncio.run(spool.close())
    (seg,) = segments(tmp_path)
    recs = items(seg, sealed=True)
    ack = seg.with_suffix(".ack")
    ack.write_bytes(_ack_bytes(recs[3].end))
    assert read_ack(ack) == recs[3].end
    assert spool.status().records == 2
    assert [r.offset for r in items(seg, sealed=True, start=read_ack(ack))] == \
        [recs[4].offset, recs[5].offset]
    ack.write_bytes(struct.pack("<Q", recs[3].end) + b"\0\0\0\0")   # bad crc
    assert read_ack(ack) == 0 and spool.status().records == 6
    assert ACK.size == 12


def test_drain_lock_elects_one_drainer(tmp_path):
    first, second = Spool(tmp_path, 1 << 20), Spool(tmp_path, 1 << 20)
    assert first.acquire_drain_lock()
    assert not second.acquire_drain_lock()
    assert second.drainer_pid() == os.getpid()
    first.release_drain_lock()
    assert second.acquire_drain_lock()
    second.release_drain_lock()
