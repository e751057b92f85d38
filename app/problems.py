"""RFC 7807 problem documents, and the table that maps SQLSTATEs to them.

Convention for SQL functions (docs/sql-api.md): raise with one of our own
SQLSTATEs and put the client-facing sentence in MESSAGE; an optional HINT
names a more specific problem type slug (e.g. `missing-reason`).

    RAISE EXCEPTION USING ERRCODE = 'DS404', MESSAGE = 'No events found ...';
"""
from __future__ import annotations

import orjson
from sanic.response import HTTPResponse

from .logs import current_request_id

TYPE_BASE = "https://kubernaut.ai/problems/"
CONTENT_TYPE = "application/problem+json"

# SQLSTATE -> (status, type slug, title). Own codes first, then the standard
# ones a client can provoke.
SQLSTATE_PROBLEMS: dict[str, tuple[int, str, str]] = {
    "DS400": (400, "validation-error", "Validation Error"),
    "DS401": (401, "unauthorized", "Unauthorized"),
    "DS404": (404, "not-found", "Not Found"),
    "DS409": (409, "conflict", "Resource Conflict"),
    "DS413": (413, "payload-too-large", "Payload Too Large"),
    "23505": (409, "conflict", "Resource Conflict"),        # unique_violation
    "23503": (409, "conflict", "Resource Conflict"),        # held row / foreign key
    "23514": (400, "validation-error", "Validation Error"),  # check_violation
    "23502": (400, "validation-error", "Validation Error"),  # not_null_violation
    "22P02": (400, "validation-error", "Validation Error"),  # invalid text representation
    "22001": (400, "validation-error", "Validation Error"),  # string too long
    "22003": (400, "validation-error", "Validation Error"),  # numeric out of range
    "22007": (400, "validation-error", "Validation Error"),  # invalid datetime format
    "22008": (400, "validation-error", "Validation Error"),  # datetime out of range
    "22023": (400, "validation-error", "Validation Error"),  # invalid parameter value
    "22P05": (400, "validation-error", "Validation Error"),  # untranslatable character
    "42501": (403, "forbidden", "Forbidden"),               # insufficient privilege
}

# Titles for problem slugs used outside the SQLSTATE table.
TITLES = {
    "validation-error": "Validation Error",
    "invalid_request": "Invalid Request",
    "invalid-request": "Invalid Request",
    "not-found": "Not Found",
    "method-not-allowed": "Method Not Allowed",
    "payload-too-large": "Payload Too Large",
    "unsupported-media-type": "Unsupported Media Type",
    "internal-error": "Internal Server Error",
    "database-error": "Database Error",
    "database_error": "Database Error",
    "service-unavailable": "Service Unavailable",
    "unauthorized": "Unauthorized",
    "conflict": "Resource Conflict",
}


class Problem(Exception):
    """Raise anywhere in a handler; rendered as application/problem+json."""

    def __init__(self, status: int, slug: str, detail: str, *, title: str | None = None,
                 instance: str | None = None, **extensions):
        super().__init__(detail)
        self.status = status
        self.type = slug if slug == "about:blank" or "://" in slug else TYPE_BASE + slug
        self.title = title or TITLES.get(slug, "Error")
        self.detail = detail
        self.instance = instance
        self.extensions = extensions

    def body(self, path: str) -> dict:
        doc = {"type": self.type, "title": self.title, "status": self.status,
               "detail": self.detail, "instance": self.instance or path}
        doc.update(self.extensions)
        rid = current_request_id()
        if rid is not None:
            doc["request_id"] = rid  # the same id as the X-Request-ID header and the logs
        return doc


def render(problem: Problem, path: str, headers: dict | None = None) -> HTTPResponse:
    return HTTPResponse(orjson.dumps(problem.body(path)), status=problem.status,
                        headers=headers, content_type=CONTENT_TYPE)


def validation(detail: str, field_errors: dict | None = None, **ext) -> Problem:
    if field_errors is not None:
        ext["field_errors"] = field_errors
    return Problem(400, "validation-error", detail, **ext)


def from_database_error(exc) -> Problem | None:
    """Map an asyncpg PostgresError raised by our SQL to a problem, or None."""
    state = getattr(exc, "sqlstate", None)
    entry = SQLSTATE_PROBLEMS.get(state or "")
    if entry is None:
        return None
    status, slug, title = entry
    hint = getattr(exc, "hint", None)
    if state and state.startswith("DS") and hint:
        slug, title = hint, TITLES.get(hint, title)
    return Problem(status, slug, getattr(exc, "message", None) or str(exc), title=title)
