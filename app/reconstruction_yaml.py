"""Kubernetes-style YAML for a reconstructed RemediationRequest.

The SQL function builds the object in its Kubernetes JSON form (camelCase,
Go durations, base64 byte fields); this module only writes that JSON as YAML
the way Kubernetes tooling does (JSON -> go-yaml v2):

* map keys sorted with go-yaml v2's key order at every level;
* sequences under a key written at the key's indentation (`- item`);
* a string stays plain unless a YAML 1.1 reader (go-yaml v2 or PyYAML) would
  read it as something else or it contains characters a plain scalar cannot
  hold; then it is double-quoted (`"true"`, `""`, timestamps);
* no line folding, so every value is greppable on one line.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

_RESOLVER = Resolver()
_STR_TAG = "tag:yaml.org,2002:str"

# Values go-yaml v2 also reads as non-strings where PyYAML's resolver does not
# (single-letter booleans, numbers without a dot, hex/octal/binary integers).
_GO_NON_STRING = re.compile(
    r"(?:[yYnN]"
    r"|[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?0[xXoObB][0-9a-fA-F_]+"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))")

# Identifiers, paths and versions (most values): plain unless a YAML 1.1
# keyword. Everything else takes the full check.
_SIMPLE = re.compile(r"[A-Za-z][A-Za-z0-9._/-]*")
_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}

# Characters that cannot start a plain scalar, and sequences that cannot
# appear inside one (block context).
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_PLAIN_CHAR = re.compile(r"[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                         r"\U00010000-\U0010ffff]*")

# PyYAML (like the YAML spec) limits implicit keys to 1024 characters.
_MAX_SIMPLE_KEY = 1000

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0",
            "\x07": "\\a", "\x08": "\\b", "\x0b": "\\v", "\x0c": "\\f", "\x1b": "\\e",
            "\x85": "\\N", "\xa0": "\\_", "\u2028": "\\L", "\u2029": "\\P"}


def render(document: dict) -> str:
    """YAML text of a JSON object (dicts, lists, str, int, float, bool, None)."""
    lines: list[str] = []
    _mapping(document, 0, lines)
    return "\n".join(lines) + "\n"


# -- structure -------------------------------------------------------------

def _mapping(obj: dict, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key in _sorted_keys(obj):
        value = obj[key]
        text = scalar(key if type(key) is str else str(key))
        if len(text) > _MAX_SIMPLE_KEY:
            # YAML readers refuse implicit keys this long: explicit `? key`.
            out.append(pad + "? " + text)
            head = pad + ":"
        else:
            head = pad + text + ":"
        if type(value) is str:  # the common case first
            out.append(head + " " + scalar(value))
        elif isinstance(value, dict) and value:
            out.append(head)
            _mapping(value, indent + 2, out)
        elif isinstance(value, list) and value:
            out.append(head)
            _sequence(value, indent, out)
        else:
            out.append(head + " " + _leaf(value))


def _sequence(items: list, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            # First member on the dash line, the rest aligned under it.
            nested: list[str] = []
            _mapping(item, indent + 2, nested)
            out.append(pad + "- " + nested[0][indent + 2:])
            out.extend(nested[1:])
        elif isinstance(item, list) and item:
            nested = []
            _sequence(item, indent + 2, nested)
            out.append(pad + "- " + nested[0][indent + 2:])
            out.extend(nested[1:])
        else:
            out.append(pad + "- " + _leaf(item))


def _leaf(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(str(value))


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    return repr(value)


# -- scalars ---------------------------------------------------------------

def scalar(text: str) -> str:
    """`text` as a plain scalar when that reads back as the same string,
    otherwise double-quoted."""
    # Short strings (keys, names, label values) repeat across requests and
    # are cached; long ones (base64 payloads) are not kept.
    return _scalar_cached(text) if len(text) <= 200 else _scalar(text)


def _scalar(text: str) -> str:
    if _SIMPLE.fullmatch(text) and text.lower() not in _WORDS:
        return text
    return text if _plain_ok(text) else _double_quoted(text)


_scalar_cached = functools.lru_cache(maxsize=16384)(_scalar)


def _plain_ok(s: str) -> bool:
    if not s or s != s.strip(" ") or not _PLAIN_CHAR.fullmatch(s):
        return False
    if s[0] in _INDICATORS or s.endswith(":") or ": " in s or " #" in s:
        return False
    if s.startswith(("---", "...")):
        return False
    if _GO_NON_STRING.fullmatch(s):
        return False
    return _RESOLVER.resolve(ScalarNode, s, (True, False)) == _STR_TAG


def _double_quoted(s: str) -> str:
    parts = ['"']
    for ch in s:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            parts.append(esc)
            continue
        code = ord(ch)
        if code < 0x20 or 0x7f <= code <= 0x9f or code in (0xfeff, 0xfffe, 0xffff) \
                or 0xd800 <= code <= 0xdfff:
            parts.append(f"\\x{code:02x}" if code <= 0xff else f"\\u{code:04x}")
        else:
            parts.append(ch)
    parts.append('"')
    return "".join(parts)


# -- go-yaml v2 key order --------------------------------------------------

def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd"


def _go_key_less(a: str, b: str) -> bool:
    """go-yaml v2 keyList.Less for two string keys: letters compare by code
    point, a non-letter sorts before a letter, digit runs compare as numbers."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        la, lb = _is_letter(ca), _is_letter(cb)
        if la and lb:
            return ca < cb
        if la or lb:
            return lb
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and _is_digit(a[ai]):
            an = an * 10 + (ord(a[ai]) - 48)
            ai += 1
        bi = i
        while bi < len(b) and _is_digit(b[bi]):
            bn = bn * 10 + (ord(b[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _go_key_cmp(a: str, b: str) -> int:
    if _go_key_less(a, b):
        return -1
    if _go_key_less(b, a):
        return 1
    return 0


_GO_KEY_ORDER = functools.cmp_to_key(lambda a, b: _go_key_cmp(str(a), str(b)))
_HAS_DIGIT = re.compile(r"\d")


def _digit_free_key(key: str) -> tuple:
    # Without digits go-yaml's order is: per character, non-letters before
    # letters, otherwise code point order; a prefix sorts first.
    return tuple((_is_letter(ch), ch) for ch in key)


_digit_free_key_cached = functools.lru_cache(maxsize=8192)(_digit_free_key)


def _sort_key(key) -> tuple:
    key = str(key)
    return _digit_free_key_cached(key) if len(key) <= 200 else _digit_free_key(key)


def _sorted_keys(obj: dict) -> list:
    keys = list(obj)
    if any(_HAS_DIGIT.search(str(k)) for k in keys):
        return sorted(keys, key=_GO_KEY_ORDER)
    return sorted(keys, key=_sort_key)
