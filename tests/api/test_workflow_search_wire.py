"""POST /api/v1/workflows/search answers with JSON that PostgreSQL renders
(datastorage.search_workflows_rendered) and builds its audit row without a
second validation (app.workflows.search_event). Both must stay what the
service produced when it rendered typed rows in Python and validated the
event through events.prepare: the reference below is that former code,
applied to the rows of datastorage.search_workflows for the same query."""
from __future__ import annotations

from decimal import Decimal

import orjson
import psycopg
import pytest
from psycopg.rows import dict_row

from app.migrate import libpq_url
from app.models.workflows import SearchRequest
from app.validation import parse_model
from app.workflows import (EMBEDDING_DIMENSIONS, EMBEDDING_MODEL, query_hash, search_event,
                           service_event)

from .test_workflows import eventually_events, labels, name, query

# Every character JSON must escape, the ones it need not, and non-ASCII.
TRICKY = 'q"uote\\ back/slash \x01\x08\x0c\x1f\x7f\n\r\t é ✓ 😀 \u2028 <&>'


def _number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def reference_item(r: dict) -> dict:
    """One result as the route rendered it before SQL did."""
    item = {"workflow_id": str(r["workflow_id"]), "title": r["title"],
            "description": r["description"], "signal_type": r["signal_type"]}
    if r["container_image"]:
        item["container_image"] = r["container_image"]
    if r["container_digest"]:
        item["container_digest"] = r["container_digest"]
    for key in ("confidence", "label_boost", "label_penalty", "final_score"):
        item[key] = _number(r[key])
    item["rank"] = r["rank"]
    if r["custom_labels"] != {}:
        item["custom_labels"] = orjson.Fragment(r["custom_text"])
    item["detected_labels"] = orjson.Fragment(r["detected_text"])
    return item


def reference_event(req, rows: list[dict], duration_ms: int) -> dict:
    """The audit row as the former code built it, through events.prepare."""
    f = req.filters
    q: dict = {"top_k": req.top_k}
    if req.min_score > 0:
        q["min_score"] = req.min_score
    q["filters"] = {k: getattr(f, k) for k in
                    ("signal_type", "severity", "component", "environment", "priority")}
    results = []
    for r in rows:
        item = {"workflow_id": str(r["workflow_id"]), "title": r["title"], "rank": r["rank"],
                "scoring": {"confidence": float(r["confidence"])}}
        if r["description"]:
            item["description"] = r["description"][:2048]   # cut as documented
        results.append(item)
    total = rows[0]["total_matches"] if rows else 0
    data = {"event_type": "workflow.catalog.search_completed", "query": q,
            "results": {"total_found": total, "returned": len(results), "workflows": results},
            "search_metadata": {"duration_ms": duration_ms,
                                "embedding_dimensions": EMBEDDING_DIMENSIONS,
                                "embedding_model": EMBEDDING_MODEL}}
    digest = query_hash(f)
    return service_event("workflow.catalog.search_completed", "search_completed",
                         "workflow_catalog", digest, req.remediation_id or digest, data,
                         max_bytes=1 << 24, duration_ms=duration_ms)


@pytest.fixture(scope="module")
def catalog(module_db):
    """Workflows that exercise every optional member and every escape, put in
    by SQL (a DBA's rows need not have passed the API's checks)."""
    sig = name("WIRE")
    long_text = ("ü€😀 " * 700)[:3000]
    docs = [
        {"name": TRICKY, "description": "d", "container_image": "ghcr.io/a/b:1",
         "container_digest": "sha256:" + "ab" * 32,
         "custom_labels": {"team": ["payments", "*"], "kubernaut.io/region": ["eu-west-1"]},
         "detected_labels": {"gitOpsManaged": True, "gitOpsTool": "argocd",
                             "serviceMesh": "istio"}},
        {"name": "plain", "description": "x", "custom_labels": {}, "detected_labels": {}},
        {"name": "long", "description": long_text, "container_image": "",
         "custom_labels": {"team": ["*"]}, "detected_labels": {"pdbProtected": True}},
        {"name": "tool", "description": TRICKY, "labels": labels(sig, component="*"),
         "detected_labels": {"gitOpsManaged": True, "gitOpsTool": "flux", "hpaEnabled": True}},
    ]
    with psycopg.connect(libpq_url(module_db), autocommit=True) as conn:
        for i, extra in enumerate(docs):
            doc = {"workflow_name": name("wire"), "version": f"1.0.{i}",
                   "content": "steps: []", "content_hash": "0" * 64,
                   "execution_engine": "tekton", "status": "active", "labels": labels(sig),
                   **extra}
            conn.execute("SELECT datastorage.create_workflow(%s::jsonb)",
                         (orjson.dumps(doc).decode(),))
    return sig


