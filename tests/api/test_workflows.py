"""Workflow catalog over HTTP against the real service and database
(spec/workflow-catalog.md). Responses are checked against the contract's
models, the way the generated clients check them."""
from __future__ import annotations

import hashlib
import uuid

import pytest

from app.models.contract import (RemediationWorkflow, WorkflowListResponse,
                                 WorkflowSearchResponse, validate_event_data)
from harness import poll

PROBLEM = "application/problem+json"
BASE = "https://kubernaut.ai/problems/"


def body(workflow_name: str, version: str = "1.0.0", **extra) -> dict:
    doc = {
        "workflow_name": workflow_name, "version": version, "name": f"Title {workflow_name}",
        "description": "Restarts pods killed for memory", "content": "steps: []",
        "content_hash": hashlib.sha256(b"steps: []").hexdigest(), "execution_engine": "tekton",
        "status": "active",
        "labels": {"signal_type": "OOMKilled", "severity": "critical", "component": "deployment",
                   "environment": ["production"], "priority": "P0"},
    }
    doc.update(extra)
    return doc


def labels(signal: str, **over) -> dict:
    base = {"signal_type": signal, "severity": "critical", "component": "deployment",
            "environment": ["production"], "priority": "P0"}
    base.update(over)
    return base


def query(signal: str, **extra) -> dict:
    filters = {"signal_type": signal, "severity": "critical", "component": "deployment",
               "environment": "production", "priority": "P0"}
    filters.update(extra)
    return {"filters": filters}


