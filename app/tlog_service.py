"""The service side of the transparency log: the integrator loop (outbox ->
leaves, in SQL) and the checkpoint signer.

The signer is also the log's first witness: before signing a larger tree it
checks the consistency proof from the last checkpoint it wrote to the
outside directory, so a tree rewritten inside the database is never signed.
Ed25519 is deterministic, so several workers signing one head produce the
same note (stored once) and the same file.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path

from . import metrics, note, tlog
from .db import DatabaseUnavailable

log = logging.getLogger("datastorage.tlog")
SUFFIX = ".checkpoint"


def load_signer(settings) -> note.Signer:
    """The log's signing key (created on first start, mode 0600)."""
    try:
        return note.load_or_create_signer(settings.log_key_path, settings.log_origin_name)
    except FileExistsError:  # another worker created it a moment ago
        return note.load_or_create_signer(settings.log_key_path, settings.log_origin_name)


def write_durably(path: Path, text: str) -> None:
    """Write-then-rename, with the file and its directory fsync'd."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint_file(directory: Path, size: int) -> Path:
    return directory / f"{size:020d}{SUFFIX}"


def latest_local(directory: Path, verifier: note.Verifier) -> note.Checkpoint | None:
    """The largest checkpoint in `directory` signed by `verifier`."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("*" + SUFFIX), reverse=True):
        try:
            return note.Checkpoint.parse(path.read_text(), verifier)
        except (note.NoteError, OSError, UnicodeDecodeError):
            continue
    return None


class RefusedToSign(Exception):
    """The database's tree is not an extension of what was signed before."""


class LogWorker:
    def __init__(self, db, settings, signer: note.Signer):
        self.db = db
        self.settings = settings
        self.signer = signer
        self.directory = settings.checkpoint_path
        self.last: note.Checkpoint | None = latest_local(self.directory, signer.verifier)
        self.tasks: list[asyncio.Task] = []

    async def integrate_once(self) -> int:
        return await self.db.call("datastorage.tlog_integrate", self.settings.log_batch)

    async def _integrate_loop(self) -> None:
        while True:
            try:
                n = await self.integrate_once()
            except DatabaseUnavailable:
                n = 0
            except Exception:  # noqa: BLE001 - keep integrating; say why it failed
                log.exception("transparency log integration failed")
                n = 0
            if n < self.settings.log_batch:
                await asyncio.sleep(self.settings.log_integrate_interval)

    async def sign_once(self) -> note.Checkpoint | None:
        """Sign the current head if it grew; returns the new checkpoint."""
        size, root = await self.db.call("datastorage.tlog_head")
        root = bytes(root)
        metrics.TLOG_TREE_SIZE.set(size)
        last = self.last
        if last is not None:
            if size < last.size:
                raise RefusedToSign(f"the database log has {size} leaves, fewer than the "
                                    f"{last.size} already signed (rollback)")
            if size == last.size:
                if root != last.root:
                    raise RefusedToSign(f"the database root at size {size} differs from the "
                                        "signed one (leaves rewritten)")
                return None
            proof = (await self.db.call("datastorage.tlog_consistency_proof", last.size, size)
                     if last.size else [])
            try:
                tlog.verify_consistency(last.size, size, [bytes(p) for p in proof], last.root, root)
            except tlog.ProofError as exc:
                raise RefusedToSign(f"the database tree of size {size} does not extend the signed "
                                    f"tree of size {last.size}: {exc}") from None
        cp = note.sign_checkpoint(self.signer, size, root)
        text = cp.note.render()
        await asyncio.to_thread(write_durably, checkpoint_file(self.directory, size), text)
        await self.db.call("datastorage.tlog_record_checkpoint", size, root, text)
        self.last = cp
        metrics.TLOG_CHECKPOINT_SIZE.set(size)
        metrics.TLOG_CHECKPOINT_TIME.set(time.time())
        return cp

    async def _sign_loop(self) -> None:
        while True:
            try:
                await self.sign_once()
            except DatabaseUnavailable:
                pass
            except RefusedToSign as exc:
                metrics.TLOG_SIGN_REFUSALS.inc()
                log.error("transparency log: refusing to sign a checkpoint: %s", exc)
            except Exception:  # noqa: BLE001
                log.exception("transparency log checkpoint failed")
            await asyncio.sleep(self.settings.checkpoint_interval)

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._integrate_loop(), name="tlog-integrate"),
                      asyncio.create_task(self._sign_loop(), name="tlog-sign")]

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
