"""Who is calling: `X-Auth-Request-User`, set by the oauth-proxy sidecar.

The header is believed only from a peer inside DS_TRUSTED_PROXIES (default:
loopback, where the sidecar runs). From anyone else it is ignored, so a
client cannot claim an identity by sending the header itself.
"""
from __future__ import annotations

import ipaddress

HEADER = "X-Auth-Request-User"


def peer_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The peer as an address; an IPv4-mapped IPv6 peer (`::ffff:127.0.0.1`,
    what a dual-stack socket reports for an IPv4 client) is the IPv4 address,
    so it matches IPv4 networks such as 127.0.0.1/32."""
    try:
        peer = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        return peer.ipv4_mapped
    return peer


def peer_trusted(request) -> bool:
    peer = peer_address(request.conn_info.client_ip if request.conn_info else "")
    if peer is None:
        return False
    return any(peer in net for net in request.app.ctx.settings.trusted_networks)


def effective_actor(user: str | None, claimed: str | None) -> tuple[str | None, str | None]:
    """(who acted, the differing claim or None): the authenticated user wins
    over a body-supplied name (created_by, disabled_by, ...); without one,
    the claim is all there is."""
    if user:
        return user, (claimed if claimed and claimed != user else None)
    return claimed, None


def user_of(request) -> str | None:
    """The authenticated user, or None when absent or not from a trusted proxy."""
    value = (request.headers.get(HEADER) or "").strip()
    if not value or not peer_trusted(request):
        return None
    return value
