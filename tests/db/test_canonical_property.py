"""Rule: app/canonical.py (the offline verifier's canonical forms and hash)
computes, byte for byte, what the database computes: for random events
(unicode everywhere, numbers of every shape written as raw JSON text, nested
objects and arrays, timestamps with offsets, NULLs), stored through
datastorage.append_audit_events (which writes hash version 2),
  * Python's version-2 text from the values we sent == datastorage.canonical_event(row),
  * Python's version-1 text == the version-1 SQL text ('{' || canonical_members || '}'),
    which equals the jsonb_build_object() reference it replaced,
  * Python's hash == the stored event_hash (chained over several events),
  * the same from the exported event (datastorage.export_event_json, parsed
    with exact decimals, carrying its hash_version), which is the verifier's path.
The session runs with odd TimeZone, DateStyle, IntervalStyle and
extra_float_digits: the SQL texts must not depend on them (Python's don't).
"""
from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import canonical

REFERENCE = """
CREATE OR REPLACE FUNCTION pg_temp.reference_canonical(e public.audit_events) RETURNS text
LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'event_id', e.event_id::text, 'chain_seq', e.chain_seq, 'correlation_id', e.correlation_id,
        'event_timestamp', datastorage.rfc3339_micro(e.event_timestamp),
        'event_date', to_char(e.event_date, 'YYYY-MM-DD'), 'version', e.event_version,
        'event_type', e.event_type, 'event_category', e.event_category,
        'event_action', e.event_action, 'event_outcome', e.event_outcome,
        'actor_type', e.actor_type, 'actor_id', e.actor_id, 'actor_ip', host(e.actor_ip),
        'resource_type', e.resource_type, 'resource_id', e.resource_id,
        'resource_name', e.resource_name, 'parent_event_id', e.parent_event_id::text,
        'parent_event_date', to_char(e.parent_event_date, 'YYYY-MM-DD'), 'trace_id', e.trace_id,
        'span_id', e.span_id, 'namespace', e.namespace, 'cluster_name', e.cluster_name,
        'severity', e.severity, 'duration_ms', e.duration_ms, 'error_code', e.error_code,
        'error_message', e.error_message, 'retention_days', e.retention_days,
        'is_sensitive', e.is_sensitive, 'event_metadata', e.event_metadata,
        'event_data', e.event_data)::text
$$"""

READ_BACK = """
SELECT e.chain_seq, e.event_id::text, e.previous_event_hash, e.event_hash, e.hash_version,
       datastorage.canonical_event(e), '{' || datastorage.canonical_members(e) || '}',
       pg_temp.reference_canonical(e),
       datastorage.export_event_json(datastorage.canonical_members(e), e.event_hash,
                                     e.previous_event_hash, 'ok', e.legal_hold, e.hash_version)
FROM audit_events e WHERE e.correlation_id = %s ORDER BY e.chain_seq"""

# Settings a session may have that change how PostgreSQL prints dates,
# times and floats; the canonical forms must not see them.
ODD_SETTINGS = ("SET TimeZone = 'Pacific/Chatham'", "SET DateStyle = 'SQL, DMY'",
                "SET IntervalStyle = 'sql_standard'", "SET extra_float_digits = -15",
                "SET lc_numeric = 'C.utf8'", "SET lc_time = 'C.utf8'")


class Num(str):
    """A JSON number literal, sent to PostgreSQL as written."""


def dump(v) -> str:
    """JSON text that keeps Num literals verbatim."""
    if isinstance(v, Num):
        return str(v)
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return json.dumps(v)


def expected(v):
    """The value the JSON text means, with exact numbers."""
    if isinstance(v, Num):
        return canonical.loads_exact(str(v))
    if isinstance(v, dict):
        return {k: expected(x) for k, x in v.items()}
    if isinstance(v, list):
        return [expected(x) for x in v]
    return v


# Text: any Unicode scalar value but NUL (PostgreSQL text cannot hold it):
# controls, quotes, backslashes, non-BMP characters, U+2028...
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
digits = st.text("0123456789", min_size=1, max_size=25)
number = st.one_of(
    st.integers(-10**40, 10**40).map(lambda i: Num(str(i))),
    st.builds(lambda sign, i, frac, exp: Num(f"{sign}{i}{'.' + frac if frac else ''}{exp}"),
              st.sampled_from(["", "-"]),
              digits.map(lambda d: d.lstrip("0") or "0"),
              st.one_of(st.just(""), digits),
              st.one_of(st.just(""), st.builds(lambda e, n: f"{e}{n}",
                                                st.sampled_from(["e", "E", "e+", "e-", "E-"]),
                                                st.integers(0, 60)))),
    st.sampled_from([Num(x) for x in ("0", "-0", "-0.0", "0.000", "1.50", "1e3", "1E-7", "0e5",
                                      "3.0000000000000004", "1e300", "-1.5e+2", "123.456e-2")]),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Num(json.dumps(f))),
)
scalar = st.one_of(st.none(), st.booleans(), text, number)
json_value = st.recursive(scalar, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(text, kids, max_size=4)), max_leaves=16)
json_object = st.dictionaries(text, json_value, max_size=6)

offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
timestamps = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                          timezones=offsets)
# IPv6 with a non-zero first group: PostgreSQL and Python agree on its
# text (they differ on IPv4-mapped/compatible forms, which host() prints dotted).
ipv6 = st.integers(1 << 112, (1 << 128) - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
ipv4 = st.integers(0, (1 << 32) - 1).map(lambda n: str(ipaddress.IPv4Address(n)))


def short(n: int):
    return st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                   min_size=0, max_size=n)


event_values = st.fixed_dictionaries({
    "event_timestamp": timestamps,
    "event_version": short(20),
    "event_type": short(30), "event_category": short(30), "event_action": short(30),
    "event_outcome": short(20), "actor_type": short(30), "actor_id": short(40),
    "actor_ip": st.one_of(st.none(), ipv4, ipv6),
    "resource_type": short(30), "resource_id": short(40),
    "resource_name": st.one_of(st.none(), short(40)),
    "parent_event_date": st.one_of(st.none(), st.dates(date(1, 1, 1), date(9999, 12, 31))),
    "trace_id": st.one_of(st.none(), short(30)), "span_id": st.one_of(st.none(), short(30)),
    "namespace": st.one_of(st.none(), short(30)), "cluster_name": st.one_of(st.none(), short(30)),
    "severity": st.one_of(st.none(), short(20)),
    "duration_ms": st.one_of(st.none(), st.integers(-2**31, 2**31 - 1)),
    "error_code": st.one_of(st.none(), short(40)), "error_message": st.one_of(st.none(), text),
    "retention_days": st.integers(-2**31, 2**31 - 1),
    "is_sensitive": st.booleans(),
    "event_metadata": st.one_of(st.none(), json_value),
    "event_data": json_object,
    "parent": st.booleans(),
})


def row_json(cid: str, ev: dict, event_id: str, parent: str | None) -> str:
    """One element of append_audit_events' array, numbers as written."""
    members = {k: v for k, v in ev.items() if k not in ("event_data", "event_metadata", "parent")}
    members.update(event_id=event_id, correlation_id=cid,
                   event_timestamp=ev["event_timestamp"].isoformat(),
                   parent_event_date=(ev["parent_event_date"].isoformat()
                                      if ev["parent_event_date"] else None),
                   parent_event_id=parent)
    body = json.dumps(members)[:-1]
    return (body + ', "event_data": ' + dump(ev["event_data"])
            + ', "event_metadata": ' + dump(ev["event_metadata"]) + "}")


def python_members(cid: str, seq: int, ev: dict, event_id: str, parent: str | None) -> dict:
    """The canonical members computed from what we sent (no database)."""
    ts = ev["event_timestamp"]
    return {
        "event_id": event_id, "chain_seq": seq, "correlation_id": cid,
        "event_timestamp": ts,                      # converted to UTC by canonical
        "event_date": ts.astimezone(timezone.utc).date(),
        "version": ev["event_version"], "event_type": ev["event_type"],
        "event_category": ev["event_category"], "event_action": ev["event_action"],
        "event_outcome": ev["event_outcome"], "actor_type": ev["actor_type"],
        "actor_id": ev["actor_id"], "actor_ip": ev["actor_ip"],
        "resource_type": ev["resource_type"], "resource_id": ev["resource_id"],
        "resource_name": ev["resource_name"], "parent_event_id": parent,
        "parent_event_date": ev["parent_event_date"], "trace_id": ev["trace_id"],
        "span_id": ev["span_id"], "namespace": ev["namespace"],
        "cluster_name": ev["cluster_name"], "severity": ev["severity"],
        "duration_ms": ev["duration_ms"], "error_code": ev["error_code"],
        "error_message": ev["error_message"], "retention_days": ev["retention_days"],
        "is_sensitive": ev["is_sensitive"], "event_metadata": expected(ev["event_metadata"]),
        "event_data": expected(ev["event_data"]),
    }


