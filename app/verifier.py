"""`datastorage verify FILE`: check an export offline, with no database.

What is checked (docs/export.md, "Verifying an export"):
  1. the signature over the signed bytes, against the certificate given with
     --cert (or the one embedded in the export, pinned with --fingerprint);
  2. every event's hash, recomputed from its own members (app/canonical.py);
  3. every link whose predecessor is in the file, and that a first event
     (chain_seq 1) links to ''; when the export holds whole chains (filtered
     by correlation_id alone, nothing cut off) their sequence is complete,
     except for a prefix removed by retention: the first kept event must be
     exactly at the signed retention horizon and link to its hash;
  4. the server's verdicts inside the signed content: an event or chain the
     service found broken at export time is a failure too;
  5. that the summary agrees with the events.
Exit status: 0 when all of it holds and the certificate was pinned (--cert,
--fingerprint or a trust store), 1 when anything does not hold (the report
says what and names the events), 2 when the command itself cannot run, 3
when everything holds but the certificate came from the file itself and
nothing pins it: integrity only, origin unverified (anyone can re-sign a
forged file with a key of their own and embed its certificate).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import canonical, signing
from . import export_format as export

OK, FAILED, UNUSABLE, UNPINNED = 0, 1, 2, 3
# A PEM bundle, or a directory of PEM/DER certificates, trusted without --cert.
TRUST_STORE_ENV = "DS_VERIFY_TRUST_STORE"


@dataclass
class Report:
    path: str
    kind: str = "?"
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: int = 0
    hashes_checked: int = 0
    links_checked: int = 0
    links_unchecked: int = 0
    redacted: int = 0
    signature_valid: bool = False
    pinned: bool = False

    @property
    def intact(self) -> bool:
        """The signature and every check hold (whoever signed it)."""
        return self.signature_valid and not self.problems

    @property
    def ok(self) -> bool:
        """Intact and signed by a certificate the auditor trusts."""
        return self.intact and self.pinned

    def as_dict(self) -> dict:
        return {"file": self.path, "format": self.kind, "ok": self.ok,
                "signature_valid": self.signature_valid, "origin_verified": self.pinned, "events": self.events,
                "hashes_checked": self.hashes_checked, "links_checked": self.links_checked,
                "links_unchecked": self.links_unchecked, "redacted_events": self.redacted,
                "facts": self.facts, "warnings": self.warnings, "problems": self.problems}


class Progress:
    """A one-line bar on stderr: [#######.......]  52%  5,200/10,000 events."""

    def __init__(self, enabled: bool, total: int, label: str = "events"):
        self.enabled = enabled and total > 0
        self.total = total
        self.label = label
        self.last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // self.total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done // self.total:3d}%"
                         f"  {done:,}/{self.total:,} {self.label}")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _event_name(ev: dict) -> str:
    return (f"event {ev.get('event_id')} (chain {ev.get('correlation_id')!r}, "
            f"seq {ev.get('chain_seq')})")


def check_events(events: list[dict], report: Report, progress: Progress,
                 complete_chains: bool, horizons: dict[str, dict] | None = None) -> None:
    """Hashes, links and server verdicts of parsed events (JSON or CSV).
    `horizons`: correlation id -> its retention horizon (first_kept_seq,
    previous_hash), for chains whose oldest events retention removed."""
    by_chain: dict[str, dict[Any, dict]] = {}
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            report.problems.append(f"events[{i}] is not an object")
            continue
        name = _event_name(ev)
        if ev.get("hash_chain_valid") is not True:
            report.problems.append(f"{name}: the service found it broken at export time "
                                   f"(verdict {ev.get('chain_verdict')!r})")
        if ev.get("pii_redacted") is True:
            report.redacted += 1
        else:
            try:
                recomputed = canonical.event_hash(ev.get("previous_event_hash") or "", ev)
            except canonical.CanonicalError as exc:
                report.problems.append(f"{name}: cannot recompute its hash: {exc}")
            else:
                report.hashes_checked += 1
                if recomputed != ev.get("event_hash"):
                    report.problems.append(
                        f"{name}: event_hash does not recompute from its content "
                        f"(file: {ev.get('event_hash')}, recomputed: {recomputed})")
        chain = by_chain.setdefault(str(ev.get("correlation_id")), {})
        seq = ev.get("chain_seq")
        if seq in chain:
            report.problems.append(f"{name}: chain_seq {seq} appears twice in this chain")
        chain[seq] = ev
        progress.update(i + 1)
    for cid, chain in by_chain.items():
        for seq, ev in chain.items():
            if not isinstance(seq, int):
                continue
            prev = ev.get("previous_event_hash")
            if seq == 1:
                report.links_checked += 1
                if prev != "":
                    report.problems.append(f"{_event_name(ev)}: the first event of a chain must "
                                           f"have previous_event_hash '' (file: {prev!r})")
            elif seq - 1 in chain:
                report.links_checked += 1
                expected = chain[seq - 1].get("event_hash")
                if prev != expected:
                    report.problems.append(
                        f"{_event_name(ev)}: previous_event_hash does not match the event_hash "
                        f"of seq {seq - 1} (file: {prev}, predecessor: {expected})")
            elif seq == (horizon := (horizons or {}).get(cid) or {}).get("first_kept_seq"):
                report.links_checked += 1
                if prev != horizon.get("previous_hash"):
                    report.problems.append(
                        f"{_event_name(ev)}: the first event kept by retention does not link to "
                        f"the recorded horizon (file: {prev}, horizon: {horizon.get('previous_hash')})")
            elif complete_chains:
                report.links_checked += 1
                report.problems.append(f"{_event_name(ev)}: its predecessor (seq {seq - 1}) is "
                                       "missing from a complete chain")
            else:
                report.links_unchecked += 1