SEARCHES = [
    {"detected_labels": {"gitOpsManaged": True, "gitOpsTool": "argocd", "serviceMesh": "*",
                         "pdbProtected": True, "hpaEnabled": True},
     "custom_labels": {"team": ["payments", "search"], "kubernaut.io/region": ["eu-west-1"]}},
    {},
    {"detected_labels": {"gitOpsTool": "flux"}},
]


def _call(module_db, sql: str, sent: dict, req) -> list[dict]:
    """`sql` with the arguments the route passes for the body `sent`."""
    with psycopg.connect(libpq_url(module_db), autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(sql, (orjson.dumps(sent["filters"]).decode(), req.top_k,
                                  Decimal(str(req.min_score)), req.include_disabled)).fetchall()


def _sql_rows(module_db, sent: dict, req) -> list[dict]:
    """search_workflows' rows; the jsonb columns also as jsonb's own text."""
    return _call(module_db, "SELECT *, custom_labels::text AS custom_text, "
                 "detected_labels::text AS detected_text "
                 "FROM datastorage.search_workflows(%s::jsonb, %s, %s, %s)", sent, req)


@pytest.mark.parametrize("extra", SEARCHES, ids=["boosted", "plain", "penalised"])
@pytest.mark.parametrize("top_k,min_score", [(10, 0), (2, 0.5)])
def test_search_body_is_byte_identical_to_rendering_typed_rows(client, module_db, catalog,
                                                               extra, top_k, min_score):
    sent = {**query(catalog, **extra), "top_k": top_k, "min_score": min_score,
            "remediation_id": name("rem")}
    r = client.post("/api/v1/workflows/search", json=sent)
    assert r.status_code == 200, r.text
    req = parse_model(SearchRequest, sent)
    rows = _sql_rows(module_db, sent, req)
    assert rows, "the catalog fixture must match this search"
    echo = orjson.loads(r.content)["filters"]
    expected = orjson.dumps({"workflows": [reference_item(row) for row in rows],
                             "total_results": rows[0]["total_matches"], "filters": echo},
                            option=orjson.OPT_NON_STR_KEYS)
    assert r.content == expected

    # The stored audit event holds what the validated former event held.
    [event] = eventually_events(client, sent["remediation_id"],
                                "workflow.catalog.search_completed")
    ref = reference_event(req, rows, event["event_data"]["search_metadata"]["duration_ms"])
    assert event["event_data"] == orjson.loads(orjson.dumps(ref["event_data"]))


def test_search_event_row_equals_the_validated_row(module_db, catalog):
    """The audit row search_event builds equals events.prepare's, member by
    member (only the fresh id and timestamp differ)."""
    for extra in SEARCHES:
        for sent in ({**query(catalog, **extra), "remediation_id": "r-1"},
                     {**query(catalog, **extra), "top_k": 3, "min_score": 0.49}):
            req = parse_model(SearchRequest, sent)
            [found] = _call(module_db, "SELECT * FROM datastorage.search_workflows_rendered("
                            "%s::jsonb, %s, %s, %s)", sent, req)
            rows = _sql_rows(module_db, sent, req)
            for duration in (0, 7):
                fast = search_event(req, found, duration, max_bytes=1 << 24)
                ref = reference_event(req, rows, duration)
                assert fast.keys() == ref.keys()
                for key in ("event_id", "event_timestamp"):
                    assert type(fast.pop(key)) is type(ref.pop(key))
                fast_data = orjson.loads(orjson.dumps(fast.pop("event_data")))
                assert fast_data == orjson.loads(orjson.dumps(ref.pop("event_data")))
                assert fast == ref
