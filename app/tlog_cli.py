"""`datastorage log verify` and `datastorage log witness` (docs/transparency-log.md).

log verify: recompute the log from the stored events and compare it with
signed checkpoints. For every leaf, in log order, the event's hash is
recomputed from its stored content (canonical form, app/canonical.py's
SQL twin, whose definition in the database is first compared with the one
shipped here) and the leaf from that hash; stored leaf and node hashes are
never trusted. Exit 0 when every checkpoint's root is reproduced, 1 when
not (the report names the first differing leaf, or the missing index),
2 when the command cannot run.

log witness: follow a log's checkpoints, check each signature and its
consistency with the last one this witness holds, then cosign it
(cosignature/v1) and keep it. A rollback, a split view (another root for a
size already seen) or an inconsistent tree is refused with exit 1, and
both checkpoints are kept as evidence.
"""
from __future__ import annotations

import argparse
import bisect
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import note, tlog

OK, FAILED, UNUSABLE = 0, 1, 2
FETCH = 20_000


class Unusable(Exception):
    """The command cannot run (bad arguments, unreadable files, no database)."""


def read_key(value: str) -> note.Verifier:
    """A verifier key given inline or as a file holding one."""
    text = value
    if "+" not in value or Path(value).is_file():
        try:
            text = Path(value).read_text()
        except OSError as exc:
            raise Unusable(f"cannot read key {value}: {exc.strerror}") from None
    try:
        return note.Verifier.parse(text.strip().splitlines()[0] if text.strip() else "")
    except note.NoteError as exc:
        raise Unusable(str(exc)) from None


def load_checkpoints(path: Path, verifier: note.Verifier) -> list[note.Checkpoint]:
    """One checkpoint file, or every *.checkpoint in a directory; sorted by size."""
    files = sorted(path.glob("*.checkpoint")) if path.is_dir() else [path]
    if not files:
        raise Unusable(f"no checkpoint files in {path}")
    out = []
    for f in files:
        try:
            out.append(note.Checkpoint.parse(f.read_text(), verifier))
        except OSError as exc:
            raise Unusable(f"cannot read {f}: {exc.strerror}") from None
        except (note.NoteError, UnicodeDecodeError) as exc:
            raise Unusable(f"{f}: {exc}") from None
    return sorted(out, key=lambda c: c.size)


# --- log verify -----------------------------------------------------------------
# The database's canonical form must be the one this program ships: a DBA who
# could redefine it could make rewritten content hash like the original.
PINNED = ("canonical_fields", "canonical_fields_v2", "canonical_members", "canonical_event",
          "canonical_event_v2", "link_hash", "chain_hash")
# Each chunk's query reads the whole event table once: fewer, larger chunks
# mean fewer passes, within a memory bound (a chunk's leaves are hashed in
# work_mem and held in Python). At most MAX_CHUNK, about 2 * jobs chunks.
MIN_CHUNK, MAX_CHUNK = 4096, 262_144
JOBS = 2