def _check_summary(report: Report, events: list[dict], summary: dict, chains: list[dict]) -> None:
    valid = [e for e in events if isinstance(e, dict) and e.get("hash_chain_valid") is True]
    broken_ids = [str(e.get("event_id")) for e in events
                  if isinstance(e, dict) and e.get("hash_chain_valid") is not True]
    expect = {"total_events_verified": len(events), "valid_chain_events": len(valid),
              "broken_chain_events": len(events) - len(valid)}
    for key, value in expect.items():
        if summary.get(key) != value:
            report.problems.append(f"hash_chain_verification.{key} is {summary.get(key)!r}, "
                                   f"the events say {value}")
    if "tampered_event_ids" in summary and list(summary["tampered_event_ids"]) != broken_ids:
        report.problems.append("hash_chain_verification.tampered_event_ids does not list "
                               "exactly the events marked hash_chain_valid=false")
    for c in chains:
        if not c.get("is_valid"):
            why = []
            if c.get("broken_events"):
                why.append(f"{c['broken_events']} broken event(s), the first at seq "
                           f"{c.get('first_broken_seq')} ({c.get('first_broken_event_id')})")
            if not c.get("head_matches"):
                why.append("its head does not match its last stored event (events removed "
                           "from the end)")
            report.problems.append(f"chain {c.get('correlation_id')!r}: the service found the "
                                   f"whole chain broken: " + "; ".join(why or ["see export"]))
    report.facts.append(f"server verification: {len(valid)}/{len(events)} events valid"
                        + (f"; chains: {sum(bool(c.get('is_valid')) for c in chains)}/"
                           f"{len(chains)} valid" if chains else ""))


def _whole_chains(filters: dict, count: int) -> bool:
    """Filtered by correlation_id alone, from the start, nothing cut off."""
    return (set(filters) <= {"correlation_id", "offset", "limit"} and "correlation_id" in filters
            and filters.get("offset") == 0 and isinstance(filters.get("limit"), int)
            and count < filters["limit"])


def trust_store(path: str) -> dict[str, object]:
    """Certificates by fingerprint from a PEM bundle or a directory of
    PEM/DER files (unreadable entries are reported by the caller)."""
    source = Path(path)
    files = sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]
    certs: dict[str, object] = {}
    for f in files:
        data = f.read_bytes()
        blocks = ([b"-----BEGIN CERTIFICATE-----" + part for part in
                   data.split(b"-----BEGIN CERTIFICATE-----")[1:]] if b"-----BEGIN" in data
                  else [data])
        for block in blocks:
            try:
                cert = signing.load_certificate(block)
            except signing.SigningError:
                continue
            certs[signing.fingerprint(cert)] = cert
    return certs


