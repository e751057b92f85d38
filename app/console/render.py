"""Jinja2 rendering for the console: one environment (autoescape on for every
template), and the page response that carries identity and the CSRF token."""
from __future__ import annotations

from pathlib import Path

import jinja2
from sanic.response import HTTPResponse

from ..identity import user_of
from . import security, views

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
HTML = "text/html; charset=utf-8"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    # Every template is HTML: escape every value, whatever the file name.
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(url=views.url, verdict_badge=views.verdict_badge,
                   verdict_message=views.verdict_message)
env.filters.update(duration=views.duration_text, ts=views.timestamp_text, bytes=views.bytes_text)


def page(request, template: str, status: int = 200, **context) -> HTTPResponse:
    """Render `template` for this request: who is signed in, the CSRF token
    for its forms (a new cookie nonce when the browser has none yet)."""
    key = request.app.ctx.console_key
    user = user_of(request)
    nonce = request.cookies.get(security.COOKIE)
    fresh = not nonce
    if fresh:
        nonce = security.new_nonce()
    html = env.get_template(template).render(
        user=user, csrf_field=security.FIELD, csrf_token=security.token(key, user, nonce),
        path=request.path, **context)
    response = HTTPResponse(html, status=status, content_type=HTML)
    if fresh:
        response.add_cookie(security.COOKIE, nonce, path="/console", httponly=True,
                            samesite="Strict", secure=False)
    return response


def fragment(template: str, headers: dict[str, str], **context) -> HTTPResponse:
    """A piece of a page (no layout), for the trail's "load more"."""
    return HTTPResponse(env.get_template(template).render(**context), headers=headers,
                        content_type=HTML)
