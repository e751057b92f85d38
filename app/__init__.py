"""datastorage: an audit-trail service.

The HTTP server is wired in app/server.py (`create_app`). Importing the
package loads nothing of it, so `datastorage verify` runs without Sanic,
asyncpg or prometheus (tests/test_layers.py)."""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name in ("create_app", "ProblemErrorHandler"):
        from . import server
        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