@pytest.fixture
def pg(conn):
    conn.execute(REFERENCE)
    for setting in ODD_SETTINGS:
        conn.execute(setting)
    return conn


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(chain=st.lists(event_values, min_size=1, max_size=3))
def test_python_and_sql_compute_the_same_canonical_text_and_hashes(pg, chain):
    cid = f"prop-{uuid.uuid4()}"
    ids = [str(uuid.uuid4()) for _ in chain]
    parents = [ids[i - 1] if i and ev["parent"] else None for i, ev in enumerate(chain)]
    payload = "[" + ",".join(row_json(cid, ev, ids[i], parents[i]) for i, ev in enumerate(chain)) + "]"
    assert pg.execute("SELECT datastorage.append_audit_events(%s::jsonb)", (payload,)).fetchone()[0] == len(chain)
    rows = pg.execute(READ_BACK, (cid,)).fetchall()
    assert [r[0] for r in rows] == list(range(1, len(chain) + 1))
    previous = ""
    for (seq, event_id, prev_hash, stored_hash, version, sql_text, sql_v1, reference,
         exported), ev, parent in zip(rows, chain, parents):
        members = python_members(cid, seq, ev, event_id, parent)
        assert version == 2
        assert sql_v1 == reference, "version 1 drifted from the jsonb_build_object form"
        assert canonical.canonical_event(members, 1) == sql_v1
        assert canonical.canonical_event(members, 2) == sql_text
        assert prev_hash == previous
        assert canonical.event_hash(previous, members, 2) == stored_hash
        assert canonical.event_hash(previous, members, 1) != stored_hash
        # The verifier's path: the exported event, parsed with exact numbers.
        parsed = canonical.loads_exact(exported)
        assert parsed["hash_version"] == 2
        assert canonical.canonical_event(parsed, 2) == sql_text
        assert canonical.event_hash(parsed["previous_event_hash"], parsed) == stored_hash
        previous = stored_hash


NUMBERS = ["0", "-0", "-0.0", "0.000", "1.50", "1e3", "1E-7", "0e5", "1.23e-5", "-1.5e+2",
           "123456789012345678901234567890.123456789", "3.0000000000000004", "1e300", "5e-324",
           "1.7976931348623157e308", "100.00e-2", "9" * 60]


def test_numbers_keep_their_decimal_text(pg):
    """Each literal renders as PostgreSQL's numeric output, in Python and SQL alike."""
    data = "{" + ",".join(f'"n{i}": {n}' for i, n in enumerate(NUMBERS)) + "}"
    sql = pg.execute("SELECT (%s::jsonb)::text", (data,)).fetchone()[0]
    assert canonical.render(canonical.loads_exact(data)) == sql
    assert '"n4": 1.50' in sql and '"n5": 1000' in sql and '"n1": 0,' in sql and '"n2": 0.0' in sql


def test_strings_escape_like_postgres(pg):
    samples = ["plain", 'quote " backslash \\ slash /', "\b\f\n\r\t\x01\x1f\x7f", "é ü 漢字 🙂",
               "\u2028\u2029 <>&", "\U0010ffff"]
    for s in samples:
        sql = pg.execute("SELECT to_jsonb(%s::text)::text", (s,)).fetchone()[0]
        assert canonical.quote(s) == sql


def test_keys_sort_by_length_then_bytes(pg):
    obj = {"bb": 1, "a": 2, "é": 3, "z": 4, "ab": 5, "": 6, "\U0001f600": 7, "Z": 8}
    sql = pg.execute("SELECT %s::jsonb::text", (json.dumps(obj),)).fetchone()[0]
    assert canonical.render(obj) == sql


def test_timestamps_with_offsets_render_in_utc(pg):
    for text_ts in ("2026-01-15T12:20:30.5+02:00", "2026-01-15T10:20:30Z", "1999-12-31T23:59:59.999999-00:30",
                    "0999-03-01T00:00:00.000001+14:00"):
        sql = pg.execute("SELECT datastorage.rfc3339_micro(%s::timestamptz)", (text_ts,)).fetchone()[0]
        assert canonical.timestamp_text(text_ts) == sql
        assert canonical.timestamp_text(datetime.fromisoformat(text_ts.replace("Z", "+00:00"))) == sql


def test_values_without_canonical_form_are_refused():
    for bad in ('{"x": NaN}', '{"x": Infinity}', '{"a": 1, "a": 2}'):
        with pytest.raises(canonical.CanonicalError):
            canonical.loads_exact(bad)
    with pytest.raises(canonical.CanonicalError):
        canonical.render({"x": float("nan")})
    with pytest.raises(canonical.CanonicalError):
        canonical.canonical_event({"event_id": str(uuid.uuid4())})
    assert canonical.render(Decimal("-0.00")) == "0.00"
