"""The audit console: server-rendered pages at /console/ (docs/console.md).

    routes.py        pages and the two actions (export, legal hold)
    views.py         form parsing, chart geometry, pagers, badges (no I/O)
    render.py        the Jinja2 environment and the page response
    security.py      CSP and other headers, CSRF tokens
    transparency.py  the hook for the transparency log (not there yet)
"""
from __future__ import annotations


def attach(app) -> None:
    """Register the console on the app (called once from create_app)."""
    from .routes import bp
    from .security import load_key

    app.ctx.console_key = load_key(app.ctx.settings.data_dir)
    app.blueprint(bp)
