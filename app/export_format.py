"""The signed export format, shared by the producer (app/export.py) and the
offline verifier (app/verifier.py); imports nothing of the server.

JSON body, members in this order (one line, ", " / ": " separators):

    {"events": [<event>, ...],
     "hash_chain_verification": {...},
     "export_metadata": {..., "certificate": "<PEM>", "signature": "<base64>"}
     [, "detached_signature": "<PEM-style text>"]}

The signed message is the body from its first byte up to, not including,
the last occurrence of `, "signature": "` (SIGNATURE_MARKER): every member
of the document except the signature itself, so an auditor can cut it out
with `head -c`.

CSV body: a header row and one row per event (RFC 4180, CRLF). The metadata
and verification summary travel in X-Export-* response headers; the signed
message is the CSV body, a newline, and the X-Export-Metadata header value.
Cells a spreadsheet would take for a formula get an apostrophe in front
unless escape_formulas=false (escape_formula_row; signed as sent).
"""
from __future__ import annotations

import json
import re

from .signing import ALGORITHM

SIGNATURE_SCHEME = "datastorage-export-v1"
SIGNATURE_MARKER = b', "signature": "'
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
# CSV response headers (names as documented; values are ASCII).
H_METADATA = "X-Export-Metadata"
H_SIGNATURE = "X-Export-Signature"
H_ALGORITHM = "X-Export-Signature-Algorithm"
H_SCHEME = "X-Export-Signature-Scheme"
H_FINGERPRINT = "X-Export-Certificate-Fingerprint"
H_CERTIFICATE = "X-Export-Certificate"


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


def csv_cell(value: str | None) -> str:
    """As datastorage.csv_cell(): NULL empty, every value quoted."""
    return "" if value is None else '"' + value.replace('"', '""') + '"'


# Spreadsheet formula injection: a cell starting with one of these is read
# as a formula (or, for tab/CR, may be turned into one) by spreadsheet
# programs. By default such a cell gets an apostrophe in front (spreadsheets
# show the text as is); a cell already starting with an apostrophe gets one
# too, so the escape is reversible: a verifier drops one leading apostrophe
# from every cell (docs/export.md, "Spreadsheets").
FORMULA_START = "=+-@\t\r'"
_ROW_FORMULA = re.compile("(^|,)\"(?=[" + re.escape(FORMULA_START) + "])")


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