def _resolve_certificate(report: Report, args, claimed_fp: str | None,
                         embedded: bytes | None):
    """The certificate to check the signature with; report.pinned says
    whether the auditor vouched for it (not merely the file)."""
    if args.cert:
        try:
            cert = signing.load_certificate(Path(args.cert).read_bytes())
        except (OSError, signing.SigningError) as exc:
            raise SystemExit(_usage_error(f"--cert {args.cert}: {exc}"))
        fp = signing.fingerprint(cert)
        if claimed_fp != fp:
            report.problems.append(f"the export names certificate {claimed_fp}, but --cert is {fp}")
        report.facts.append(f"certificate: {fp} (from --cert)")
        report.pinned = True
        return cert
    if embedded is None:
        report.problems.append("no certificate: give --cert (the export carries none)")
        return None
    try:
        cert = signing.load_certificate(embedded)
    except signing.SigningError as exc:
        report.problems.append(f"embedded certificate unusable: {exc}")
        return None
    fp = signing.fingerprint(cert)
    if fp != claimed_fp:
        report.problems.append(f"embedded certificate {fp} is not the one the export names "
                               f"({claimed_fp})")
    store_path = getattr(args, "trust_store", None) or os.environ.get(TRUST_STORE_ENV)
    if args.fingerprint:
        if fp != args.fingerprint.strip().lower():
            report.problems.append(f"embedded certificate {fp} is not the pinned --fingerprint "
                                   f"{args.fingerprint}")
        report.facts.append(f"certificate: {fp} (embedded, matches --fingerprint)")
        report.pinned = True
    elif store_path:
        try:
            trusted = trust_store(store_path)
        except OSError as exc:
            raise SystemExit(_usage_error(f"trust store {store_path}: {exc}"))
        if fp in trusted:
            report.facts.append(f"certificate: {fp} (embedded, found in trust store {store_path})")
            report.pinned = True
        else:
            report.problems.append(f"embedded certificate {fp} is not in the trust store "
                                   f"{store_path} ({len(trusted)} certificate(s))")
    else:
        report.warnings.append(f"certificate {fp} was taken from the export itself: this proves "
                               "integrity, not origin; pin it with --cert, --fingerprint or a "
                               f"trust store (--trust-store, ${TRUST_STORE_ENV})")
        report.facts.append(f"certificate: {fp} (embedded, not pinned)")
    return cert


def _check_signature(report: Report, cert, signature_b64: str, message: bytes) -> None:
    try:
        sig = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        report.problems.append("the signature is not valid base64")
        return
    if cert is None:
        return
    report.signature_valid = signing.verify(cert, sig, data=message)
    if report.signature_valid:
        report.facts.append(f"signature: VALID ({signing.ALGORITHM} over {len(message):,} bytes)")
    else:
        report.problems.append("signature: INVALID - the signed content was changed after export "
                               "or was signed by another key")


def verify_json(data: bytes, report: Report, args, progress_on: bool) -> None:
    report.kind = "json"
    try:
        message, signature_b64, detached = export.split_signed_json(data)
    except ValueError as exc:
        report.problems.append(str(exc))
        return
    try:
        doc = canonical.loads_exact(data)
    except (ValueError, canonical.CanonicalError) as exc:
        report.problems.append(f"not valid JSON: {exc}")
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("export_metadata"), dict):
        report.problems.append("not an export document (no export_metadata)")
        return
    meta = doc["export_metadata"]
    if meta.get("signature") != signature_b64:
        report.problems.append("export_metadata.signature is not the signature member")
    if meta.get("signature_algorithm") != signing.ALGORITHM:
        report.problems.append(f"unsupported signature_algorithm {meta.get('signature_algorithm')!r}")
    if meta.get("signature_scheme") != export.SIGNATURE_SCHEME:
        report.problems.append(f"unknown signature_scheme {meta.get('signature_scheme')!r}")
    if detached is not None:
        try:
            headers, detached_sig = export.parse_detached_signature(detached)
        except ValueError as exc:
            report.problems.append(f"detached_signature: {exc}")
        else:
            if (detached_sig != signature_b64 or headers.get("Algorithm") != signing.ALGORITHM
                    or headers.get("Certificate-Fingerprint") != meta.get("certificate_fingerprint")):
                report.problems.append("detached_signature does not match export_metadata")
    embedded = meta.get("certificate")
    cert = _resolve_certificate(report, args, meta.get("certificate_fingerprint"),
                                embedded.encode() if isinstance(embedded, str) else None)
    _check_signature(report, cert, signature_b64, message)
    events = doc.get("events")
    if not isinstance(events, list):
        report.problems.append("events is not a list")
        return
    report.events = len(events)
    report.facts.insert(0, f"JSON export of {len(events):,} event(s), exported "
                           f"{meta.get('export_timestamp')} by {meta.get('exported_by')!r}")
    if meta.get("total_events") != len(events):
        report.problems.append(f"export_metadata.total_events is {meta.get('total_events')!r}, "
                               f"the file holds {len(events)} events")
    filters = meta.get("query_filters") or {}
    summary = doc.get("hash_chain_verification") or {}
    check_events(events, report, Progress(progress_on, len(events)),
                 _whole_chains(filters, len(events)),
                 {c.get("correlation_id"): c["retention_horizon"]
                  for c in summary.get("chains") or [] if isinstance(c, dict)
                  and isinstance(c.get("retention_horizon"), dict)})
    _check_summary(report, events, summary, summary.get("chains") or [])
    if getattr(args, "log_key", None):
        from .tlog_cli import check_export_proofs
        check_export_proofs(doc, report, args.log_key, getattr(args, "checkpoint", None))