def chunk_size(size: int, jobs: int) -> int:
    return min(MAX_CHUNK, max(MIN_CHUNK, -(-size // (2 * max(1, jobs)))))


def _shipped_body(name: str) -> str:
    from .migrate import function_files
    pattern = re.compile(r"FUNCTION\s+datastorage\." + name + r"\(.*?\$\$(.*?)\$\$", re.S)
    for path in function_files():
        m = pattern.search(path.read_text())
        if m:
            return m.group(1)
    raise Unusable(f"datastorage.{name} is not among the shipped SQL functions")


# One row per chunk of leaves [lo, hi). The database recomputes each event's
# hash (its canonical form is pinned above) and from it the leaf hash,
# SHA-256(0x00 || event_id '\n' recomputed hash '\n' correlation_id), and
# returns them concatenated in log order: 32 bytes a leaf, no row per leaf to
# decode. Stored leaf and node hashes are only compared with, never used.
# Leaves whose event is not stored, or whose content does not
# hash to its stored event_hash, come back by name in `odd`; a missing event's
# place holds the leaf of the leaf row's own event_hash (what a pruned event
# contributes), a bad one's an arbitrary hash (verification stops there).
# The leaf's chain is part of the join (the leaf signs it): on Citus an id
# is unique only within a chain, and an event moved to another chain is
# missing from the one its leaf names. (OFFSET 0 keeps each level a separate
# step, so that the event hash and the leaf hash, each used twice above it,
# are computed once a row.)
# The statements here also run on a Citus coordinator (docs/scaling-out.md),
# where the leaves are a table of the coordinator and the events are spread
# over the shards: a row goes to chain_hash as ROW(a.*) (on a shard `a` is a
# row of the shard's own type), and the horizons and stray events are found
# through materialised CTEs, which Citus can plan where correlated
# subqueries across the two kinds of table are refused.
CHUNK_SQL = """
SELECT count(*), max(leaf_index),
       string_agg(CASE WHEN bad THEN sha256(''::bytea) ELSE leaf END, ''::bytea ORDER BY leaf_index),
       min(leaf_index) FILTER (WHERE leaf IS DISTINCT FROM stored),
       jsonb_agg(jsonb_build_array(leaf_index, event_id, cid, bad) ORDER BY leaf_index)
           FILTER (WHERE bad OR NOT found)
FROM (
    SELECT r.leaf_index, r.event_id, r.found, r.stored, coalesce(r.correlation_id, r.leaf_cid) AS cid,
           r.found AND (r.recomputed IS NULL OR r.recomputed <> r.event_hash) AS bad,
           sha256('\\x00'::bytea || convert_to(
               CASE WHEN r.found THEN r.event_id::text || E'\\n' || r.recomputed || E'\\n' || r.correlation_id
                    ELSE r.event_id::text || E'\\n' || coalesce(r.leaf_ev_hash, '') || E'\\n' || r.leaf_cid
               END, 'UTF8')) AS leaf
    FROM (
        SELECT l.leaf_index, l.event_id, l.correlation_id AS leaf_cid, l.event_hash AS leaf_ev_hash,
               l.leaf_hash AS stored, a.event_id IS NOT NULL AS found, a.correlation_id, a.event_hash,
               datastorage.chain_hash(coalesce(a.previous_event_hash, ''),
                                      ROW(a.*)::public.audit_events) AS recomputed
        FROM public.tlog_leaves l
        LEFT JOIN public.audit_events a
               ON a.event_id = l.event_id AND a.correlation_id = l.correlation_id
        WHERE l.leaf_index >= %(lo)s AND l.leaf_index < %(hi)s
        OFFSET 0
    ) r
    OFFSET 0
) h
"""

# Where leaves are missing from a chunk: the first absent index and the next
# stored one (NULL when the log ends there).
GAP_SQL = """
SELECT g, (SELECT min(l.leaf_index) FROM public.tlog_leaves l WHERE l.leaf_index > g)
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) g
WHERE NOT EXISTS (SELECT 1 FROM public.tlog_leaves l WHERE l.leaf_index = g)
ORDER BY g LIMIT 1
"""

OUTSIDE_SQL = """
WITH l AS MATERIALIZED (SELECT event_id FROM public.tlog_leaves)
SELECT a.event_id::text, a.correlation_id FROM public.audit_events a
LEFT JOIN l ON l.event_id = a.event_id
LEFT JOIN public.tlog_outbox o ON o.correlation_id = a.correlation_id AND o.event_id = a.event_id
WHERE l.event_id IS NULL AND o.event_id IS NULL
LIMIT 20
"""


# Retention (docs/retention.md) deletes a chain's expired prefix and records
# a horizon: previous_hash is the event_hash of the last pruned event. The
# link is that event's leaf, found by its hash: a leaf's index and event_hash
# are both fixed by the signed root, and within a chain the log holds events
# in chain order (appends to a chain are serialised on its head, which also
# orders their outbox rows), so the pruned events are exactly the chain's
# leaves up to the link. No unsigned column (such as a copy of chain_seq in
# tlog_leaves) decides what counts as pruned.
HORIZONS_SQL = """
WITH z AS MATERIALIZED (
    SELECT z.correlation_id, z.first_kept_seq, z.previous_hash, f.first_stored,
           k.previous_event_hash AS kept_previous
    FROM public.audit_retention_horizons z
    LEFT JOIN (SELECT a.correlation_id, min(a.chain_seq) AS first_stored
               FROM public.audit_events a
               JOIN public.audit_retention_horizons h ON h.correlation_id = a.correlation_id
               GROUP BY a.correlation_id) f ON f.correlation_id = z.correlation_id
    LEFT JOIN public.audit_events k
           ON k.correlation_id = z.correlation_id AND k.chain_seq = z.first_kept_seq),
l AS MATERIALIZED (
    SELECT l.correlation_id, l.event_hash, l.leaf_index, l.event_id
    FROM public.tlog_leaves l
    JOIN z ON z.correlation_id = l.correlation_id AND z.previous_hash = l.event_hash),
s AS MATERIALIZED (
    SELECT a.event_id FROM public.audit_events a WHERE a.event_id IN (SELECT l.event_id FROM l))
SELECT z.correlation_id, z.first_kept_seq, z.previous_hash, l.leaf_index, l.event_id::text,
       s.event_id IS NOT NULL, z.first_stored, z.kept_previous
FROM z
LEFT JOIN l ON l.correlation_id = z.correlation_id AND l.event_hash = z.previous_hash
LEFT JOIN s ON s.event_id = l.event_id
"""


def horizon_links(conn) -> tuple[dict[str, int], VerifyReport]:
    """Per chain with a retention horizon that matches the log, the log index
    of its last pruned event; a horizon that does not match is reported and
    left out, so its chain's deleted events count as missing."""
    links, rep = {}, VerifyReport()
    for cid, first_kept, prev, link, link_event, link_stored, first_stored, kept_prev \
            in conn.execute(HORIZONS_SQL):
        where = f"retention horizon of chain {cid} (first kept chain_seq {first_kept})"
        if link is None:
            rep.fail(None, f"{where}: no leaf of the chain has its previous_hash {prev}: the horizon "
                           "does not match the log")
        elif link_stored:
            rep.fail(link, f"{where}: its last pruned event {link_event} (log index {link}) is "
                           "still stored")
        elif first_stored is not None and first_stored < first_kept:
            rep.fail(None, f"{where}: chain_seq {first_stored} below the horizon is still stored")
        elif kept_prev is not None and kept_prev != prev:
            rep.fail(None, f"{where}: the first kept event links to {kept_prev}, not to the "
                           f"horizon's previous_hash {prev}")
        else:
            links[cid] = link
    return links, rep


@dataclass
class Chunk:
    lo: int
    hi: int
    leaves: list[bytes]          # leaf hashes of [lo, lo + len(leaves)), recomputed
    stored_differs: int | None   # first index whose stored leaf hash differs
    odd: list[tuple[int, str, str, bool]]  # (index, event_id, correlation_id, bad content)
    gap: tuple[int, int | None] | None      # first absent index, next stored one


def leaf_chunks(url: str, size: int, jobs: int = JOBS):
    """The chunks of leaves [0, size), in order, recomputed by `jobs`
    connections at once (each works on a chunk while the caller consumes)."""
    import psycopg
    from concurrent.futures import ThreadPoolExecutor
    from threading import local

    from .migrate import libpq_url
    conns, made = local(), []
    step = chunk_size(size, jobs)

    def chunk(lo: int) -> Chunk:
        c = getattr(conns, "c", None)
        if c is None:
            c = conns.c = psycopg.connect(libpq_url(url), autocommit=True)
            made.append(c)
            # One hash join a chunk: its leaves hashed in memory, the events
            # read in one pass (looking each event up by key costs more than
            # a share of the scan, 28 vs 17 us a leaf at 250,000 leaves a
            # chunk). The connections are the parallelism: no workers. No
            # JIT: compiling costs more than it saves.
            c.execute("SET work_mem = '256MB'")
            for setting in ("enable_nestloop", "enable_mergejoin", "jit"):
                c.execute(f"SET {setting} = off")
            c.execute("SET max_parallel_workers_per_gather = 0")
        hi = min(lo + step, size)
        n, _, buf, differs, odd = c.execute(CHUNK_SQL, {"lo": lo, "hi": hi}).fetchone()
        gap = None
        if n < hi - lo:
            gap = c.execute(GAP_SQL, {"lo": lo, "hi": hi}).fetchone()
        buf = bytes(buf or b"")
        return Chunk(lo, hi, [buf[i:i + 32] for i in range(0, len(buf), 32)], differs,
                     [tuple(o) for o in odd or ()], gap)

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            pending = []
            starts = iter(range(0, size, step))
            for lo in starts:
                pending.append(pool.submit(chunk, lo))
                if len(pending) > jobs:
                    break
            try:
                while pending:
                    got = pending.pop(0).result()
                    nxt = next(starts, None)
                    if nxt is not None:
                        pending.append(pool.submit(chunk, nxt))
                    yield got
            finally:  # the caller stopped early: start no more chunks
                for f in pending:
                    f.cancel()
    finally:
        for c in made:
            c.close()


@dataclass
class VerifyReport:
    leaves: int = 0
    pruned: int = 0  # leaves whose event retention deleted (hashed from the leaf's event_hash)
    checked: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None
    seconds: float = 0.0

    def fail(self, index: int | None, message: str) -> None:
        if index is not None and self.first_bad_index is None:
            self.first_bad_index = index
        self.problems.append(message)


def verify_log(url: str, checkpoints: list[note.Checkpoint], progress=None,
               jobs: int = JOBS) -> VerifyReport:
    """Recompute the tree from the events in the database at `url` and
    compare it with every checkpoint."""
    import psycopg

    from .migrate import libpq_url
    rep = VerifyReport()
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for name in PINNED:
            (src,) = conn.execute("SELECT prosrc FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n "
                                  "ON n.oid = p.pronamespace WHERE n.nspname = 'datastorage' "
                                  "AND p.proname = %s", (name,)).fetchone() or (None,)
            if src != _shipped_body(name):
                rep.fail(None, f"datastorage.{name} in the database differs from the shipped "
                               "definition: the canonical form was redefined")
                return rep
        target = checkpoints[-1].size
        wanted = {c.size: c for c in checkpoints}
        builder = tlog.RootBuilder()
        good_until = 0  # largest checkpoint size whose root was reproduced
        stored_differs: int | None = None
        if 0 in wanted:
            good_until = _compare(rep, wanted[0], builder, good_until)
        links, horizons = horizon_links(conn)
        sizes = sorted(s for s in wanted if s > 0)

        def feed(chunk: Chunk, upto: int) -> bool:
            """Add the chunk's leaves below `upto`, comparing the root at each
            checkpoint size on the way; False once one differs."""
            nonlocal good_until
            while builder.size < upto:
                i = bisect.bisect_right(sizes, builder.size)  # the next checkpoint size
                stop = min(sizes[i], upto) if i < len(sizes) else upto
                builder.extend(chunk.leaves[builder.size - chunk.lo:stop - chunk.lo])
                if stop in wanted:
                    good_until = _compare(rep, wanted[stop], builder, good_until)
                    if rep.problems:
                        # (a stored leaf past `stop` cannot explain this root)
                        _name_leaf(rep, conn, good_until, stop,
                                   stored_differs if (stored_differs or 0) < stop else None)
                        return False
            return True

        for chunk in leaf_chunks(url, target, jobs):
            if stored_differs is None:
                stored_differs = chunk.stored_differs
            end = chunk.gap[0] if chunk.gap else chunk.hi
            failed = False
            for index, event_id, cid, bad in chunk.odd:
                if index >= end:
                    break
                if not feed(chunk, index):
                    failed = True
                    break
                if bad:
                    rep.fail(index, f"log index {index}: event {event_id} (correlation_id {cid}): "
                                    "its content does not hash to its stored event_hash")
                    failed = True
                    break
                if index > links.get(cid, -1):
                    rep.fail(index, f"log index {index}: event {event_id} is missing from audit_events "
                                    "(deleted after it entered the log, not pruned by retention)")
                    failed = True
                    break
                # Pruned: its content is gone, so the leaf's own event_hash
                # stands in (the query hashed that); the root still fixes it.
                rep.pruned += 1
            if failed or not feed(chunk, end):
                break
            if chunk.gap:
                missing, following = chunk.gap
                if following is not None and following < target:
                    rep.fail(missing, f"log index {missing} is missing (the next stored leaf is "
                                      f"{following})")
                break
            if progress is not None:
                progress.update(builder.size)
        expected = builder.size
        rep.leaves = expected
        if not rep.problems and expected < target:
            rep.fail(expected, f"log index {expected} is missing: the log ends at {expected} leaves, "
                               f"the checkpoint signs {target}")
        if not rep.problems:
            for event_id, cid in conn.execute(OUTSIDE_SQL).fetchall():
                rep.fail(None, f"event {event_id} (correlation_id {cid}) is stored but not in the "
                               "log (inserted past the capture trigger)")
        for message in horizons.problems:
            rep.fail(None, message)
    if progress is not None:
        progress.update(progress.total)
    rep.seconds = time.perf_counter() - started
    return rep


def _compare(rep: VerifyReport, cp: note.Checkpoint, builder: tlog.RootBuilder, good: int) -> int:
    if builder.root() == cp.root:
        rep.checked.append(cp.size)
        return cp.size
    rep.fail(None, f"the root recomputed at size {cp.size} differs from the signed checkpoint")
    return good


def _name_leaf(rep, conn, good: int, bad: int, stored_differs: int | None) -> None:
    """Narrow a root mismatch to a leaf: the first leaf whose stored hash
    differs from the recomputed one if there is one, else the leaves between
    the last reproduced checkpoint and the first failing one."""
    if stored_differs is not None and stored_differs >= good:
        lo, hi = stored_differs, stored_differs + 1
    else:
        lo, hi = good, bad
    rows = conn.execute("SELECT leaf_index, event_id::text, correlation_id FROM public.tlog_leaves "
                        "WHERE leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index LIMIT 10",
                        (lo, hi)).fetchall()
    named = "; ".join(f"log index {i}: event {e} (correlation_id {c})" for i, e, c in rows)
    if hi - lo == 1:
        rep.fail(lo, f"first differing leaf: {named}")
    else:
        rep.fail(lo, f"a leaf with log index in [{lo}, {hi}) differs from what was signed "
                     f"(stored leaf hashes were rewritten too): {named}"
                     + (" ..." if hi - lo > len(rows) else ""))


def cmd_verify(args) -> int:
    from .cli import _settings, database_urls
    from .migrate import libpq_url
    from .verifier import Progress
    import psycopg
    try:
        settings = _settings()
        verifier = read_key(args.key) if args.key else _local_verifier(settings)
        checkpoints = load_checkpoints(Path(args.checkpoint), verifier)
        # The privileged (migration) login: the service's own login may
        # only call API functions, and this reads the tables themselves.
        _, url, _ = database_urls(settings, start=False)
        psycopg.connect(libpq_url(url)).close()
    except Unusable as exc:
        print(f"datastorage log verify: {exc}", file=sys.stderr)
        return UNUSABLE
    except psycopg.Error as exc:
        print(f"datastorage log verify: cannot connect: {exc}", file=sys.stderr)
        return UNUSABLE
    target = checkpoints[-1].size
    show = sys.stderr.isatty() if args.progress is None else args.progress
    rep = verify_log(url, checkpoints, Progress(show, target, "leaves"), jobs=args.jobs)
    rate = rep.leaves / rep.seconds if rep.seconds else 0
    print(f"log: {checkpoints[-1].origin}, key {verifier.name}+{verifier.id.hex()}")
    print(f"checkpoints: {len(checkpoints)} (sizes {checkpoints[0].size}..{target}); "
          f"reproduced: {len(rep.checked)}")
    print(f"leaves recomputed from events: {rep.leaves:,} in {rep.seconds:.2f}s ({rate:,.0f}/s)")
    if rep.pruned:
        print(f"pruned by retention: {rep.pruned:,} of these (events deleted under a retention "
              "horizon: their leaves come from the stored event_hash; position and hash are "
              "proven, content is not)")
    if rep.problems:
        print("PROBLEMS")
        for p in rep.problems:
            print(f"  - {p}")
        print("RESULT: FAILED")
        return FAILED
    print("RESULT: OK")
    return OK


def _local_verifier(settings) -> note.Verifier:
    path = settings.log_key_path
    if not path.exists():
        raise Unusable(f"no --key given and no signing key in {path}")
    return note.Signer.parse(path.read_text()).verifier


# --- exports ---------------------------------------------------------------------
def check_export_proofs(doc: dict, report, key: str, checkpoint: str | None) -> None:
    """`datastorage verify FILE --log-key KEY [--checkpoint FILE]`: every
    exported event is proven to be a leaf of the signed log."""
    try:
        verifier = read_key(key)
        trusted = load_checkpoints(Path(checkpoint), verifier)[-1] if checkpoint else None
    except Unusable as exc:
        report.problems.append(f"transparency log: {exc}")
        return
    log = doc.get("transparency_log")
    if not isinstance(log, dict) or not isinstance(log.get("checkpoint"), str):
        report.problems.append("transparency log: the export carries no checkpoint and proofs "
                               "(export with include_log_proofs=true, after the first checkpoint)")
        return
    try:
        cp = note.Checkpoint.parse(log["checkpoint"], verifier)
    except note.NoteError as exc:
        report.problems.append(f"transparency log: the export's checkpoint: {exc}")
        return
    if trusted is not None and (trusted.size, trusted.root) != (cp.size, cp.root):
        report.problems.append(f"transparency log: the export proves against size {cp.size}, the "
                               f"given checkpoint is size {trusted.size} with "
                               + ("another root (split view)" if trusted.size == cp.size
                                  else "a different size: export again or use that checkpoint's"))
        return
    proofs = log.get("proofs") if isinstance(log.get("proofs"), dict) else {}
    proven = 0
    for ev in doc.get("events") or []:
        eid = ev.get("event_id")
        entry = proofs.get(eid)
        if not isinstance(entry, dict):
            report.problems.append(f"transparency log: event {eid} has no inclusion proof in the "
                                   f"checkpoint of size {cp.size} (not in the log, or newer)")
            continue
        try:
            leaf = tlog.leaf_hash(tlog.leaf_bytes(eid, ev.get("event_hash"), ev.get("correlation_id")))
            tlog.verify_inclusion(leaf, int(entry["leaf_index"]), cp.size,
                                  [tlog.unb64(p) for p in entry["proof"]], cp.root)
            proven += 1
        except (tlog.ProofError, KeyError, TypeError, ValueError) as exc:
            report.problems.append(f"transparency log: event {eid}: {exc}")
    report.facts.append(f"transparency log: {proven:,} event(s) proven in {cp.origin} at size "
                        f"{cp.size} (signature verified{', matches the given checkpoint' if trusted else ''})")


# --- log witness ----------------------------------------------------------------
LATEST = "latest.checkpoint"


class Refused(Exception):
    """The log misbehaved; the evidence has been kept."""


@dataclass
class Witness:
    url: str
    state: Path
    log_key: note.Verifier
    signer: note.Signer

    def held(self) -> note.Checkpoint | None:
        path = self.state / LATEST
        if not path.exists():
            return None
        return note.Checkpoint.parse(path.read_text(), self.log_key)

    def _get(self, client, path: str, **params):
        r = client.get(self.url.rstrip("/") + "/api/v1/audit/log" + path, params=params)
        if r.status_code != 200:
            raise Unusable(f"GET {path}: HTTP {r.status_code}: {r.text[:200]}")
        return r

    def _evidence(self, kind: str, *notes: tuple[str, str]) -> Path:
        from .tlog_service import write_durably
        d = self.state / "evidence" / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{kind}"
        for name, text in notes:
            write_durably(d / name, text)
        return d

    def step(self, client) -> str:
        """Fetch, check, cosign. Returns what happened; raises Refused."""
        from .tlog_service import write_durably
        raw = self._get(client, "/checkpoint").text
        try:
            new = note.Checkpoint.parse(raw, self.log_key)
        except note.NoteError as exc:
            d = self._evidence("bad-signature", ("served.checkpoint", raw))
            raise Refused(f"checkpoint does not verify with the log key: {exc} (evidence: {d})") from None
        old = self.held()
        if old is not None:
            if new.size < old.size:
                d = self._evidence("rollback", ("held.checkpoint", old.note.render()),
                                   ("served.checkpoint", raw))
                raise Refused(f"rollback: the log serves size {new.size}, this witness holds "
                              f"size {old.size} (evidence: {d})")
            if new.size == old.size and new.root != old.root:
                d = self._evidence("split-view", ("held.checkpoint", old.note.render()),
                                   ("served.checkpoint", raw))
                raise Refused(f"split view: two signed roots for tree size {new.size} "
                              f"(evidence: {d})")
            if new.size == old.size:
                return f"unchanged at size {new.size}"
            if old.size > 0:
                body = self._get(client, "/proof/consistency", first=old.size, second=new.size).json()
                try:
                    tlog.verify_consistency(old.size, new.size, [tlog.unb64(p) for p in body["proof"]],
                                            old.root, new.root)
                except (tlog.ProofError, KeyError, TypeError, ValueError) as exc:
                    d = self._evidence("inconsistent", ("held.checkpoint", old.note.render()),
                                       ("served.checkpoint", raw), ("proof.json", repr(body)))
                    raise Refused(f"tree of size {new.size} is not an extension of the held tree of "
                                  f"size {old.size} (leaves in [0, {old.size}) were changed): "
                                  f"{exc} (evidence: {d})") from None
        cosigned = note.cosign(new, self.signer)
        write_durably(self.state / LATEST, cosigned.render())
        return f"cosigned size {new.size}" + (f" (from {old.size})" if old else " (first checkpoint)")


def _duration(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 10s, 1m)")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def cmd_witness(args) -> int:
    import httpx
    try:
        log_key = read_key(args.key)
        state = Path(args.state)
        state.mkdir(parents=True, exist_ok=True)
        name = args.name or f"witness-{socket.gethostname()}"
        signer = note.load_or_create_signer(state / "witness.key", name, note.COSIGNATURE_V1)
        w = Witness(args.url, state, log_key, signer)
        w.held()
    except (Unusable, note.NoteError, OSError) as exc:
        print(f"datastorage log witness: {exc}", file=sys.stderr)
        return UNUSABLE
    print(f"witness key: {signer.verifier.vkey()}", flush=True)
    with httpx.Client(timeout=30) as client:
        while True:
            try:
                print(w.step(client), flush=True)
            except Refused as exc:
                print(f"REFUSED: {exc}", file=sys.stderr, flush=True)
                return FAILED
            except (Unusable, httpx.HTTPError) as exc:
                print(f"datastorage log witness: {exc}", file=sys.stderr, flush=True)
                if args.every is None:
                    return UNUSABLE
            if args.every is None:
                return OK
            time.sleep(args.every)


def register(subparsers) -> None:
    p = subparsers.add_parser("log", help="transparency log: verify it, witness it",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="log_command", required=True)
    v = sub.add_parser("verify", help="recompute the log from the stored events and compare "
                                      "with signed checkpoints")
    v.add_argument("--checkpoint", required=True,
                   help="a checkpoint file, or a directory of *.checkpoint files (narrows a "
                        "mismatch to the leaves between two checkpoints)")
    v.add_argument("--key", help="the log's verifier key (name+id+key, or a file holding it); "
                                 "default: the local signing key's")
    v.add_argument("--jobs", type=int, default=JOBS,
                   help=f"database connections recomputing hashes at once (default {JOBS})")
    bar = v.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None)
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    v.set_defaults(func=cmd_verify)
    w = sub.add_parser("witness", help="check and cosign the log's checkpoints")
    w.add_argument("--url", required=True, help="the service's base URL")
    w.add_argument("--state", required=True, help="this witness's directory (key, held "
                                                   "checkpoint, evidence)")
    w.add_argument("--key", required=True, help="the log's verifier key (or a file holding it)")
    w.add_argument("--name", help="the witness's key name (default witness-<hostname>)")
    w.add_argument("--every", type=_duration, help="keep witnessing at this interval (e.g. 10s)")
    w.set_defaults(func=cmd_witness)