def name(prefix: str = "wf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create(client, doc) -> dict:
    r = client.post("/api/v1/workflows", json=doc)
    assert r.status_code == 201, r.text
    return r.json()


def assert_problem(r, status: int, slug: str | None = None, title: str | None = None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    doc = r.json()
    assert doc["status"] == status
    assert doc["type"].startswith(BASE)
    if slug:
        assert doc["type"] == BASE + slug, doc
    if title:
        assert doc["title"] == title, doc
    return doc


def events_of(client, correlation_id: str, event_type: str | None = None) -> list[dict]:
    params = {"correlation_id": correlation_id, "limit": 1000}
    if event_type:
        params["event_type"] = event_type
    r = client.get("/api/v1/audit/events", params=params)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def eventually_events(client, correlation_id: str, event_type: str) -> list[dict]:
    """Search events are appended just after the response (group commit):
    poll until one is there (or give up after a generous deadline)."""
    return poll(lambda: events_of(client, correlation_id, event_type), timeout=30,
                fail=False)


# ---- create ----------------------------------------------------------------

def test_create_returns_the_stored_row_and_a_hashed_created_event(client):
    n = name()
    r = client.post("/api/v1/workflows", json=body(n, maintainer="ops@example.com",
                                                    parameters={"replicas": None},
                                                    detected_labels={"gitOpsManaged": True,
                                                                     "pdbProtected": False},
                                                    total_executions=9,
                                                    created_at="2001-01-01T00:00:00Z"))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    wf = r.json()
    RemediationWorkflow.model_validate(wf)
    uuid.UUID(wf["workflow_id"])
    assert wf["is_latest_version"] is True
    assert wf["created_at"] != "2001-01-01T00:00:00Z" and wf["created_at"].endswith("Z")
    assert wf["total_executions"] == 0
    assert wf["parameters"] == {"replicas": None}
    assert wf["detected_labels"] == {"gitOpsManaged": True}, "false booleans are not stored"
    assert "custom_labels" not in wf
    assert client.get(f"/api/v1/workflows/{wf['workflow_id']}").json() == wf

    [event] = events_of(client, wf["workflow_id"], "datastorage.workflow.created")
    assert event["resource_id"] == wf["workflow_id"] and event["resource_type"] == "Workflow"
    assert (event["event_category"], event["event_action"], event["actor_id"]) == (
        "workflow", "create", "datastorage")
    assert event["event_hash"] and event["previous_event_hash"] == ""
    data = validate_event_data(event["event_data"])
    assert data["workflow_name"] == n and data["is_latest_version"] is True
    assert data["labels"]["environment"] == ["production"]


def test_duplicate_version_is_409_and_changes_nothing(client):
    n = name()
    first = create(client, body(n))
    r = client.post("/api/v1/workflows", json=body(n))
    doc = assert_problem(r, 409, "conflict", "Workflow Already Exists")
    assert doc["detail"] == f"Workflow '{n}' version '1.0.0' already exists"
    listing = client.get("/api/v1/workflows", params={"workflow_name": n}).json()
    assert listing["total"] == 1 and listing["workflows"][0]["workflow_id"] == first["workflow_id"]
    assert listing["workflows"][0]["is_latest_version"] is True
    assert len(events_of(client, first["workflow_id"])) == 1


def test_new_versions_move_latest_and_are_listed_by_name(client):
    n = name()
    v1 = create(client, body(n, "v1.0.0"))
    v2 = create(client, body(n, "v1.1.0"))
    v3 = create(client, body(n, "v2.0.0"))
    got = {v: client.get(f"/api/v1/workflows/{w['workflow_id']}").json()["is_latest_version"]
           for v, w in (("1", v1), ("2", v2), ("3", v3))}
    assert got == {"1": False, "2": False, "3": True}
    r = client.get(f"/api/v1/workflows/by-name/{n}/versions")
    assert r.status_code == 200
    doc = r.json()
    assert doc["total"] == 3 and [v["version"] for v in doc["versions"]] == ["v2.0.0", "v1.1.0", "v1.0.0"]
    assert client.get(f"/api/v1/workflows/by-name/{name()}/versions").json()["versions"] == []


def test_by_name_decodes_the_path_segment(client):
    n = "team/a b-ü-" + uuid.uuid4().hex[:6]
    create(client, body(n))
    from urllib.parse import quote
    doc = client.get(f"/api/v1/workflows/by-name/{quote(n, safe='')}/versions").json()
    assert doc["workflow_name"] == n and doc["total"] == 1


def test_deprecated_cannot_be_created_but_can_be_reached_by_patch(client):
    n = name()
    assert_problem(client.post("/api/v1/workflows", json=body(n, status="deprecated")), 400,
                   "validation-error")
    wf = create(client, body(n))
    r = client.patch(f"/api/v1/workflows/{wf['workflow_id']}", json={"status": "deprecated"})
    assert r.status_code == 200 and r.json()["status"] == "deprecated"
    [_, updated] = sorted(events_of(client, wf["workflow_id"]), key=lambda e: e["chain_seq"])
    assert validate_event_data(updated["event_data"])["updated_fields"] == {"status": "deprecated"}


# ---- handler-level checks (bad-request) --------------------------------------

@pytest.mark.parametrize("field, value, detail", [
    ("workflow_name", "", "workflow_name is required"),
    ("version", "", "version is required"),
    ("name", "", "name is required"),
    ("description", "", "description is required"),
    ("content", "", "content is required"),
    ("labels", labels("", component=""),
     "labels are required (signal_type, severity, component, environment, priority)"),
])
def test_empty_required_fields_are_bad_request(client, field, value, detail):
    doc = body(name())
    doc[field] = value
    doc = assert_problem(client.post("/api/v1/workflows", json=doc), 400, "bad-request", "Bad Request")
    assert doc["detail"] == detail


# ---- every malformed input is a 4xx problem, never a 500 -----------------------

BAD_CREATE = {
    "content_hash too short": {"content_hash": "a" * 63},
    "content_hash too long": {"content_hash": "a" * 65},
    "workflow_name 1000 chars": {"workflow_name": "n" * 1000},
    "version 51 chars": {"version": "v" * 51},
    "missing labels": {"labels": None},
    "labels not an object": {"labels": ["x"]},
    "environment empty": {"labels": labels("X", environment=[])},
    "environment not in enum": {"labels": labels("X", environment=["prod"])},
    "environment a string": {"labels": labels("X", environment="production")},
    "severity not in enum": {"labels": labels("X", severity="urgent")},
    "priority not in enum": {"labels": labels("X", priority="P5")},
    "status not in enum": {"status": "retired"},
    "parameters not an object": {"parameters": [1, 2]},
    "custom label not an array": {"custom_labels": {"team": "payments"}},
    "custom label value not a string": {"custom_labels": {"team": [1]}},
    "gitOpsTool not in enum": {"detected_labels": {"gitOpsTool": "jenkins"}},
    "failed_detections not in enum": {"detected_labels": {"failed_detections": ["gitOpsTool"]}},
    "detected boolean as string": {"detected_labels": {"pdbProtected": "true"}},
    "success rate above 1": {"expected_success_rate": 1.5},
    "success rate a string": {"expected_success_rate": "0.9"},
    "duration negative": {"expected_duration_seconds": -1},
    "duration beyond int4": {"expected_duration_seconds": 2**40},
    "duration a float": {"expected_duration_seconds": 1.5},
    "maintainer not an e-mail": {"maintainer": "not an email"},
    "approved_at not a date-time": {"approved_at": "yesterday"},
    "approved_at month 13": {"approved_at": "2025-13-01T00:00:00Z"},
    "approved_at without zone": {"approved_at": "2025-01-01T00:00:00"},
    "owner too long": {"owner": "o" * 256},
    "explicit null": {"owner": None},
    "NUL in a string": {"description": "a\x00b"},
    "NUL in a custom label": {"custom_labels": {"k\x00": ["v"]}},
    "name a number": {"name": 5},
}


@pytest.mark.parametrize("case", sorted(BAD_CREATE))
def test_malformed_create_is_400(client, case):
    doc = body(name())
    for key, value in BAD_CREATE[case].items():
        if value is None and key == "labels":
            doc.pop("labels")
        else:
            doc[key] = value
    assert_problem(client.post("/api/v1/workflows", json=doc), 400)


RAW_BODIES = {
    "not JSON": b"{nope",
    "array": b"[]",
    "string": b'"x"',
    "number": b"12",
    "null": b"null",
    "lone surrogate": b'{"workflow_name": "\\ud800"}',
    "deeply nested": b"[" * 10000 + b"]" * 10000,
}


@pytest.mark.parametrize("case", sorted(RAW_BODIES))
@pytest.mark.parametrize("method, path", [("POST", "/api/v1/workflows"),
                                          ("POST", "/api/v1/workflows/search"),
                                          ("PATCH", f"/api/v1/workflows/{uuid.uuid4()}"),
                                          ("PATCH", f"/api/v1/workflows/{uuid.uuid4()}/disable")])
def test_malformed_json_bodies_are_4xx(client, method, path, case):
    r = client.request(method, path, content=RAW_BODIES[case],
                       headers={"content-type": "application/json"})
    assert_problem(r, 400)


@pytest.mark.parametrize("path", ["/api/v1/workflows", "/api/v1/workflows/search"])
def test_wrong_content_type_is_4xx(client, path):
    r = client.post(path, content=b"{}", headers={"content-type": "text/plain"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("raw", ["not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g",
                                 "%7B00000000-0000-0000-0000-000000000000%7D", "search%00"])
def test_malformed_uuid_is_400_on_every_id_route(client, raw):
    assert_problem(client.get(f"/api/v1/workflows/{raw}"), 400, "validation-error")
    assert_problem(client.patch(f"/api/v1/workflows/{raw}", json={"status": "active"}), 400)
    assert_problem(client.patch(f"/api/v1/workflows/{raw}/disable"), 400)


def test_unknown_id_is_404_on_every_id_route(client):
    wid = str(uuid.uuid4())
    for r in (client.get(f"/api/v1/workflows/{wid}"),
              client.patch(f"/api/v1/workflows/{wid}", json={"status": "disabled"}),
              client.patch(f"/api/v1/workflows/{wid}/disable")):
        doc = assert_problem(r, 404, "not-found", "Not Found")
        assert doc["detail"] == f"Workflow not found: {wid}"
    assert events_of(client, wid) == []


@pytest.mark.parametrize("params", [
    {"limit": "1001"}, {"limit": "0"}, {"limit": "-5"}, {"limit": "ten"}, {"limit": "1.5"},
    {"offset": "-1"}, {"offset": "x"}, {"status": "retired"}, {"status": "ACTIVE"},
    {"component": "a\x00b"}, {"custom_labels[team]": "a\x00"},
])
def test_malformed_list_parameters_are_400(client, params):
    assert_problem(client.get("/api/v1/workflows", params=params), 400, "validation-error")


BAD_SEARCH = {
    "no filters": {},
    "filters not an object": {"filters": "x"},
    "missing priority": {"filters": {"signal_type": "a", "severity": "high", "component": "c",
                                     "environment": "production"}},
    "priority wildcard": query("X", priority="*"),
    "severity not in enum": query("X", severity="urgent"),
    "environment an array": query("X", environment=["production"]),
    "top_k 0": {**query("X"), "top_k": 0},
    "top_k 101": {**query("X"), "top_k": 101},
    "top_k a string": {**query("X"), "top_k": "5"},
    "top_k a float": {**query("X"), "top_k": 5.5},
    "min_score negative": {**query("X"), "min_score": -0.1},
    "min_score above 1": {**query("X"), "min_score": 1.01},
    "min_score a string": {**query("X"), "min_score": "0.5"},
    "include_disabled a string": {**query("X"), "include_disabled": "yes"},
    "custom label not an array": query("X", custom_labels={"team": "payments"}),
    "custom label values not strings": query("X", custom_labels={"team": [None]}),
    "too many custom label values": query("X", custom_labels={"k": [str(i) for i in range(1001)]}),
    "gitOpsManaged a string": query("X", detected_labels={"gitOpsManaged": "true"}),
    "serviceMesh not in enum": query("X", detected_labels={"serviceMesh": "consul"}),
    "status not in enum": query("X", status=["retired"]),
    "workflow_name a number": query("X", workflow_name=7),
    "remediation_id too long": {**query("X"), "remediation_id": "r" * 256},
    "NUL in signal_type": query("X\x00"),
}


@pytest.mark.parametrize("case", sorted(BAD_SEARCH))
def test_malformed_search_is_400(client, case):
    assert_problem(client.post("/api/v1/workflows/search", json=BAD_SEARCH[case]), 400)


@pytest.mark.parametrize("field", ["signal_type", "severity", "component", "environment",
                                   "priority"])
def test_empty_search_filter_is_bad_request(client, field):
    q = query("X", **{field: ""})
    doc = assert_problem(client.post("/api/v1/workflows/search", json=q), 400)
    if field in ("signal_type", "component", "environment"):
        assert doc["type"] == BASE + "bad-request" and doc["title"] == "Bad Request"
        assert doc["detail"] == f"filters.{field} is required"


def test_get_on_the_search_path_is_4xx(client):
    r = client.get("/api/v1/workflows/search")
    assert 400 <= r.status_code < 500 and r.headers["content-type"] == PROBLEM


# ---- PATCH and disable ---------------------------------------------------------

def test_patch_refuses_immutable_fields_before_looking_up(client):
    wf = create(client, body(name()))
    for target in (wf["workflow_id"], str(uuid.uuid4())):
        for field in ("description", "content", "labels"):
            r = client.patch(f"/api/v1/workflows/{target}", json={field: "x", "status": "disabled"})
            doc = assert_problem(r, 400, "immutable-field-violation", "Bad Request")
            assert doc["detail"] == ("Cannot update immutable fields (description, content, "
                                     "labels). Create a new version instead. See DD-WORKFLOW-012.")
    r = client.patch(f"/api/v1/workflows/{wf['workflow_id']}", json={"description": None})
    assert r.status_code == 200, "a null immutable field counts as absent"
    assert client.get(f"/api/v1/workflows/{wf['workflow_id']}").json()["status"] == "active"


def test_patch_disable_then_reactivate_returns_the_reread_row(client):
    wf = create(client, body(name()))
    wid = wf["workflow_id"]
    r = client.patch(f"/api/v1/workflows/{wid}",
                     json={"status": "disabled", "disabled_by": "alice", "disabled_reason": "CVE-1"})
    assert r.status_code == 200, r.text
    doc = RemediationWorkflow.model_validate(r.json())
    assert (doc.status, doc.disabled_by, doc.disabled_reason) == ("disabled", "alice", "CVE-1")
    assert doc.disabled_at and doc.updated_at >= wf["updated_at"]
    assert r.json() == client.get(f"/api/v1/workflows/{wid}").json()
    r = client.patch(f"/api/v1/workflows/{wid}", json={"status": "active"})
    assert r.status_code == 200
    assert not {"disabled_at", "disabled_by", "disabled_reason"} & set(r.json())
    updates = [validate_event_data(e["event_data"])["updated_fields"]
               for e in sorted(events_of(client, wid, "datastorage.workflow.updated"),
                               key=lambda e: e["chain_seq"])]
    assert updates == [{"status": "disabled", "disabled_by": "alice", "disabled_reason": "CVE-1"},
                       {"status": "active"}]


def test_disable_accepts_no_body_an_empty_object_or_a_reason(client):
    wf = create(client, body(name()))
    wid = wf["workflow_id"]
    r = client.patch(f"/api/v1/workflows/{wid}/disable")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "disabled" and r.json()["is_latest_version"] is True
    assert client.patch(f"/api/v1/workflows/{wid}/disable", json={}).status_code == 200
    r = client.patch(f"/api/v1/workflows/{wid}/disable", json={"reason": "flaky", "updated_by": "bob"})
    assert (r.json()["disabled_reason"], r.json()["disabled_by"]) == ("flaky", "bob")
    fields = [validate_event_data(e["event_data"])["updated_fields"]
              for e in sorted(events_of(client, wid, "datastorage.workflow.updated"),
                              key=lambda e: e["chain_seq"])]
    assert fields[0] == {"status": "disabled", "disabled_by": "", "disabled_reason": ""}
    assert fields[2] == {"status": "disabled", "disabled_by": "bob", "disabled_reason": "flaky"}


# ---- list -------------------------------------------------------------------------

def test_list_defaults_shape_and_filters(client):
    sig = name("LIST")
    a = create(client, body(name(), labels=labels(sig, component="*", priority="*")))
    b = create(client, body(name(), labels=labels(sig, component="node", priority="P2"),
                            custom_labels={"team": ["payments"]}))
    r = client.get("/api/v1/workflows")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = WorkflowListResponse.model_validate(r.json())
    assert (doc.limit, doc.offset) == (100, 0) and doc.total >= 2
    ids = lambda **p: [w["workflow_id"] for w in  # noqa: E731
                       client.get("/api/v1/workflows", params=p).json()["workflows"]]
    assert ids(component="node", limit=1000)[:2] == [b["workflow_id"], a["workflow_id"]]
    assert b["workflow_id"] not in ids(component="pod", limit=1000)
    assert ids(workflow_name=a["workflow_name"]) == [a["workflow_id"]]
    assert ids(**{"custom_labels[team]": "payments,other", "component": "node"}) == [b["workflow_id"]]
    page = client.get("/api/v1/workflows", params={"limit": 1, "offset": 1}).json()
    assert len(page["workflows"]) == 1 and (page["limit"], page["offset"]) == (1, 1)


# ---- search -------------------------------------------------------------------------

def test_search_scores_and_audits_example_2(client):
    sig = name("E2")
    gitops = create(client, body(name(), labels=labels(sig), detected_labels={"gitOpsManaged": True},
                                 container_image="ghcr.io/x/y:1"))
    manual = create(client, body(name(), labels=labels(sig)))
    rem = name("rem")
    r = client.post("/api/v1/workflows/search",
                    json={**query(sig, detected_labels={"gitOpsManaged": True}),
                          "remediation_id": rem, "top_k": 5})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    WorkflowSearchResponse.model_validate(doc)
    got = [(w["workflow_id"], w["label_boost"], w["label_penalty"], w["final_score"],
            w["confidence"], w["rank"]) for w in doc["workflows"]]
    assert got == [(gitops["workflow_id"], 0.1, 0, 0.51, 0.51, 1),
                   (manual["workflow_id"], 0, 0.1, 0.49, 0.49, 2)]
    assert doc["workflows"][0]["container_image"] == "ghcr.io/x/y:1"
    assert "container_image" not in doc["workflows"][1]
    assert doc["workflows"][0]["detected_labels"] == {"gitOpsManaged": True}
    assert doc["workflows"][1]["detected_labels"] == {}
    assert doc["total_results"] == 2
    assert doc["filters"] == {**query(sig)["filters"], "detected_labels": {"gitOpsManaged": True}}
    [event] = eventually_events(client, rem, "workflow.catalog.search_completed")
    assert (event["event_category"], event["event_action"], event["resource_type"]) == (
        "workflow", "search_completed", "workflow_catalog")
    assert event["resource_id"] == hashlib.sha256(
        f"{sig}-critical-deployment-production-P0".encode()).hexdigest()[:16]
    assert event["event_hash"]
    data = validate_event_data(event["event_data"])
    assert data["query"] == {"top_k": 5, "filters": query(sig)["filters"]}
    assert data["results"]["total_found"] == 2 and data["results"]["returned"] == 2
    assert [w["scoring"]["confidence"] for w in data["results"]["workflows"]] == [0.51, 0.49]
    assert data["search_metadata"]["embedding_dimensions"] == 768


def test_search_without_matches_is_200_and_audited_under_the_query_hash(client):
    sig = name("NONE")
    r = client.post("/api/v1/workflows/search", json=query(sig))
    assert r.status_code == 200
    assert r.json() == {"workflows": [], "total_results": 0,
                        "filters": {**query(sig)["filters"], "detected_labels": {}}}
    digest = hashlib.sha256(f"{sig}-critical-deployment-production-P0".encode()).hexdigest()[:16]
    [event] = eventually_events(client, digest, "workflow.catalog.search_completed")
    assert event["event_data"]["results"] == {"total_found": 0, "returned": 0, "workflows": []}


def test_search_top_k_total_and_min_score(client):
    sig = name("TOPK")
    for _ in range(3):
        create(client, body(name(), labels=labels(sig)))
    doc = client.post("/api/v1/workflows/search", json={**query(sig), "top_k": 1}).json()
    again = client.post("/api/v1/workflows/search", json={**query(sig), "top_k": 1}).json()
    assert len(doc["workflows"]) == 1 and doc["total_results"] == 3
    assert doc["workflows"][0]["workflow_id"] == again["workflows"][0]["workflow_id"]
    doc = client.post("/api/v1/workflows/search", json={**query(sig), "min_score": 0.51}).json()
    assert doc["workflows"] == [] and doc["total_results"] == 0
    doc = client.post("/api/v1/workflows/search", json={**query(sig), "min_score": 0.5}).json()
    assert doc["total_results"] == 3


def test_search_honours_status_and_workflow_name_filters(client):
    sig = name("ST")
    on = create(client, body(name(), labels=labels(sig)))
    off = create(client, body(name(), labels=labels(sig), status="disabled"))
    search = lambda **kw: {w["workflow_id"] for w in  # noqa: E731
                           client.post("/api/v1/workflows/search", json=kw).json()["workflows"]}
    assert search(**query(sig)) == {on["workflow_id"]}
    assert search(**query(sig), include_disabled=True) == {on["workflow_id"], off["workflow_id"]}
    assert search(**query(sig, status=["disabled"])) == {off["workflow_id"]}
    assert search(**query(sig, workflow_name=off["workflow_name"], status=["disabled"])) == {
        off["workflow_id"]}
    assert search(**query(sig, workflow_name=off["workflow_name"])) == set()


ODD = ['pay"ments', "back\\slash", "ünï€ødé ✓ 日本", "'); DROP TABLE remediation_workflow_catalog; --",
       "%s %(x)s $1 ?", "{\"json\": true}"]


def test_custom_labels_are_matched_literally(client):
    sig = name("ODD")
    wf = create(client, body(name(), labels=labels(sig), custom_labels={"kubernaut.io/team": ODD}))
    assert wf["custom_labels"] == {"kubernaut.io/team": ODD}
    doc = client.post("/api/v1/workflows/search",
                      json=query(sig, custom_labels={"kubernaut.io/team": ODD})).json()
    [hit] = doc["workflows"]
    assert hit["custom_labels"] == {"kubernaut.io/team": ODD}
    assert hit["label_boost"] == 0.3 and hit["final_score"] == 0.53
    assert doc["filters"]["custom_labels"] == {"kubernaut.io/team": ODD}
    for near in (['pay\\"ments'], ["back\\\\slash"], ["PAY\"MENTS"], ["ünïcode"]):
        doc = client.post("/api/v1/workflows/search",
                          json=query(sig, custom_labels={"kubernaut.io/team": near})).json()
        assert doc["workflows"][0]["label_boost"] == 0, near
    doc = client.post("/api/v1/workflows/search",
                      json=query(sig, custom_labels={"kubernaut.ioteam": ODD[:1]})).json()
    assert doc["workflows"][0]["label_boost"] == 0, "keys are not sanitised"
    ids = [w["workflow_id"] for w in client.get(
        "/api/v1/workflows", params={"custom_labels[kubernaut.io/team]": ODD[3]}).json()["workflows"]]
    assert ids == [wf["workflow_id"]]


def test_scores_stay_within_the_contract_bounds(client):
    sig = name("BOUND")
    values = [f"v{i}" for i in range(40)]
    create(client, body(name(), labels=labels(sig), custom_labels={"k": values},
                        detected_labels={"gitOpsManaged": True, "pdbProtected": True}))
    r = client.post("/api/v1/workflows/search",
                    json=query(sig, custom_labels={"k": values},
                               detected_labels={"gitOpsManaged": True, "pdbProtected": True}))
    doc = WorkflowSearchResponse.model_validate(r.json())
    [hit] = doc.workflows
    assert (hit.label_boost, hit.final_score) == (0.39, 0.539)
