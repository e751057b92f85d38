"""The transparency log over HTTP (docs/transparency-log.md): the latest
signed checkpoint, the verifier key, inclusion and consistency proofs, and
the C2SP tlog-tiles read side. Hashes are base64 (as in checkpoints); bad or
out-of-range input is a 400 problem, an event not (yet) in the log or a tile
beyond it a 404."""
from __future__ import annotations

import re
import uuid

from sanic import Blueprint
from sanic.response import HTTPResponse, text

from ..http import json_response, param_error
from ..models.contract import RFC7807Problem
from ..models.tlog import ConsistencyQuery, InclusionQuery
from ..openapi import doc
from ..problems import problem
from ..validation import int_param
from ..tlog import b64

bp = Blueprint("tlog", url_prefix="/api/v1/audit/log")
TEXT = "text/plain; charset=utf-8"
MAX_SIZE = 2**63 - 1


def _size(args, name: str, *, required: bool) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        if required:
            raise param_error(name, "value is required but missing")
        return None
    value, reason = int_param(raw, 0, MAX_SIZE)
    if reason:
        raise param_error(name, reason)
    return value


@bp.get("/checkpoint")
@doc("Latest signed checkpoint (C2SP signed note)", responses={404: RFC7807Problem},
     tags=["Transparency Log"])
async def checkpoint(request):
    row = await request.app.ctx.db.call("datastorage.tlog_latest_checkpoint")
    if row is None:
        raise problem("not-found", "no checkpoint has been signed yet; retry shortly")
    # Mutable: a cache must not hold it beyond a moment (tlog-tiles).
    return text(row["note"], content_type=TEXT, headers={"Cache-Control": "no-cache"})


@bp.get("/key")
@doc("Verifier key of the log's checkpoints (C2SP note verifier key)", tags=["Transparency Log"])
async def key(request):
    return text(request.app.ctx.log_verifier.vkey() + "\n", content_type=TEXT)


@bp.get("/proof/inclusion")
@doc("Inclusion proof of one event", query=InclusionQuery,
     responses={400: RFC7807Problem, 404: RFC7807Problem},
     tags=["Transparency Log"])
async def inclusion(request):
    args = request.get_args(keep_blank_values=True)
    raw = args.get("event_id")
    try:
        event_id = uuid.UUID(raw) if raw else None
    except ValueError:
        event_id = None
    if event_id is None:
        raise param_error("event_id", "value must be a UUID")
    size = _size(args, "tree_size", required=False)
    row = await request.app.ctx.db.call("datastorage.tlog_event_proof", event_id, size)
    return json_response({
        "event_id": str(row["event_id"]), "correlation_id": row["correlation_id"],
        "event_hash": row["event_hash"], "leaf_index": row["leaf_index"],
        "tree_size": row["tree_size"], "leaf_hash": b64(row["leaf_hash"]),
        "root_hash": b64(row["root_hash"]), "proof": [b64(h) for h in row["proof"]]})


@bp.get("/proof/consistency")
@doc("Consistency proof between two tree sizes", query=ConsistencyQuery,
     responses={400: RFC7807Problem},
     tags=["Transparency Log"])
async def consistency(request):
    args = request.get_args(keep_blank_values=True)
    first = _size(args, "first", required=True)
    second = _size(args, "second", required=True)
    row = await request.app.ctx.db.call("datastorage.tlog_consistency", first, second)
    return json_response({
        "first": row["first"], "second": row["second"], "first_root": b64(row["first_root"]),
        "second_root": b64(row["second_root"]), "proof": [b64(h) for h in row["proof"]]})


_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")
_TILE_ELEMENT = re.compile(r"^x[0-9]{3}$")


def parse_tile_path(path: str) -> tuple[int | None, int, int]:
    """C2SP tlog-tiles: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]` ->
    (level or None for entries, index, width); a 404 problem when malformed."""
    parts = path.split("/")
    bad = problem("not-found", f"not a tile path: {path[:100]!r}")
    if len(parts) < 2:
        raise bad
    head, rest = parts[0], parts[1:]
    width = 256
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _DECIMAL.match(rest[-1]) or not 1 <= int(rest[-1]) <= 255:
            raise bad
        width = int(rest[-1])
        rest = rest[:-2] + [rest[-2][:-2]]
    if not all(_TILE_ELEMENT.match(p) for p in rest[:-1]) or not re.match(r"^[0-9]{3}$", rest[-1]):
        raise bad
    index = int("".join(p.lstrip("x") for p in rest))
    if head == "entries":
        return None, index, width
    if not _DECIMAL.match(head) or int(head) > 63:
        raise bad
    return int(head), index, width


@bp.get("/tile/<path:path>")
@doc("C2SP tlog-tiles: Merkle tree tiles and entry bundles", responses={404: RFC7807Problem},
     tags=["Transparency Log"])
async def tile(request, path: str):
    level, index, width = parse_tile_path(path)
    db = request.app.ctx.db
    data = (await db.call("datastorage.tlog_entry_bundle", index, width) if level is None
            else await db.call("datastorage.tlog_tile", level, index, width))
    return HTTPResponse(bytes(data), content_type="application/octet-stream",
                        headers={"Cache-Control": "public, max-age=604800, immutable"})