def _read_headers(path: str) -> dict[str, str]:
    """Response headers as saved by `curl -D FILE` (the last response wins)."""
    headers: dict[str, str] = {}
    for line in Path(path).read_text("latin-1").splitlines():
        if line.startswith("HTTP/"):
            headers = {}
        elif ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return headers


_CSV_INT = ("chain_seq", "duration_ms", "retention_days")
_CSV_BOOL = ("is_sensitive", "hash_chain_valid", "legal_hold", "pii_redacted")
_CSV_JSON = ("event_data", "event_metadata")


def _csv_event(columns: list[str], cells: list[str | None]) -> dict:
    ev: dict[str, Any] = {}
    for name, cell in zip(columns, cells):
        if cell is None:
            ev[name] = None
        elif name in _CSV_INT:
            ev[name] = canonical.loads_exact(cell) if cell.lstrip("-").isdigit() else cell
        elif name in _CSV_BOOL:
            ev[name] = {"true": True, "false": False}.get(cell, cell)
        elif name in _CSV_JSON:
            ev[name] = canonical.loads_exact(cell)
        else:
            ev[name] = cell
    return ev


def _apply_hash_versions(events: list[dict], runs: Any, report: Report) -> None:
    """A CSV export names the hash version of its rows in the metadata, as
    runs [[version, rows], ...] in row order; without it every row is version 1."""
    if runs is None:
        return
    if not (isinstance(runs, list)
            and all(isinstance(r, list) and len(r) == 2 and type(r[1]) is int and r[1] > 0
                    for r in runs)
            and sum(r[1] for r in runs) == len(events)):
        report.problems.append(f"metadata hash_versions does not describe the {len(events)} rows: "
                               f"{runs!r}")
        return
    rows = iter(events)
    for version, count in runs:
        for _ in range(count):
            next(rows)["hash_version"] = version


