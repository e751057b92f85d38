"""POST /api/v1/audit/verify-chain: whole-chain verification on demand
(spec/audit-api.md §9, with the algorithm of datastorage.verify_chains).

Body: {"correlation_id": "rr-1"} answers with that chain's report (the
original's shape plus counts); {"correlation_id": [...]} or
{"correlation_ids": [...]} answers with {"chains": [...]}. A chain nobody
ever wrote is a 404.
"""
from __future__ import annotations

import orjson
from sanic import Blueprint

from .. import metrics
from ..export import now_text
from ..http import json_response, read_json
from ..models.contract import RFC7807Problem
from ..models.export import VerifyChainRequest, VerifyChainResponse
from ..openapi import doc
from ..problems import problem, validation
from ..validation import parse_model

bp = Blueprint("verify")

# Work per request (issue 12 §5): chains here, events across them in
# DS_MAX_VERIFY_EVENTS. Bigger verifications run in SQL
# (datastorage.verify_chain_summary) or as exports.
MAX_CHAINS = 100
_EVENT_MESSAGES = {
    "content_mismatch": "Event hash mismatch: event data has been tampered",
    "link_mismatch": "Previous hash mismatch: event claims different previous_event_hash",
    "sequence_gap": "Sequence gap: an event before this one was deleted or renumbered",
    "unhashed": "Event carries no hash",
}


def event_message(b: dict) -> str:
    if b["verdict"] == "link_mismatch" and b["expected_previous_hash"] == "":
        return "First event in chain should have empty previous_event_hash"
    return _EVENT_MESSAGES.get(b["verdict"], b["verdict"])


def _report(row, at: str) -> dict:
    broken = orjson.loads(row["broken"])
    if row["is_valid"] and row["expired"]:
        message = (f"Hash chain expired: retention removed all {row['pruned_events']} event(s); "
                   "the chain head matches the recorded retention horizon")
    elif row["is_valid"]:
        message = "Hash chain verified successfully: no tampering detected"
    elif not row["head_matches"] and not broken:
        message = ("Hash chain verification FAILED: the chain head records "
                   f"{row['head_seq']} event(s) but the last stored event does not match it "
                   "(events removed from the end of the chain)")
    else:
        message = "Hash chain verification FAILED: tampering detected"
    out = {
        "correlation_id": row["correlation_id"],
        "is_valid": row["is_valid"],
        "total_events": row["total_events"],
        "verified_events": row["valid_events"],
        "valid_events": row["valid_events"],
        "broken_events": row["broken_events"],
        "first_broken_seq": row["first_broken_seq"],
        "first_broken_event_id": (str(row["first_broken_event_id"])
                                  if row["first_broken_event_id"] else None),
        "tampered_event_ids": [b["event_id"] for b in broken],
        "head_matches": row["head_matches"],
        "verification_time": at,
        "message": message,
    }
    if row["pruned_events"]:
        # Only for chains retention pruned: other reports stay as they were.
        out["pruned_events"] = row["pruned_events"]
        out["expired"] = row["expired"]
    if broken:
        out["tampered_events"] = [{
            "event_id": b["event_id"], "chain_seq": b["chain_seq"],
            "event_timestamp": b["event_timestamp"], "verdict": b["verdict"],
            "expected_hash": b["expected_hash"], "actual_hash": b["event_hash"],
            "previous_hash": b["previous_event_hash"],
            "expected_previous_hash": b["expected_previous_hash"],
            "message": event_message(b)} for b in broken]
    return out


def _requested(req: VerifyChainRequest) -> tuple[list[str], bool]:
    """(correlation ids, whether the client asked for a list)."""
    if req.correlation_ids is not None and req.correlation_id is not None:
        raise validation("give correlation_id or correlation_ids, not both",
                         {"correlation_ids": "not allowed together with correlation_id"})
    value = req.correlation_ids if req.correlation_ids is not None else req.correlation_id
    field = "correlation_ids" if req.correlation_ids is not None else "correlation_id"
    if value is None or value == "" or value == []:
        raise validation("correlation_id is required", {field: "value is required"})
    ids = [value] if isinstance(value, str) else value
    if len(ids) > MAX_CHAINS:
        raise validation(f"at most {MAX_CHAINS} chains per request",
                         {field: f"at most {MAX_CHAINS} items"})
    for i, cid in enumerate(ids):
        if not cid or len(cid) > 255 or "\x00" in cid:
            raise validation(f"correlation id #{i} must be 1-255 characters without NUL",
                             {f"{field}.{i}": "must be 1-255 characters"})
    return list(dict.fromkeys(ids)), not isinstance(value, str)


@bp.post("/api/v1/audit/verify-chain")
@doc("Verify whole hash chains (one correlation id or a list)", body=VerifyChainRequest,
     responses={200: VerifyChainResponse, 400: RFC7807Problem, 404: RFC7807Problem},
     tags=["verification"])
async def verify_chain(request):
    body = read_json(request)
    if not isinstance(body, dict):
        raise validation("request body must be a JSON object", {"body": "value must be an object"})
    ids, as_list = _requested(parse_model(VerifyChainRequest, body))
    db = request.app.ctx.db
    size = await db.call("datastorage.chain_sizes", ids)
    most = request.app.ctx.settings.max_verify_events
    if size > most:
        field = "correlation_ids" if "correlation_ids" in body else "correlation_id"
        reason = f"the chains hold {size} events; at most {most} per request"
        raise validation(f"too much to verify at once: {reason}", {field: reason})
    # One chain: the call a Citus cluster delegates to the chain's worker.
    if len(ids) == 1:
        rows = await db.call("datastorage.verify_one_chain", ids[0], many=True, expensive=True)
    else:
        rows = await db.call("datastorage.verify_chains", ids, many=True, expensive=True)
    unknown = [r["correlation_id"] for r in rows if r["total_events"] == 0 and r["head_seq"] is None]
    if unknown:
        raise problem("not-found", "No events found for correlation_id: " + ", ".join(unknown),
                      correlation_ids=unknown)
    at = now_text()
    reports = [_report(r, at) for r in rows]
    for r in reports:
        metrics.CHAIN_VERIFICATIONS.labels("valid" if r["is_valid"] else "invalid").inc()
    if not as_list:
        return json_response(reports[0])
    return json_response({"is_valid": all(r["is_valid"] for r in reports),
                          "total_chains": len(reports), "verification_time": at,
                          "chains": reports})
