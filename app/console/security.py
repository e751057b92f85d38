"""Console security: response headers and CSRF tokens.

CSRF uses a signed double submit: a random nonce lives in an HttpOnly,
SameSite=Strict cookie, and every state-changing form carries
HMAC(key, identity | nonce). A forged form from another site knows neither
the nonce nor the key, and a token minted for one identity is worthless to
another. The key is kept in the data directory so that every worker (and a
restart) agrees on it; if that directory cannot be written, each process
generates its own key (forms then survive only within that process).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("datastorage.console")

COOKIE = "ds_console_csrf"
FIELD = "csrf_token"
KEY_FILE = "console-csrf.key"
KEY_BYTES = 32

# No inline script or style anywhere: the pages load console.js and
# console.css from /console/static and draw charts as SVG markup.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class CsrfError(Exception):
    """The form did not come from a console page of this user."""


def load_key(data_dir: str) -> bytes:
    """The shared HMAC key from the data directory, created on first use."""
    path = Path(data_dir) / KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes()
            if len(key) >= KEY_BYTES:
                return key
            raise OSError(f"{path} is shorter than {KEY_BYTES} bytes") from None
        key = secrets.token_bytes(KEY_BYTES)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return key
    except OSError as exc:
        log.warning("console CSRF key not kept in %s (%s): using a per-process key", path, exc)
        return secrets.token_bytes(KEY_BYTES)


def new_nonce() -> str:
    return secrets.token_hex(16)


def token(key: bytes, user: str | None, nonce: str) -> str:
    message = f"console-csrf\x00{user or ''}\x00{nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def check(key: bytes, user: str | None, cookie_nonce: str | None, sent: str | None) -> None:
    if not cookie_nonce or not sent:
        raise CsrfError("the form has expired or did not come from this console")
    if not hmac.compare_digest(token(key, user, cookie_nonce), sent):
        raise CsrfError("the form token does not match this session and user")


def same_origin(request) -> bool:
    """A browser's Origin (else Referer) header, when sent, must name this host
    (as the proxy in front saw it, when it says so)."""
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    return referer is None or urlsplit(referer).netloc == host