def verify_csv(data: bytes, report: Report, args, progress_on: bool) -> None:
    report.kind = "csv"
    if not args.headers:
        raise SystemExit(_usage_error("a CSV export needs its response headers: "
                                      "--headers FILE (saved with curl -D FILE)"))
    try:
        headers = _read_headers(args.headers)
    except OSError as exc:
        raise SystemExit(_usage_error(f"--headers {args.headers}: {exc}"))
    metadata_text = headers.get(export.H_METADATA.lower())
    signature_b64 = headers.get(export.H_SIGNATURE.lower())
    if not metadata_text or not signature_b64:
        report.problems.append(f"{args.headers}: no {export.H_METADATA} / {export.H_SIGNATURE} "
                               "header")
        return
    try:
        meta = canonical.loads_exact(metadata_text)
    except (ValueError, canonical.CanonicalError) as exc:
        report.problems.append(f"{export.H_METADATA} is not valid JSON: {exc}")
        return
    if meta.get("signature_algorithm") != signing.ALGORITHM:
        report.problems.append(f"unsupported signature_algorithm {meta.get('signature_algorithm')!r}")
    der = headers.get(export.H_CERTIFICATE.lower())
    try:
        embedded = base64.b64decode(der, validate=True) if der else None
    except (binascii.Error, ValueError):
        embedded = None
        report.problems.append(f"{export.H_CERTIFICATE} is not base64")
    cert = _resolve_certificate(report, args, meta.get("certificate_fingerprint"), embedded)
    _check_signature(report, cert, signature_b64,
                     export.csv_signed_message(data, metadata_text))
    try:
        rows = export.parse_csv(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        report.problems.append(f"not a CSV export: {exc}")
        return
    if not rows:
        report.problems.append("empty CSV")
        return
    columns = [c or "" for c in rows[0]]
    escaped = meta.get("csv_formula_escape") is True
    events = []
    for n, cells in enumerate(rows[1:], start=2):
        if escaped:     # undo the export's formula escape before recomputing hashes
            cells = [export.unescape_formula(c) for c in cells]
        if len(cells) != len(columns):
            report.problems.append(f"CSV line {n}: {len(cells)} cells, the header has {len(columns)}")
            continue
        try:
            events.append(_csv_event(columns, cells))
        except (ValueError, canonical.CanonicalError) as exc:
            report.problems.append(f"CSV line {n}: {exc}")
    report.events = len(events)
    report.facts.insert(0, f"CSV export of {len(events):,} event(s), exported "
                           f"{meta.get('export_timestamp')} by {meta.get('exported_by')!r}")
    if meta.get("total_events") != len(rows) - 1:
        report.problems.append(f"metadata total_events is {meta.get('total_events')!r}, the file "
                               f"holds {len(rows) - 1} rows")
    _apply_hash_versions(events, meta.get("hash_versions"), report)
    check_events(events, report, Progress(progress_on, len(events)),
                 _whole_chains(meta.get("query_filters") or {}, len(events)),
                 meta.get("retention_horizons") or {})
    summary = meta.get("hash_chain_verification") or {}
    _check_summary(report, events, summary, [])
    if meta.get("chains_valid") != meta.get("chains_verified"):
        report.problems.append(f"the service found {meta.get('chains_verified', 0) - meta.get('chains_valid', 0)}"
                               " of the exported chains broken (export it as JSON for details)")


def _usage_error(message: str) -> int:
    print(f"datastorage verify: error: {message}", file=sys.stderr)
    return UNUSABLE


def verify_file(args) -> Report:
    path = Path(args.file)
    data = path.read_bytes()
    report = Report(str(path))
    progress_on = args.progress if args.progress is not None else sys.stderr.isatty()
    if data.lstrip()[:1] == b"{":
        verify_json(data, report, args, progress_on)
    else:
        verify_csv(data, report, args, progress_on)
    if report.redacted:
        msg = (f"{report.redacted} event(s) are PII-redacted: their content cannot be recomputed "
               "and is vouched for by the signature only")
        (report.problems if args.strict else report.warnings).append(msg)
    report.facts.append(f"event hashes: {report.hashes_checked:,} recomputed"
                        + (f", {report.redacted:,} redacted" if report.redacted else ""))
    report.facts.append(f"links: {report.links_checked:,} checked in this file"
                        + (f", {report.links_unchecked:,} with the predecessor outside it "
                           "(checked by the service: see the verdicts)"
                           if report.links_unchecked else ""))
    return report


def print_report(report: Report, out=None) -> None:
    out = out or sys.stdout  # looked up per call: redirected output is honoured
    print(f"{report.path}:", file=out)
    for fact in report.facts:
        print(f"  {fact}", file=out)
    for warning in report.warnings:
        print(f"  warning: {warning}", file=out)
    if report.problems:
        print(f"  PROBLEMS ({len(report.problems)}):", file=out)
        for problem in report.problems:
            print(f"    - {problem}", file=out)
    if report.ok:
        print("RESULT: OK - the export is authentic and every hash and link in it holds", file=out)
    elif report.intact:
        print("RESULT: INTEGRITY ONLY, ORIGIN UNVERIFIED - the file is intact and consistent, but "
              "its certificate is not pinned (--cert, --fingerprint, --trust-store): anyone could "
              "have signed it", file=out)
    else:
        print("RESULT: FAILED", file=out)


def cmd_verify(args) -> int:
    try:
        report = verify_file(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else UNUSABLE
    except OSError as exc:
        return _usage_error(f"{args.file}: {exc.strerror or exc}")
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(report)
    return OK if report.ok else UNPINNED if report.intact else FAILED


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify", help="verify an export file offline: signature, every hash and link",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="the export (JSON, or CSV with --headers)")
    p.add_argument("--cert", help="the service's signing certificate (PEM or DER) to trust")
    p.add_argument("--fingerprint", help="trust the embedded certificate only if its SHA-256 "
                                         "fingerprint is this (aa:bb:...)")
    p.add_argument("--trust-store", help="PEM bundle or directory of certificates to trust "
                                         f"(default: ${TRUST_STORE_ENV})")
    p.add_argument("--headers", help="CSV only: the response headers, saved with curl -D")
    p.add_argument("--strict", action="store_true",
                   help="also fail on redacted events")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--log-key", help="check the events' inclusion proofs in the transparency "
                                     "log (exported with include_log_proofs=true) against a "
                                     "checkpoint signed by this verifier key")
    p.add_argument("--checkpoint", help="with --log-key: the checkpoint obtained elsewhere (a "
                                        "witness, the checkpoint directory) the export's must match")
    progress_options(p)
    p.set_defaults(func=cmd_verify)


def progress_options(p) -> None:
    """--progress / --no-progress (default: a bar when stderr is a terminal)."""
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="draw a progress bar on stderr (default: when stderr is a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
