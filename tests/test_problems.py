"""The one error path: every refusal SQL raises names a problem of the one
table in app/problems.py, and no route talks to the driver itself."""
from __future__ import annotations

import re

import pytest

from app.db import DatabaseError
from app.problems import PROBLEMS, from_database_error, key_of
from harness import ROOT

SQL_FILES = sorted((ROOT / "sql").rglob("*.sql"))
# One RAISE statement: from RAISE to the semicolon that ends it (string
# literals may hold semicolons, so they are skipped as a whole).
RAISE = re.compile(r"\bRAISE\b(?:'(?:[^']|'')*'|[^;'])*;", re.IGNORECASE)
OPTION = re.compile(r"\b(ERRCODE|HINT)\s*=\s*'([^']*)'", re.IGNORECASE)


def raises() -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for path in SQL_FILES:
        if path.parent.name == "schema":
            continue
        for m in RAISE.finditer(path.read_text()):
            options = {k.upper(): v for k, v in OPTION.findall(m.group(0))}
            found.append((path.name, m.group(0), options))
    return found


def test_the_sql_files_raise_with_hints():
    hinted = [r for r in raises() if "HINT" in r[2]]
    assert len(hinted) >= 10, hinted


@pytest.mark.parametrize("file, statement, options",
                         [r for r in raises() if r[2].get("ERRCODE", "").startswith("DS")
                          or "HINT" in r[2]])
def test_every_sql_refusal_maps_through_the_one_table(file, statement, options):
    state = options.get("ERRCODE", "P0001")
    error = DatabaseError(state, "refused", hint=options.get("HINT"))
    key = key_of(error)
    assert key is not None, f"{file}: {statement} maps to no problem"
    hint = options.get("HINT", "")
    if hint and not re.search(r"\s", hint):   # a prose HINT is for psql users, not a key
        assert key == hint, f"{file}: HINT {hint!r} is not in PROBLEMS"
    if state.startswith("DS"):
        assert PROBLEMS[key][0] == int(state[2:]), (
            f"{file}: {state} but problem {key!r} has status {PROBLEMS[key][0]}")


def test_detail_json_becomes_extension_members_in_order():
    error = DatabaseError("23505", "Resource x already exists", hint="notification-exists",
                          detail='{"instance": "/audit/x", "resource": "x", "field": "id", '
                                 '"value": "7"}')
    problem = from_database_error(error)
    body = problem.body("/api/v1/audit/notifications")
    assert list(body) == ["type", "title", "status", "detail", "instance", "resource", "field",
                          "value"]
    assert body["instance"] == "/audit/x" and body["status"] == 409
    assert body["type"].endswith("/conflict") and body["title"] == "Resource Conflict"


def test_postgres_own_detail_text_is_not_an_extension():
    error = DatabaseError("23505", "duplicate key", detail="Key (id)=(7) already exists.")
    assert from_database_error(error).body("/p") == {
        "type": "https://kubernaut.ai/problems/conflict", "title": "Resource Conflict",
        "status": 409, "detail": "duplicate key", "instance": "/p"}


@pytest.mark.parametrize("state", ["22021", "22P02", "22008", "22003", "22000"])
def test_data_exceptions_are_validation_errors(state):
    assert from_database_error(DatabaseError(state, "bad")).status == 400


def test_unknown_refusals_are_not_guessed():
    assert from_database_error(DatabaseError("XX000", "internal")) is None


def test_no_route_imports_the_driver():
    for path in sorted((ROOT / "app" / "routes").glob("*.py")):
        text = path.read_text()
        assert "asyncpg" not in text, path.name
        assert ".message" not in text and "sqlstate" not in text, path.name


@pytest.mark.parametrize("message, unavailable", [
    # A Citus coordinator that cannot reach a worker: the database is not
    # there right now (spool), not a refusal of the input.
    ("failure on connection marked as essential: 127.0.0.1:9701", True),
    ("connection to the remote node postgres@10.0.0.2:5432 failed with the following error: x", True),
    # Any other internal error stays one (a 500, logged).
    ("executor could not find named tuplestore \"new_rows\"", False),
])
def test_a_citus_node_down_is_the_database_unavailable(message, unavailable):
    import asyncpg
    from app.db import is_unavailable
    exc = asyncpg.exceptions.InternalServerError.new({"M": message, "C": "XX000", "S": "ERROR"})
    assert is_unavailable(exc) is unavailable
