"""No client input gets a 5xx (issue 12 §3). First each input the security
review found, as it was sent; then hypothesis puts hostile values (NUL,
thousands of digits, numbers beyond 64 bits, extreme dates with offsets,
deep nesting) into every parameter of every route: query, path and body
members. tests/api/test_contract_fuzz.py runs schemathesis on top."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.audit import AuditEventsQuery
from app.models.export import ExportQuery
from app.models.tlog import ConsistencyQuery, InclusionQuery
from app.models.workflows import WorkflowListQuery
from app.validation import MAX_JSON_DEPTH
from tests.api.test_audit_events import gateway_event, notification
from tests.api.test_foundation import assert_problem
from tests.api.test_workflows import body as workflow_body
from tests.api.test_workflows import query as search_query
from harness import unique

USER = {"X-Auth-Request-User": "fuzzer@example.com"}
NIL = str(uuid.UUID(int=0))


def nested(depth: int, leaf=1):
    value = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


# --- the reported cases, each once ------------------------------------------

def _deep_event():
    ev = gateway_event(unique("rr"))
    ev["event_data"]["deep"] = nested(300)
    return ev


def _deep_workflow():
    doc = workflow_body(f"wf-{uuid.uuid4().hex[:8]}")
    doc["parameters"] = nested(400)
    return doc


REPORTED = {
    "event_data nested 300 deep": ("POST", "/api/v1/audit/events", {}, _deep_event),
    "workflow body nested 400 deep": ("POST", "/api/v1/workflows", {}, _deep_workflow),
    "NUL in a query parameter": ("GET", "/api/v1/audit/events?event_type=a%00b", {}, None),
    "NUL in a hold reason": ("POST", "/api/v1/audit/legal-hold", USER,
                             lambda: {"correlation_id": unique("rr"), "reason": "x\x00y"}),
    "limit of 5,000 digits": ("GET", "/api/v1/audit/events?limit=" + "9" * 5000, {}, None),
    "offset of 5,000 digits": ("GET", "/api/v1/workflows?offset=" + "9" * 5000, {}, None),
    "export limit of 5,000 digits, no identity": ("GET", "/api/v1/audit/export?limit=" + "9" * 5000,
                                                  {}, None),
    "since in year 0 once in UTC": ("GET", "/api/v1/audit/events?since=0001-01-01T00:00:00%2B23:59",
                                    {}, None),
    "until in year 10000 once in UTC": (
        "GET", "/api/v1/audit/events?until=9999-12-31T23:59:59-23:59", {}, None),
    "NUL in the export's correlation_id": ("GET", "/api/v1/audit/export?correlation_id=a%00", USER,
                                           None),
}


@pytest.mark.parametrize("case", sorted(REPORTED))
def test_reported_input_is_a_400_problem(client, case):
    method, path, headers, make = REPORTED[case]
    resp = client.request(method, path, headers=headers, json=make() if make else None)
    assert_problem(resp, 400)


def test_nesting_up_to_the_limit_is_accepted(client):
    ev = gateway_event(unique("rr"))
    ev["event_data"]["deep"] = nested(MAX_JSON_DEPTH - 3)
    assert client.post("/api/v1/audit/events", json=ev).status_code == 201


# --- every parameter of every route ----------------------------------------

def _wid() -> str:
    return str(uuid.uuid4())


# (method, path with {param}, headers, baseline body or None). Path parameters
# take `{...}` names; every member of a baseline body is a target too.
OPERATIONS = {
    "event": ("POST", "/api/v1/audit/events", {}, lambda: gateway_event(unique("rr"))),
    "batch": ("POST", "/api/v1/audit/events/batch", {}, lambda: [gateway_event(unique("rr"))]),
    "query": ("GET", "/api/v1/audit/events", {}, None),
    "notification": ("POST", "/api/v1/audit/notifications", {}, notification),
    "hold": ("POST", "/api/v1/audit/legal-hold", USER,
             lambda: {"correlation_id": unique("rr"), "reason": "case 1"}),
    "holds": ("GET", "/api/v1/audit/legal-hold", USER, None),
    "release": ("DELETE", "/api/v1/audit/legal-hold/{correlation_id}", USER,
                lambda: {"release_reason": "closed"}),
    "export": ("GET", "/api/v1/audit/export", USER, None),
    "certificate": ("GET", "/api/v1/audit/export/certificate", {}, None),
    "verify": ("POST", "/api/v1/audit/verify-chain", {}, lambda: {"correlation_id": unique("rr")}),
    "reconstruct": ("POST", "/api/v1/audit/remediation-requests/{correlation_id}/reconstruct", {},
                    None),
    "create workflow": ("POST", "/api/v1/workflows", USER,
                        lambda: workflow_body(f"wf-{uuid.uuid4().hex[:8]}")),
    "list workflows": ("GET", "/api/v1/workflows", {}, None),
    "get workflow": ("GET", "/api/v1/workflows/{workflow_id}", {}, None),
    "patch workflow": ("PATCH", "/api/v1/workflows/{workflow_id}", USER,
                       lambda: {"status": "disabled", "disabled_reason": "x"}),
    "disable workflow": ("PATCH", "/api/v1/workflows/{workflow_id}/disable", USER,
                         lambda: {"reason": "x"}),
    "versions": ("GET", "/api/v1/workflows/by-name/{workflow_name}/versions", {}, None),
    "search": ("POST", "/api/v1/workflows/search", {}, lambda: search_query("OOMKilled")),
    "log checkpoint": ("GET", "/api/v1/audit/log/checkpoint", {}, None),
    "log key": ("GET", "/api/v1/audit/log/key", {}, None),
    "inclusion proof": ("GET", "/api/v1/audit/log/proof/inclusion", {}, None),
    "consistency proof": ("GET", "/api/v1/audit/log/proof/consistency", {}, None),
    "log tile": ("GET", "/api/v1/audit/log/tile/{path}", {}, None),
}
QUERIES = {"query": AuditEventsQuery, "export": ExportQuery, "list workflows": WorkflowListQuery,
           "inclusion proof": InclusionQuery, "consistency proof": ConsistencyQuery}
PATH_DEFAULTS = {"correlation_id": lambda: unique("rr"), "workflow_id": _wid,
                 "workflow_name": lambda: "wf-none", "path": lambda: "0/000.p/1"}


def targets() -> list[tuple[str, str, str]]:
    out = []
    for op, (_, path, _, make) in OPERATIONS.items():
        out += [(op, "path", p.strip("{}")) for p in path.split("/") if p.startswith("{")]
        out += [(op, "query", name) for name in (QUERIES[op].model_fields if op in QUERIES else ())]
        if make is not None:
            doc = make()
            doc = doc[0] if isinstance(doc, list) else doc
            out += [(op, "body", name) for name in doc]
            out += [(op, "body", f"{name}.{inner}") for name, value in doc.items()
                    if isinstance(value, dict) for inner in value]
            out.append((op, "body", ""))       # the whole body
    return out


STRING = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
HOSTILE_TEXT = st.one_of(
    st.builds(lambda a, b: a + "\x00" + b, STRING, STRING),
    st.integers(20, 6000).map(lambda n: "9" * n),
    st.integers(20, 6000).map(lambda n: "-" + "1" * n),
    st.builds(lambda y, off: f"{y:04d}-12-31T23:59:59{off}",
              st.sampled_from([1, 2, 1969, 9998, 9999]),
              st.sampled_from(["+23:59", "-23:59", "Z", "+00:00", ""])),
    st.sampled_from(["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "0000-01-01",
                     "9999999999999h", "-9999999999h", "1e400", "NaN", "", " "]),
)
HOSTILE_JSON = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from([2**63, -2**63 - 1, 10**30, 1e308, -1e308, 0.1, True, None]),
    st.integers(MAX_JSON_DEPTH - 2, 500).map(nested),
    st.integers(MAX_JSON_DEPTH - 2, 300).map(lambda n: nested(n, "x\x00")),
)


def _request(op: str, where: str, name: str, value):
    method, path, headers, make = OPERATIONS[op]
    params = {}
    for p in [p.strip("{}") for p in path.split("/") if p.startswith("{")]:
        raw = value if where == "path" and p == name else PATH_DEFAULTS[p]()
        path = path.replace("{" + p + "}", str(raw).replace("/", "%2F").replace("?", "%3F")
                            .replace("#", "%23").replace("\x00", "%00"))
    if where == "query":
        params[name] = value
    doc = make() if make is not None else None
    if where == "body":
        target = doc[0] if isinstance(doc, list) else doc
        if name == "":
            doc = value
        elif "." in name:
            outer, inner = name.split(".", 1)
            target[outer][inner] = value
        else:
            target[name] = value
    return method, path, headers, params, doc


@pytest.mark.parametrize("op, where, name", targets())
def test_no_5xx_from_any_parameter(client, op, where, name):
    values = HOSTILE_TEXT if where in ("query", "path") else HOSTILE_JSON

    @settings(max_examples=6, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(value=values)
    def check(value):
        method, path, headers, params, doc = _request(op, where, name, value)
        resp = client.request(method, path, headers=headers, params=params,
                              json=doc if doc is not None or where == "body" else None)
        assert resp.status_code < 500, (method, path, params, resp.text[:500])
        if resp.status_code >= 400:
            assert resp.headers["content-type"] == "application/problem+json", resp.text[:200]

    check()


def test_every_route_is_fuzzed(client):
    """A new endpoint must join OPERATIONS (and its query model QUERIES)."""
    doc = client.get("/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops
                  if p.startswith("/api/")}
    fuzzed = {(m, p) for m, p, _, _ in OPERATIONS.values()}
    assert documented - fuzzed == set()
