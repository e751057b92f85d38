"""PII redaction for exports (`redact_pii=true`); the rules are in docs/export.md.

Applied after chain verification, to the copy that leaves the service: the
stored events are never touched. Every string anywhere inside event_data
(values, not member names) and the exporter's identity go through `mask()`:

  e-mail        user@mail.example.com -> u***@m***.e***.com
  payment card  13-19 digits passing the Luhn check -> ****-****-****-1234
  US SSN        123-45-6789           -> ***-**-****
  IPv4          192.168.1.1           -> 192.***.*.***
  IPv6          2001:db8::1           -> 2001:***
  phone         +1-555-123-4567       -> +1-***-****
                (555) 123-4567        -> ***-***-****

Members whose name says they hold personal data (e-mail, phone, IP, SSN,
card...) are masked even when their value matches no pattern: strings become
`***`, numbers become the string `***`.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

MASK = "***"

_EMAIL = re.compile(r"(?<![\w.%+-])([A-Za-z0-9._%+-]+)@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})(?![\w-])")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.])({_OCTET})\.{_OCTET}\.{_OCTET}\.{_OCTET}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_PHONE_INTL = re.compile(r"(?<![\w+])\+(\d{1,3})(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w-])")
_PHONE_NATIONAL = re.compile(r"(?<![\w+-])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])")

# Member names (compared lower-case, without "_" and "-") that hold PII.
SENSITIVE_KEYS = frozenset({
    "email", "useremail", "senderemail", "recipientemail", "emailaddress", "mail",
    "phone", "phonenumber", "mobile", "mobilenumber", "telephone",
    "ip", "ipaddress", "sourceip", "clientip", "remoteaddr", "remoteaddress", "actorip",
    "ssn", "socialsecuritynumber", "creditcard", "cardnumber", "ccnumber", "pan",
})


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _email(m: re.Match) -> str:
    labels = m.group(2).split(".")
    masked = [(label[:1] + MASK) if label else MASK for label in labels[:-1]]
    return m.group(1)[:1] + MASK + "@" + ".".join(masked + [labels[-1]])


def _card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group())
    return "****-****-****-" + digits[-4:] if _luhn_ok(digits) else m.group()


def _ipv6(m: re.Match) -> str:
    text = m.group()
    if not any(c.isdigit() for c in text):
        return text
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return text
    return text.split(":", 1)[0] + ":" + MASK


_PASSES = (
    (_EMAIL, _email),
    (_CARD, _card),
    (_SSN, lambda m: "***-**-****"),
    (_IPV4, lambda m: m.group(1) + ".***.*.***"),
    (_IPV6, _ipv6),
    (_PHONE_INTL, lambda m: "+" + m.group(1) + "-***-****"),
    (_PHONE_NATIONAL, lambda m: "***-***-****"),
)


def mask(text: str) -> str:
    """Every recognised piece of PII in `text` masked; other text unchanged."""
    for pattern, repl in _PASSES:
        text = pattern.sub(repl, text)
    return text


def _sensitive(key: str) -> bool:
    return key.lower().replace("_", "").replace("-", "") in SENSITIVE_KEYS


# Exported event members that are never redacted: identifiers, the chain and
# its verdict, timestamps, and the fixed vocabulary that classifies an event.
# correlation_id stays because it is the chain key (masking could merge two
# chains for a verifier) and the exporter chose it. Every other member --
# actor_id, actor_ip, resource_id, resource_name, namespace, cluster_name,
# error_code, error_message, trace_id, span_id, event_metadata, event_data,
# and any member added later -- goes through redact().
KEPT_MEMBERS = frozenset({
    "event_id", "parent_event_id", "chain_seq", "correlation_id", "event_timestamp",
    "event_date", "parent_event_date", "version", "event_type", "event_category",
    "event_action", "event_outcome", "actor_type", "resource_type", "severity",
    "duration_ms", "retention_days", "is_sensitive", "event_hash", "previous_event_hash",
    "hash_chain_valid", "chain_verdict", "legal_hold", "pii_redacted",
})


def redact_event(event: dict) -> dict:
    """A copy of one exported event (envelope and payload) with PII masked."""
    return {k: v if k in KEPT_MEMBERS else redact(v, _sensitive(k)) for k, v in event.items()}


def redact(value: Any, sensitive: bool = False) -> Any:
    """A copy of a parsed JSON value with PII masked (see the module doc)."""
    if isinstance(value, str):
        masked = mask(value)
        return MASK if sensitive and masked == value and value else masked
    if isinstance(value, dict):
        return {k: redact(v, sensitive or _sensitive(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, sensitive) for v in value]
    if sensitive and value is not None and not isinstance(value, bool):
        return MASK
    return value
