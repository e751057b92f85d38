"""RFC 7807 problem documents, and THE table of problems.

Every problem the service can answer with has one row in `PROBLEMS`, keyed
by a short name: its HTTP status, its `type` slug and its title. The same
keys serve both sides of the service:

* Python raises `problem(key, detail, **extensions)`;
* SQL raises with HINT = the key and, optionally, DETAIL = a JSON object
  whose members become extension members of the problem (PostgREST style):

      RAISE EXCEPTION 'No legal hold found for correlation_id: %', cid
          USING ERRCODE = 'DS404', HINT = 'legal-hold-not-found';

  `app/db.py` turns every refusal into one `DatabaseError`;
  `from_database_error` looks the HINT up here, then the SQLSTATE, then its
  class (two characters), so standard errors (unique violation, data
  exceptions) map without a HINT. DSnnn SQLSTATEs carry the status in their
  digits; tests/test_problems.py holds every HINT in sql/ against this table.
"""
from __future__ import annotations

from http import HTTPStatus

from .logs import current_request_id

TYPE_BASE = "https://kubernaut.ai/problems/"
CONTENT_TYPE = "application/problem+json"

# key -> (status, type slug, title). A key is what SQL names in HINT and
# Python in problem(); most keys are their own type slug, a few name a
# variant of a type with the original service's title for it.
PROBLEMS: dict[str, tuple[int, str, str]] = {
    # generic
    "validation-error": (400, "validation-error", "Validation Error"),
    "bad-request": (400, "bad-request", "Bad Request"),
    "invalid_request": (400, "invalid_request", "Invalid Request"),
    "unauthorized": (401, "unauthorized", "Unauthorized"),
    "forbidden": (403, "forbidden", "Forbidden"),
    "not-found": (404, "not-found", "Not Found"),
    "method-not-allowed": (405, "method-not-allowed", "Method Not Allowed"),
    "conflict": (409, "conflict", "Resource Conflict"),
    "payload-too-large": (413, "payload-too-large", "Payload Too Large"),
    "unsupported-media-type": (415, "unsupported-media-type", "Unsupported Media Type"),
    "internal-error": (500, "internal-error", "Internal Server Error"),
    "database-error": (500, "database-error", "Database Error"),
    "database_error": (500, "database_error", "Database Error"),
    "service-unavailable": (503, "service-unavailable", "Service Unavailable"),
    # audit events, notifications
    "notification-exists": (409, "conflict", "Resource Conflict"),
    # legal hold
    "missing-correlation-id": (400, "missing-correlation-id", "Missing Correlation ID"),
    "missing-reason": (400, "missing-reason", "Missing Reason"),
    "missing-release-reason": (400, "missing-release-reason", "Missing Release Reason"),
    "correlation-id-not-found": (404, "not-found", "Not Found"),
    "legal-hold-not-found": (404, "not-found", "Not Found"),
    # export (the original answers these with about:blank)
    "export-invalid": (400, "about:blank", "Validation Error"),
    "export-unauthorized": (401, "about:blank", "Unauthorized"),
    "export-failed": (500, "about:blank", "Export Failed"),
    # workflow catalog
    "workflow-exists": (409, "conflict", "Workflow Already Exists"),
    "workflow-not-found": (404, "not-found", "Not Found"),
    "immutable-field-violation": (400, "immutable-field-violation", "Bad Request"),
    # reconstruction (spec §8.2 titles)
    "audit/correlation-not-found": (404, "audit/correlation-not-found", "Audit Events Not Found"),
    "reconstruction/no-parseable-events": (400, "reconstruction/no-parseable-events",
                                           "Reconstruction Failed"),
    "reconstruction/missing-gateway-event": (400, "reconstruction/missing-gateway-event",
                                             "Reconstruction Failed"),
    "reconstruction/invalid-duration": (400, "reconstruction/invalid-duration",
                                        "Reconstruction Failed"),
    "reconstruction/incomplete-data": (400, "reconstruction/incomplete-data",
                                       "Incomplete Reconstruction"),
    "reconstruction/query-failed": (500, "reconstruction/query-failed",
                                    "Reconstruction Query Failed"),
    "reconstruction/yaml-marshal-failed": (500, "reconstruction/yaml-marshal-failed",
                                           "YAML Marshaling Failed"),
    # refusals without a HINT: our own SQLSTATEs, then standard ones a
    # client can provoke, then whole SQLSTATE classes
    "DS400": (400, "validation-error", "Validation Error"),
    "DS401": (401, "unauthorized", "Unauthorized"),
    "DS404": (404, "not-found", "Not Found"),
    "DS409": (409, "conflict", "Resource Conflict"),
    "DS413": (413, "payload-too-large", "Payload Too Large"),
    "23505": (409, "conflict", "Resource Conflict"),         # unique_violation
    "23503": (409, "conflict", "Resource Conflict"),         # held row / foreign key
    "23514": (400, "validation-error", "Validation Error"),  # check_violation
    "23502": (400, "validation-error", "Validation Error"),  # not_null_violation
    "42501": (403, "forbidden", "Forbidden"),                # insufficient_privilege
    "22": (400, "validation-error", "Validation Error"),     # class 22: data exception
}


class Problem(Exception):
    """Raise anywhere in a handler; rendered as application/problem+json."""

    def __init__(self, status: int, slug: str, detail: str, *, title: str | None = None,
                 instance: str | None = None, **extensions):
        super().__init__(detail)
        self.status = status
        self.type = slug if slug == "about:blank" or "://" in slug else TYPE_BASE + slug
        self.title = title or PROBLEMS.get(slug, (0, "", "Error"))[2]
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


def problem(key: str, detail: str, **extensions) -> Problem:
    """The problem `key` of PROBLEMS, with its status, type and title."""
    status, slug, title = PROBLEMS[key]
    return Problem(status, slug, detail, title=title, **extensions)


def for_status(status: int, detail: str | None = None) -> Problem:
    """A framework error (404 route, 405, 413 body...) by HTTP status."""
    slug = {400: "validation-error", 404: "not-found", 405: "method-not-allowed",
            413: "payload-too-large", 415: "unsupported-media-type",
            503: "service-unavailable"}.get(status, "bad-request")
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return Problem(status, slug, detail or slug.replace("-", " "), title=title)


def validation(detail: str, field_errors: dict | None = None, **ext) -> Problem:
    if field_errors is not None:
        ext["field_errors"] = field_errors
    return problem("validation-error", detail, **ext)


def key_of(error) -> str | None:
    """The PROBLEMS key of a DatabaseError: its HINT, SQLSTATE or class."""
    for key in (error.hint, error.sqlstate, error.sqlstate[:2]):
        if key and key in PROBLEMS:
            return key
    return None


def from_database_error(error, fallback: Problem | None = None) -> Problem | None:
    """The problem for a refusal (app.db.DatabaseError); DETAIL members (a
    JSON object) become extensions, `instance` included. `fallback` (None:
    an internal error, logged by the error handler) when the refusal is not
    in the table."""
    key = key_of(error)
    if key is None:
        return fallback
    extensions = dict(error.extensions)
    instance = extensions.pop("instance", None)
    status, slug, title = PROBLEMS[key]
    return Problem(status, slug, error.message, title=title, instance=instance, **extensions)
