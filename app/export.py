"""Signed audit exports: the producer (the format is app/export_format.py,
docs/export.md).

Events are rendered by SQL (datastorage.export_audit_events) and copied
through untouched, so event_data keeps PostgreSQL's exact number text; only
PII redaction re-renders an event (app/canonical.render, same rules). The
document is written to a spooled temporary file while the rows stream out of
a database snapshot (Database.snapshot): memory stays bounded whatever the
export size, and a failure part-way gives a clean error instead of a
truncated 200. The signed bytes are hashed as they are written.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO

import orjson

from . import canonical, redaction
from .db import DatabaseError, DatabaseUnavailable
from .export_format import (CSV_TYPE, H_ALGORITHM, H_CERTIFICATE, H_FINGERPRINT, H_METADATA,
                            H_SCHEME, H_SIGNATURE, JSON_TYPE, SIGNATURE_MARKER, SIGNATURE_SCHEME,
                            csv_cell, detached_signature, escape_formula_row, parse_csv)
from .metrics import EXPORT_FAILURES, EXPORT_SUCCESSES
from .problems import Problem, from_database_error, problem
from .signing import ALGORITHM, Signer

log = logging.getLogger("datastorage.export")

MAX_EVENTS = 10000
SPOOL_IN_MEMORY = 4 * 1024 * 1024
FETCH_ROWS = 500

_JSON_COLUMNS = ("event_data", "event_metadata")
_SQL = ("SELECT kind, correlation_id, event_id, hash_chain_valid, body, event_data, hash_version "
        "FROM datastorage.export_audit_events($1, $2, $3, $4, $5, $6, $7)")


@dataclass(frozen=True)
class ExportRequest:
    format: str = "json"
    start_time: datetime | None = None
    end_time: datetime | None = None
    correlation_id: str | None = None
    event_category: str | None = None
    offset: int = 0
    limit: int = 1000
    include_detached_signature: bool = False
    redact_pii: bool = False
    include_log_proofs: bool = False
    escape_formulas: bool = True
    exported_by: str = ""

    def query_filters(self) -> dict[str, Any]:
        """offset and limit always; the other filters when given."""
        out: dict[str, Any] = {}
        if self.start_time is not None:
            out["start_time"] = canonical.timestamp_text(self.start_time)
        if self.end_time is not None:
            out["end_time"] = canonical.timestamp_text(self.end_time)
        if self.correlation_id is not None:
            out["correlation_id"] = self.correlation_id
        if self.event_category is not None:
            out["event_category"] = self.event_category
        out["offset"] = self.offset
        out["limit"] = self.limit
        return out


@dataclass
class ExportResult:
    body: BinaryIO
    size: int
    content_type: str
    headers: dict[str, str]
    total: int
    valid: int
    tampered: list[str] = field(default_factory=list)

    def chunks(self, size: int = 256 * 1024):
        self.body.seek(0)
        while chunk := self.body.read(size):
            yield chunk

    def close(self) -> None:
        self.body.close()

    async def send(self, request) -> None:
        """Stream the document as the response to `request`, then release it."""
        try:
            response = await request.respond(
                status=200, content_type=self.content_type,
                headers={**self.headers, "content-length": str(self.size)})
            for chunk in self.chunks():
                await response.send(chunk)
            await response.eof()
        finally:
            self.close()


class _Writer:
    """Spooled output; `signed` bytes also go into the signature digest."""

    def __init__(self):
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self.digest = hashlib.sha256()
        self.size = 0

    def signed(self, data: bytes) -> None:
        self.file.write(data)
        self.digest.update(data)
        self.size += len(data)

    def unsigned(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)


def time_budget(settings) -> float:
    """Seconds an export may take in the database (a large one reads a lot)."""
    return max(60.0, settings.db_timeout * 6)


def now_text() -> str:
    return canonical.timestamp_text(datetime.now(timezone.utc))


def _members(pairs: list[tuple[str, Any]]) -> str:
    """JSON object members in the given order, values rendered canonically."""
    return ", ".join(canonical.quote(k) + ": " + canonical.render(v) for k, v in pairs)


def _redact_json_event(text: str) -> tuple[str, bool]:
    event = canonical.loads_exact(text)
    masked = redaction.redact_event(event)
    if masked == event:
        return text, False
    masked["pii_redacted"] = True
    return canonical.render(masked), True


def _redact_csv_row(columns: list[str], cells: str, event_data: str) -> tuple[str, bool]:
    """The SQL-rendered cells (up to event_data, each followed by a comma)
    and event_data, redacted; returns (all cells with a trailing comma
    before pii_redacted's, changed?)."""
    values = parse_csv(cells)[0][:-1]            # the trailing comma makes one more cell
    event = dict(zip(columns, values))
    event["event_data"] = canonical.loads_exact(event_data)
    if event.get("event_metadata") is not None:
        event["event_metadata"] = canonical.loads_exact(event["event_metadata"])
    masked = redaction.redact_event(event)
    if masked == event:
        return cells + csv_cell(event_data), False
    for name in _JSON_COLUMNS:
        if masked.get(name) is not None:
            masked[name] = canonical.render(masked[name])
    return "".join(csv_cell(masked[c]) + "," for c in columns[:len(values)]) \
        + csv_cell(masked["event_data"]), True


def _failed() -> Problem:
    return problem("export-failed", "Failed to export audit events. Please retry.")


async def run(db, signer: Signer, req: ExportRequest, *, timeout: float) -> ExportResult:
    """Select, verify (in SQL), render, sign. Raises Problem on failure."""
    out = _Writer()
    try:
        result = await _produce(db, signer, req, out, timeout)
    except DatabaseError as exc:
        out.file.close()
        answer = from_database_error(exc, _failed())
        if answer.status >= 500:
            log.error("export failed in the database: %s", exc)
        EXPORT_FAILURES.labels(reason="validation" if answer.status < 500 else "database").inc()
        raise answer from None
    except (DatabaseUnavailable, OSError, TimeoutError) as exc:
        out.file.close()
        log.error("export failed: %s", exc)
        EXPORT_FAILURES.labels(reason="database").inc()
        raise _failed() from None
    except BaseException:
        out.file.close()
        raise
    if result.total != result.valid:
        log.warning("export by %s contained %d event(s) failing chain verification: %s",
                    req.exported_by, result.total - result.valid, ", ".join(result.tampered[:10]))
    return result


async def _produce(db, signer: Signer, req: ExportRequest, out: _Writer,
                   timeout: float) -> ExportResult:
    exported_at = now_text()
    exported_by = redaction.mask(req.exported_by) if req.redact_pii else req.exported_by
    is_csv = req.format == "csv"
    total = valid = 0
    tampered: list[str] = []
    chains: list[dict] = []
    event_ids: list = []
    versions: list[list[int]] = []   # CSV: runs of [hash_version, rows], in row order
    log_proofs = None
    # One snapshot for selection, verification and the log's proofs.
    async with db.snapshot(timeout) as snap:
        if is_csv:
            columns = list(await snap.value("SELECT datastorage.export_csv_columns()"))
            out.signed((",".join(csv_cell(c) for c in columns) + "\r\n").encode())
        else:
            out.signed(b'{"events": [')
        async for rows in snap.batches(_SQL, req.format, req.start_time, req.end_time,
                                       req.correlation_id, req.event_category, req.limit,
                                       req.offset, size=FETCH_ROWS):
            for row in rows:
                if row["kind"] == "chain":
                    chains.append(orjson.loads(row["body"]))
                    continue
                if row["hash_chain_valid"]:
                    valid += 1
                else:
                    tampered.append(str(row["event_id"]))
                if is_csv:
                    if req.redact_pii:
                        cells, redacted = _redact_csv_row(columns, row["body"],
                                                          row["event_data"])
                    else:
                        cells, redacted = row["body"] + csv_cell(row["event_data"]), False
                    if versions and versions[-1][0] == row["hash_version"]:
                        versions[-1][1] += 1
                    else:
                        versions.append([row["hash_version"], 1])
                    line = cells + "," + csv_cell("true" if redacted else "false") + "\r\n"
                    if req.escape_formulas:
                        line = escape_formula_row(line)
                    out.signed(line.encode())
                else:
                    text = row["body"]
                    if req.redact_pii:
                        text, _ = _redact_json_event(text)
                    out.signed((b", " if total else b"") + text.encode())
                if req.include_log_proofs:
                    event_ids.append(row["event_id"])
                total += 1
        if req.include_log_proofs:
            log_proofs = orjson.loads(await snap.value(
                "SELECT to_jsonb(p) FROM datastorage.tlog_export_proofs($1) p", event_ids) or "null")
    verified_at = now_text()
    percentage = round(valid * 100 / total, 4) if total else 100.0
    summary = [("total_events_verified", total), ("valid_chain_events", valid),
               ("broken_chain_events", total - valid),
               ("chain_integrity_percentage", percentage),
               ("verification_timestamp", verified_at)]
    meta = [("export_timestamp", exported_at), ("export_format", req.format),
            ("exported_by", exported_by), ("query_filters", req.query_filters()),
            ("total_events", total), ("pii_redacted", req.redact_pii),
            ("signature_algorithm", ALGORITHM), ("signature_scheme", SIGNATURE_SCHEME),
            ("certificate_fingerprint", signer.fingerprint)]
    headers: dict[str, str] = {}
    if is_csv:
        horizons = {c["correlation_id"]: c["retention_horizon"] for c in chains
                    if "retention_horizon" in c}
        metadata = json.dumps(dict(meta + [("csv_formula_escape", req.escape_formulas),
                                           ("hash_chain_verification", dict(summary)),
                                           ("chains_verified", len(chains)),
                                           ("chains_valid", sum(c["is_valid"] for c in chains))]
                                   # pruned chains only, so other exports keep their bytes
                                   + ([("retention_horizons", horizons)] if horizons else [])
                                   # the CSV has no column for it: only when not all version 1
                                   + ([("hash_versions", versions)]
                                      if any(v != 1 for v, _ in versions) else [])),
                              ensure_ascii=True, separators=(", ", ": "))
        out.digest.update(b"\n" + metadata.encode("ascii"))
        signature = signer.sign_digest(out.digest.digest())
        headers = {H_METADATA: metadata, H_SIGNATURE: signature, H_ALGORITHM: ALGORITHM,
                   H_SCHEME: SIGNATURE_SCHEME, H_FINGERPRINT: signer.fingerprint,
                   H_CERTIFICATE: signer.cert_der_b64,
                   "X-Export-Total-Events": str(total),
                   "X-Hash-Chain-Valid-Events": str(valid),
                   "X-Hash-Chain-Broken-Events": str(total - valid),
                   "X-Hash-Chain-Integrity-Percentage": canonical.number(percentage)}
    else:
        summary += [("tampered_event_ids", tampered), ("chains_verified", len(chains)),
                    ("chains", chains)]
        # Opt-in (include_log_proofs): inclusion proofs against the latest
        # checkpoint (docs/transparency-log.md), signed with the rest.
        log_member = ("" if not req.include_log_proofs else ', "transparency_log": {' + _members(
            [("checkpoint", log_proofs["checkpoint"] if log_proofs else None),
             ("proofs", log_proofs["proofs"] if log_proofs else {})]) + "}")
        out.signed(('], "hash_chain_verification": {' + _members(summary) + "}" + log_member
                    + ', "export_metadata": {' + _members(meta + [("certificate", signer.cert_pem)])
                    ).encode())
        signature = signer.sign_digest(out.digest.digest())
        out.unsigned(SIGNATURE_MARKER + signature.encode("ascii") + b'"}')
        if req.include_detached_signature:
            out.unsigned(b', "detached_signature": '
                         + canonical.quote(detached_signature(signature, signer.fingerprint)).encode())
        out.unsigned(b"}\n")
    stamp = re.sub(r"[-:]|\.\d+", "", exported_at)
    headers["Content-Disposition"] = f'attachment; filename="audit-export-{stamp}.{req.format}"'
    EXPORT_SUCCESSES.labels(format=req.format).inc()
    return ExportResult(out.file, out.size, CSV_TYPE if is_csv else JSON_TYPE, headers,
                        total, valid, tampered)

