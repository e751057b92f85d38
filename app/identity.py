"""Who is calling: `X-Auth-Request-User`, set by the oauth-proxy sidecar.

The header is believed only from a peer inside DS_TRUSTED_PROXIES (default:
loopback, where the sidecar runs). From anyone else it is ignored, so a
client cannot claim an identity by sending the header itself.
"""
from __future__ import annotations

import ipaddress

HEADER = "X-Auth-Request-User"


def peer_trusted(request) -> bool:
    try:
        peer = ipaddress.ip_address(request.conn_info.client_ip if request.conn_info else "")
    except ValueError:
        return False
    return any(peer in net for net in request.app.ctx.settings.trusted_networks)


def user_of(request) -> str | None:
    """The authenticated user, or None when absent or not from a trusted proxy."""
    value = (request.headers.get(HEADER) or "").strip()
    if not value or not peer_trusted(request):
        return None
    return value
