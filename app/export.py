"""Signed audit exports: the document format and its producer (docs/export.md).

JSON body, members in this order (one line, ", " / ": " separators):

    {"events": [<event>, ...],
     "hash_chain_verification": {...},
     "export_metadata": {..., "certificate": "<PEM>", "signature": "<base64>"}
     [, "detached_signature": "<PEM-style text>"]}

The signed message is the body from its first byte up to, not including,
the last occurrence of `, "signature": "` (SIGNATURE_MARKER): every member
of the document except the signature itself. It is hashed as it is written,
so any byte of it that changes breaks the signature, and an auditor can cut
it out with `head -c`.

CSV body: a header row and one row per event (RFC 4180, CRLF). The metadata
and verification summary travel in X-Export-* response headers; the signed
message is the CSV body, a newline, and the X-Export-Metadata header value.
Cells a spreadsheet would take for a formula get an apostrophe in front
unless escape_formulas=false (escape_formula_row; signed as sent).

Events are rendered by SQL (datastorage.export_audit_events) and copied
through untouched, so event_data keeps PostgreSQL's exact number text; only
PII redaction re-renders an event (app/canonical.render, same rules). The
document is written to a spooled temporary file while the rows stream out of
a database cursor: memory stays bounded whatever the export size, and a
failure part-way gives a clean error instead of a truncated 200.
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

import asyncpg
import orjson
from prometheus_client import Counter

from . import canonical, redaction
from .db import DatabaseUnavailable
from .problems import Problem
from .signing import ALGORITHM, Signer

log = logging.getLogger("datastorage.export")

SIGNATURE_SCHEME = "datastorage-export-v1"
SIGNATURE_MARKER = b', "signature": "'
MAX_EVENTS = 10000
SPOOL_IN_MEMORY = 4 * 1024 * 1024
FETCH_ROWS = 500
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
# CSV response headers (names as documented; values are ASCII).
H_METADATA = "X-Export-Metadata"
H_SIGNATURE = "X-Export-Signature"
H_ALGORITHM = "X-Export-Signature-Algorithm"
H_SCHEME = "X-Export-Signature-Scheme"
H_FINGERPRINT = "X-Export-Certificate-Fingerprint"
H_CERTIFICATE = "X-Export-Certificate"

EXPORT_SUCCESSES = Counter("datastorage_export_successes_total", "Audit exports served",
                           ["format"])
EXPORT_FAILURES = Counter("datastorage_export_failures_total", "Audit exports refused or failed",
                          ["reason"])

_JSON_COLUMNS = ("event_data", "event_metadata")
_SQL = ("SELECT kind, correlation_id, event_id, hash_chain_valid, body, event_data "
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


def now_text() -> str:
    return canonical.timestamp_text(datetime.now(timezone.utc))


def detached_signature(signature_b64: str, fingerprint: str) -> str:
    """The detached form (spec/audit-api.md §8.3), no trailing newline."""
    return ("-----BEGIN SIGNATURE-----\n"
            f"Algorithm: {ALGORITHM}\n"
            f"Certificate-Fingerprint: {fingerprint}\n"
            "\n"
            f"{signature_b64}\n"
            "-----END SIGNATURE-----")


_DETACHED = re.compile(r"\A-----BEGIN SIGNATURE-----\n((?:[A-Za-z-]+: [^\n]*\n)*)\n"
                       r"([A-Za-z0-9+/=\n]+?)\n?-----END SIGNATURE-----\n?\Z")


def parse_detached_signature(text: str) -> tuple[dict[str, str], str]:
    """(headers, base64 signature) of a detached signature; ValueError if malformed."""
    m = _DETACHED.match(text.replace("\r\n", "\n"))
    if not m:
        raise ValueError("not a detached signature (-----BEGIN SIGNATURE----- block)")
    headers = dict(line.split(": ", 1) for line in m.group(1).splitlines())
    return headers, m.group(2).replace("\n", "")


_TAIL = re.compile(rb'\A([A-Za-z0-9+/]*={0,2})"\}'
                   rb'(?:, "detached_signature": ("(?:[^"\\]|\\.)*"))?\}\n?\Z')


def split_signed_json(data: bytes) -> tuple[bytes, str, str | None]:
    """(signed message, base64 signature, detached signature text or None) of
    a JSON export; ValueError when the document does not end as written."""
    cut = data.rfind(SIGNATURE_MARKER)
    if cut < 0:
        raise ValueError('no `, "signature": "` member: not a signed export')
    m = _TAIL.match(data[cut + len(SIGNATURE_MARKER):])
    if not m:
        raise ValueError("the document does not end with the signature member as exported "
                         "(extra or altered bytes after it)")
    detached = json.loads(m.group(2)) if m.group(2) else None
    return data[:cut], m.group(1).decode("ascii"), detached


def csv_signed_message(csv_body: bytes, metadata_header: str) -> bytes:
    return csv_body + b"\n" + metadata_header.encode("ascii")


# Spreadsheet formula injection: a cell starting with one of these is read
# as a formula (or, for tab/CR, may be turned into one) by spreadsheet
# programs. By default such a cell gets an apostrophe in front (spreadsheets
# show the text as is); a cell already starting with an apostrophe gets one
# too, so the escape is reversible: a verifier drops one leading apostrophe
# from every cell (docs/export.md, "Spreadsheets").
FORMULA_START = "=+-@\t\r'"
_ROW_FORMULA = re.compile("(^|,)\"(?=[" + re.escape(FORMULA_START) + "])")


def csv_cell(value: str | None) -> str:
    """As datastorage.csv_cell(): NULL empty, every value quoted."""
    return "" if value is None else '"' + value.replace('"', '""') + '"'


def escape_formula_row(cells: str) -> str:
    """An apostrophe into every cell of a rendered row (csv_cell, here or in
    SQL) that starts with a FORMULA_START character. Inside a quoted value
    every quote is doubled, so `,"` followed by one only ever starts a cell."""
    return _ROW_FORMULA.sub("\\1\"'", cells)


def unescape_formula(cell: str | None) -> str | None:
    return cell[1:] if cell and cell[0] == "'" else cell


def parse_csv(text: str) -> list[list[str | None]]:
    """RFC 4180 rows; an unquoted empty cell is None (NULL), "" is ''."""
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            j, parts = i + 1, []
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise ValueError("unterminated quoted cell")
                parts.append(text[j:k])
                if text.startswith('""', k):
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            row.append("".join(parts))
        else:
            k = i
            while k < n and text[k] not in ',\r\n':
                k += 1
            if k > i:
                raise ValueError(f"unquoted value {text[i:k]!r}: the export quotes every value")
            row.append(None)
            i = k
        if i < n and text[i] == ",":
            i += 1
            if i == n or text[i] in "\r\n":
                row.append(None)
        if i >= n or text[i] in "\r\n":
            if text.startswith("\r\n", i):
                i += 2
            elif i < n:
                i += 1
            rows.append(row)
            row = []
    return rows




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


def _fail(reason: str, status: int, title: str, detail: str) -> Problem:
    EXPORT_FAILURES.labels(reason=reason).inc()
    return Problem(status, "about:blank", detail, title=title)


async def run(db, signer: Signer, req: ExportRequest, *, timeout: float) -> ExportResult:
    """Select, verify (in SQL), render, sign. Raises Problem on failure."""
    if db.pool is None:
        raise _fail("database", 500, "Export Failed", "Failed to export audit events. Please retry.")
    out = _Writer()
    try:
        return await _produce(db, signer, req, out, timeout)
    except asyncpg.PostgresError as exc:
        out.file.close()
        if getattr(exc, "sqlstate", "") == "DS400":
            raise _fail("validation", 400, "Validation Error",
                        f"Invalid query parameters: {exc.message}") from None
        log.error("export failed in the database: %s", exc)
        raise _fail("database", 500, "Export Failed",
                    "Failed to export audit events. Please retry.") from None
    except (DatabaseUnavailable, OSError, asyncpg.exceptions.InterfaceError, TimeoutError) as exc:
        out.file.close()
        log.error("export failed: %s", exc)
        raise _fail("database", 500, "Export Failed",
                    "Failed to export audit events. Please retry.") from None
    except BaseException:
        out.file.close()
        raise


async def _produce(db, signer: Signer, req: ExportRequest, out: _Writer,
                   timeout: float) -> ExportResult:
    exported_at = now_text()
    exported_by = redaction.mask(req.exported_by) if req.redact_pii else req.exported_by
    is_csv = req.format == "csv"
    total = valid = 0
    tampered: list[str] = []
    chains: list[dict] = []
    async with db.connection(timeout=timeout, expensive=True) as conn:
        # One snapshot for selection and verification.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            # The export's own deadline, longer than a single call's.
            await conn.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
            if is_csv:
                columns = list(await conn.fetchval("SELECT datastorage.export_csv_columns()",
                                                   timeout=timeout))
                out.signed((",".join(csv_cell(c) for c in columns) + "\r\n").encode())
            else:
                out.signed(b'{"events": [')
            cursor = await conn.cursor(_SQL, req.format, req.start_time, req.end_time,
                                       req.correlation_id, req.event_category, req.limit,
                                       req.offset, timeout=timeout)
            while rows := await cursor.fetch(FETCH_ROWS, timeout=timeout):
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
                        line = cells + "," + csv_cell("true" if redacted else "false") + "\r\n"
                        if req.escape_formulas:
                            line = escape_formula_row(line)
                        out.signed(line.encode())
                    else:
                        text = row["body"]
                        if req.redact_pii:
                            text, _ = _redact_json_event(text)
                        out.signed((b", " if total else b"") + text.encode())
                    total += 1
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
        metadata = json.dumps(dict(meta + [("csv_formula_escape", req.escape_formulas),
                                           ("hash_chain_verification", dict(summary)),
                                           ("chains_verified", len(chains)),
                                           ("chains_valid", sum(c["is_valid"] for c in chains))]),
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
        out.signed(('], "hash_chain_verification": {' + _members(summary)
                    + '}, "export_metadata": {' + _members(meta + [("certificate", signer.cert_pem)])
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

