"""Generate `app/models/contract.py` from the wire contract (OpenAPI 3.0).

Usage (from the repository root)::

    python -m app.models.generate [PATH_TO_CONTRACT] [--check]

Every schema under `components.schemas` becomes a pydantic v2 model; inline
object schemas become nested models named `<Owner><Property>` (array items get
an `Item` suffix). The discriminated `oneOf` of `AuditEventRequest.event_data`
becomes `EVENT_DATA_SCHEMAS` plus `validate_event_data()`.

Only contract-dependent code is generated. The runtime support every model
uses (scalar types, the `ContractModel` base, the event_data validator
factory) is hand-written in `app/models/contract_base.py`; the generated
module imports it from there and re-exports its public names.

Only facts are carried over from the contract (names, types, enums, required,
nullable, defaults, lengths, bounds, item counts, patterns,
additionalProperties); prose (`description`, `example`, `title`) is not.
A keyword the generator does not understand is an error, never silently
ignored, so a contract change cannot quietly loosen validation.

`render(contract_path)` returns the module text; the output is a pure
function of the contract file (classes in topological order with
alphabetical tie-breaks, properties in contract order).
"""
from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONTRACT = REPO_ROOT.parent / "shared" / "reference" / "data-storage-v1.yaml"
OUTPUT = Path(__file__).with_name("contract.py")

LINE_LIMIT = 99
INDENT = "    "

# Keywords that carry no validation fact: documentation only.
DOC_KEYS = frozenset({"description", "example", "examples", "title", "externalDocs", "deprecated"})
SCHEMA_KEYS = frozenset({
    "type", "format", "enum", "default", "nullable",
    "properties", "required", "additionalProperties", "items",
    "minLength", "maxLength", "pattern",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minItems", "maxItems",
    "$ref", "allOf", "oneOf", "discriminator",
}) | DOC_KEYS

# Formats: validated ones map to a dedicated type; the others are not
# checkable without guessing (or without extra dependencies) and stay plain.
STRING_FORMATS = {"date-time": "DateTimeStr", "date": "DateStr", "uuid": "UuidStr"}
UNCHECKED_STRING_FORMATS = frozenset({"uri", "email"})
INTEGER_FORMATS = {None: "StrictInt", "int32": "StrictInt32", "int64": "StrictInt64"}
NUMBER_FORMATS = frozenset({None, "float", "double"})
NUMERIC_KEYS = frozenset({"format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})

# Public names of contract_base that the generated module re-exports.
BASE_EXPORTS = (
    "ContractModel", "DateStr", "DateTimeStr", "NumberRange",
    "StrictInt32", "StrictInt64", "StrictNumber", "UuidStr",
)
# The generated module's imports: (module, names), in emission order.
IMPORTS = (
    ("typing", ("Annotated", "Any", "Literal")),
    ("pydantic", ("BaseModel", "ConfigDict", "Field", "StrictBool", "StrictInt", "StrictStr")),
    (".contract_base", BASE_EXPORTS + ("make_event_data_validator",)),
)
# Names used inside generated class bodies (a field must not shadow them).
CLASS_BODY_NAMES = frozenset({
    "Annotated", "Any", "Literal", "ConfigDict", "Field",
    "StrictBool", "StrictInt", "StrictStr", "StrictInt32", "StrictInt64", "StrictNumber",
    "NumberRange", "DateTimeStr", "DateStr", "UuidStr", "str", "list", "dict",
})
# Module-level names a schema (class) name must not take.
MODULE_NAMES = CLASS_BODY_NAMES | frozenset(n for _, names in IMPORTS for n in names) | frozenset({
    "EVENT_DATA_SCHEMAS", "EVENT_DATA_DISCRIMINATOR", "validate_event_data",
})
# Public attributes of pydantic's BaseModel (a field must not shadow them).
BASEMODEL_ATTRIBUTES = frozenset({
    "construct", "copy", "dict", "from_orm", "json", "parse_file", "parse_obj", "parse_raw",
    "schema", "schema_json", "update_forward_refs", "validate", "fields",
})


class ContractError(Exception):
    """The contract uses something this generator cannot map faithfully."""


# --------------------------------------------------------------------------
# Type expressions, rendered black-style (split at brackets when too long)
# --------------------------------------------------------------------------

class Expr:
    def flat(self) -> str:
        raise NotImplementedError

    def names(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class Raw(Expr):
    text: str

    def flat(self) -> str:
        return self.text


@dataclass(frozen=True)
class Ref(Expr):
    """A reference to a generated class (a dependency edge)."""
    name: str

    def flat(self) -> str:
        return self.name

    def names(self) -> set[str]:
        return {self.name}


@dataclass(frozen=True)
class Bracket(Expr):
    head: str
    args: tuple[Expr, ...]
    call: bool = False  # head(...) instead of head[...]

    def flat(self) -> str:
        o, c = ("(", ")") if self.call else ("[", "]")
        return f"{self.head}{o}{', '.join(a.flat() for a in self.args)}{c}"

    def names(self) -> set[str]:
        return set().union(*(a.names() for a in self.args))


@dataclass(frozen=True)
class Union(Expr):
    parts: tuple[Expr, ...]

    def flat(self) -> str:
        return " | ".join(p.flat() for p in self.parts)

    def names(self) -> set[str]:
        return set().union(*(p.names() for p in self.parts))


def fmt(expr: Expr, indent: str, used: int, trail: int) -> str:
    """Render `expr` starting at column `used`, leaving `trail` columns after it."""
    flat = expr.flat()
    if used + len(flat) + trail <= LINE_LIMIT:
        return flat
    if isinstance(expr, Bracket):
        o, c = ("(", ")") if expr.call else ("[", "]")
        inner = indent + INDENT
        lines = [expr.head + o]
        comma = "," if expr.call or len(expr.args) > 1 else ""
        for arg in expr.args:
            lines.append(inner + fmt(arg, inner, len(inner), len(comma)) + comma)
        lines.append(indent + c)
        return "\n".join(lines)
    if isinstance(expr, Union):
        tail = " | " + " | ".join(p.flat() for p in expr.parts[1:])
        return fmt(expr.parts[0], indent, used, trail + len(tail)) + tail
    return flat


def py_literal(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise ContractError(f"unsupported literal {value!r}")


def py_regex(pattern: str) -> str:
    if '"' not in pattern and not pattern.endswith("\\") and "\n" not in pattern:
        return f'r"{pattern}"'
    return json.dumps(pattern, ensure_ascii=False)


def pascal(name: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def field_call(args: list[tuple[str, Any]], *, raw: dict[str, str] | None = None) -> Bracket:
    rendered = [Raw(f"{k}={py_literal(v)}") for k, v in args]
    rendered += [Raw(f"{k}={v}") for k, v in (raw or {}).items()]
    return Bracket("Field", tuple(rendered), call=True)


def annotated(
    base: Expr, constraints: list[tuple[str, Any]], raw: dict[str, str] | None = None
) -> Expr:
    if not constraints and not raw:
        return base
    return Bracket("Annotated", (base, field_call(constraints, raw=raw)))


# --------------------------------------------------------------------------
# Model of what gets emitted
# --------------------------------------------------------------------------

@dataclass
class FieldDef:
    wire_name: str
    py_name: str
    type_expr: Expr
    required: bool
    default: Any = None
    has_default: bool = False


@dataclass
class ClassDef:
    name: str
    source: str  # JSON pointer-ish path into the contract
    extra: str  # "allow" | "forbid"
    base: str | None = None
    extra_type: Expr | None = None  # typed additionalProperties
    fields: list[FieldDef] = field(default_factory=list)

    def deps(self) -> set[str]:
        out: set[str] = set()
        if self.base:
            out.add(self.base)
        if self.extra_type is not None:
            out |= self.extra_type.names()
        for f in self.fields:
            out |= f.type_expr.names()
        return out


@dataclass
class DiscriminatedOneOf:
    owner: str
    prop: str
    discriminator: str
    mapping: dict[str, str]  # value -> class name


# --------------------------------------------------------------------------
# Contract -> ClassDefs
# --------------------------------------------------------------------------

class Builder:
    def __init__(self, contract: dict[str, Any]) -> None:
        try:
            self.schemas: dict[str, Any] = contract["components"]["schemas"]
        except (KeyError, TypeError) as exc:
            raise ContractError("contract has no components.schemas") from exc
        self.classes: dict[str, ClassDef] = {}
        self.unions: list[DiscriminatedOneOf] = []

    # -- helpers ----------------------------------------------------------

    @staticmethod
    def check_keys(schema: Any, where: str) -> None:
        if not isinstance(schema, dict):
            raise ContractError(f"{where}: schema must be a mapping, got {schema!r}")
        unknown = sorted(k for k in schema if k not in SCHEMA_KEYS and not str(k).startswith("x-"))
        if unknown:
            raise ContractError(f"{where}: unsupported keyword(s) {unknown}")

    def ref_name(self, ref: str, where: str) -> str:
        prefix = "#/components/schemas/"
        if not isinstance(ref, str) or not ref.startswith(prefix):
            raise ContractError(f"{where}: unsupported $ref {ref!r}")
        name = ref[len(prefix):]
        if name not in self.schemas:
            raise ContractError(f"{where}: $ref to unknown schema {name!r}")
        return name

    def add_class(self, cls: ClassDef) -> None:
        if cls.name in self.classes:
            raise ContractError(f"class name clash: {cls.name} ({cls.source})")
        if not cls.name.isidentifier() or keyword.iskeyword(cls.name):
            raise ContractError(f"{cls.source}: {cls.name!r} is not a usable class name")
        self.classes[cls.name] = cls

    # -- entry ------------------------------------------------------------

    def build(self) -> None:
        for name in self.schemas:
            if name in MODULE_NAMES:
                raise ContractError(f"schema name {name!r} clashes with a generated helper")
        for name, schema in self.schemas.items():
            self.top_level(name, schema)
        if len(self.unions) != 1:
            raise ContractError(f"expected exactly one discriminated oneOf, found {len(self.unions)}")
        union = self.unions[0]
        expected = ("AuditEventRequest", "event_data", "event_type")
        if (union.owner, union.prop, union.discriminator) != expected:
            raise ContractError(
                f"discriminated oneOf at {union.owner}.{union.prop} (discriminator "
                f"{union.discriminator!r}) is not the expected AuditEventRequest.event_data"
            )

    def top_level(self, name: str, schema: Any) -> None:
        where = f"components.schemas.{name}"
        self.check_keys(schema, where)
        if "allOf" in schema:
            self.all_of(name, schema, where)
            return
        if "$ref" in schema or schema.get("type", "object") != "object" or "enum" in schema:
            raise ContractError(f"{where}: only object schemas can become classes")
        self.object_class(name, schema, where)

    def all_of(self, name: str, schema: dict[str, Any], where: str) -> None:
        extra_keys = set(schema) - {"allOf"} - DOC_KEYS
        if extra_keys:
            raise ContractError(f"{where}: allOf next to {sorted(extra_keys)} is not supported")
        parts = schema["allOf"]
        refs = [p for p in parts if isinstance(p, dict) and "$ref" in p]
        inline = [p for p in parts if not (isinstance(p, dict) and "$ref" in p)]
        if len(refs) != 1 or len(inline) > 1:
            raise ContractError(f"{where}: allOf must be one $ref plus at most one inline object")
        ref = refs[0]
        self.check_keys(ref, where + ".allOf")
        if set(ref) - {"$ref"} - DOC_KEYS:
            raise ContractError(f"{where}: $ref with sibling keywords in allOf")
        base = self.ref_name(ref["$ref"], where)
        part = inline[0] if inline else {"type": "object"}
        self.check_keys(part, where + ".allOf")
        if part.get("type", "object") != "object" or "allOf" in part or "$ref" in part:
            raise ContractError(f"{where}: allOf inline part must be a plain object schema")
        own = set(part.get("properties", {}))
        for req in part.get("required", []):
            if req not in own:
                raise ContractError(f"{where}: allOf part requires inherited member {req!r}")
        self.object_class(name, part, where, base=base)

    def object_class(
        self, name: str, schema: dict[str, Any], where: str, base: str | None = None
    ) -> str:
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        if not isinstance(props, dict) or not isinstance(required, list):
            raise ContractError(f"{where}: malformed properties/required")
        missing = [r for r in required if r not in props]
        if missing:
            raise ContractError(f"{where}: required members not declared: {missing}")
        for key in ("minProperties", "maxProperties"):
            if key in schema:
                raise ContractError(f"{where}: {key} is not supported")
        if schema.get("nullable"):
            raise ContractError(f"{where}: nullable top-level objects are not supported")
        addl = schema.get("additionalProperties", True)
        cls = ClassDef(name=name, source=where, extra="allow", base=base)
        if addl is False:
            cls.extra = "forbid"
        elif isinstance(addl, dict):
            if addl:
                cls.extra_type = self.type_of(addl, f"{name}Value", where + ".additionalProperties")
        elif addl is not True:
            raise ContractError(f"{where}: unsupported additionalProperties {addl!r}")
        self.add_class(cls)
        reserved = CLASS_BODY_NAMES | set(self.schemas) | set(self.classes)
        used_py: set[str] = set()
        for wire, prop in props.items():
            if not isinstance(wire, str) or not wire:
                raise ContractError(f"{where}: bad property name {wire!r}")
            pwhere = f"{where}.properties.{wire}"
            py = python_name(wire, reserved, used_py)
            used_py.add(py)
            type_expr = self.type_of(prop, name + pascal(wire), pwhere)
            fdef = FieldDef(wire_name=wire, py_name=py, type_expr=type_expr, required=wire in required)
            if isinstance(prop, dict) and "default" in prop:
                fdef.has_default = True
                fdef.default = checked_default(prop, pwhere, self)
                if fdef.required:
                    raise ContractError(f"{pwhere}: required member with a default")
            cls.fields.append(fdef)
        return name

    # -- property types ---------------------------------------------------

    def type_of(self, schema: Any, nested_name: str, where: str) -> Expr:
        self.check_keys(schema, where)
        expr = self.bare_type(schema, nested_name, where)
        if schema.get("nullable") is True:
            expr = Union((expr, Raw("None")))
        elif schema.get("nullable") not in (None, False):
            raise ContractError(f"{where}: nullable must be a boolean")
        return expr

    def bare_type(self, schema: dict[str, Any], nested_name: str, where: str) -> Expr:
        if "$ref" in schema:
            # OpenAPI 3.0: siblings of $ref are ignored; only prose is tolerated here.
            siblings = set(schema) - {"$ref"} - DOC_KEYS
            if siblings:
                raise ContractError(f"{where}: $ref with sibling keywords {sorted(siblings)}")
            return Ref(self.ref_name(schema["$ref"], where))
        if "oneOf" in schema:
            return self.one_of(schema, where)
        if "allOf" in schema:
            raise ContractError(f"{where}: allOf inside a property is not supported")
        kind = schema.get("type")
        if "enum" in schema:
            return self.enum_type(schema, where)
        if kind is None:
            structural = set(schema) - DOC_KEYS - {"nullable", "default"}
            if structural:
                raise ContractError(f"{where}: untyped schema with {sorted(structural)}")
            return Raw("Any")
        if kind == "string":
            return self.string_type(schema, where)
        if kind == "integer":
            return self.integer_type(schema, where)
        if kind == "number":
            return self.number_type(schema, where)
        if kind == "boolean":
            self.only(schema, where, set())
            return Raw("StrictBool")
        if kind == "array":
            return self.array_type(schema, nested_name, where)
        if kind == "object":
            return self.object_type(schema, nested_name, where)
        raise ContractError(f"{where}: unsupported type {kind!r}")

    @staticmethod
    def only(schema: dict[str, Any], where: str, allowed: set[str]) -> None:
        common = {"type", "nullable", "default"} | DOC_KEYS
        bad = set(schema) - common - allowed
        if bad:
            raise ContractError(
                f"{where}: keyword(s) {sorted(bad)} not valid for type {schema.get('type')!r}"
            )

    def enum_type(self, schema: dict[str, Any], where: str) -> Expr:
        self.only(schema, where, {"enum", "minLength", "maxLength", "pattern", "format"})
        values = schema["enum"]
        if schema.get("type") != "string" or not isinstance(values, list) or not values:
            raise ContractError(f"{where}: only non-empty string enums are supported")
        if schema.get("format") is not None:
            raise ContractError(f"{where}: enum with a format is not supported")
        for v in values:
            if not isinstance(v, str):
                raise ContractError(f"{where}: enum value {v!r} is not a string")
            # Length/pattern constraints next to an enum are implied by the
            # values; make sure that is true rather than silently dropping them.
            n = len(v)
            if n < schema.get("minLength", 0) or n > schema.get("maxLength", n):
                raise ContractError(f"{where}: enum value {v!r} violates its own length bounds")
            if "pattern" in schema and not re.search(schema["pattern"], v):
                raise ContractError(f"{where}: enum value {v!r} violates its own pattern")
        if len(set(values)) != len(values):
            raise ContractError(f"{where}: duplicate enum values")
        return Bracket("Literal", tuple(Raw(py_literal(v)) for v in values))

    def string_type(self, schema: dict[str, Any], where: str) -> Expr:
        self.only(schema, where, {"format", "minLength", "maxLength", "pattern"})
        fmt_name = schema.get("format")
        if fmt_name is None or fmt_name in UNCHECKED_STRING_FORMATS:
            base = "StrictStr"
        elif fmt_name in STRING_FORMATS:
            base = STRING_FORMATS[fmt_name]
        else:
            raise ContractError(f"{where}: unsupported string format {fmt_name!r}")
        cons: list[tuple[str, Any]] = []
        raw: dict[str, str] = {}
        for key, arg in (("minLength", "min_length"), ("maxLength", "max_length")):
            if key in schema:
                cons.append((arg, non_negative_int(schema[key], f"{where}.{key}")))
        if "pattern" in schema:
            pattern = schema["pattern"]
            if not isinstance(pattern, str):
                raise ContractError(f"{where}: pattern must be a string")
            re.compile(pattern)
            raw["pattern"] = py_regex(pattern)
        return annotated(Raw(base), cons, raw)

    def bounds(self, schema: dict[str, Any], where: str, integer: bool) -> list[tuple[str, Any]]:
        cons: list[tuple[str, Any]] = []
        for key, inclusive, exclusive, exclusive_key in (
            ("minimum", "ge", "gt", "exclusiveMinimum"),
            ("maximum", "le", "lt", "exclusiveMaximum"),
        ):
            flag = schema.get(exclusive_key, False)
            if not isinstance(flag, bool):
                raise ContractError(f"{where}: {exclusive_key} must be a boolean (OpenAPI 3.0)")
            if key not in schema:
                if flag:
                    raise ContractError(f"{where}: {exclusive_key} without {key}")
                continue
            value = schema[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ContractError(f"{where}.{key}: not a number")
            if integer:
                if isinstance(value, float):
                    if not value.is_integer():
                        raise ContractError(f"{where}.{key}: fractional bound on an integer")
                    value = int(value)
            cons.append((exclusive if flag else inclusive, value))
        return cons

    def integer_type(self, schema: dict[str, Any], where: str) -> Expr:
        self.only(schema, where, NUMERIC_KEYS)
        fmt_name = schema.get("format")
        if fmt_name not in INTEGER_FORMATS:
            raise ContractError(f"{where}: unsupported integer format {fmt_name!r}")
        return annotated(Raw(INTEGER_FORMATS[fmt_name]), self.bounds(schema, where, integer=True))

    def number_type(self, schema: dict[str, Any], where: str) -> Expr:
        self.only(schema, where, NUMERIC_KEYS)
        if schema.get("format") not in NUMBER_FORMATS:
            raise ContractError(f"{where}: unsupported number format {schema.get('format')!r}")
        cons = self.bounds(schema, where, integer=False)
        if not cons:
            return Raw("StrictNumber")
        rng = Bracket("NumberRange", tuple(Raw(f"{k}={py_literal(v)}") for k, v in cons), call=True)
        return Bracket("Annotated", (Raw("StrictNumber"), rng))

    def array_type(self, schema: dict[str, Any], nested_name: str, where: str) -> Expr:
        self.only(schema, where, {"items", "minItems", "maxItems"})
        if "items" not in schema:
            item: Expr = Raw("Any")
        else:
            item = self.type_of(schema["items"], nested_name + "Item", where + ".items")
        cons: list[tuple[str, Any]] = []
        for key, arg in (("minItems", "min_length"), ("maxItems", "max_length")):
            if key in schema:
                cons.append((arg, non_negative_int(schema[key], f"{where}.{key}")))
        return annotated(Bracket("list", (item,)), cons)

    def object_type(self, schema: dict[str, Any], nested_name: str, where: str) -> Expr:
        self.only(schema, where, {"properties", "required", "additionalProperties"})
        closed = schema.get("additionalProperties") is False
        if schema.get("properties") or schema.get("required") or closed:
            inner = {k: v for k, v in schema.items() if k not in ("nullable", "default")}
            return Ref(self.object_class(nested_name, inner, where))
        addl = schema.get("additionalProperties", True)
        if addl is True or addl == {}:
            return Raw("dict[str, Any]")
        if isinstance(addl, dict):
            value = self.type_of(addl, nested_name + "Value", where + ".additionalProperties")
            return Bracket("dict", (Raw("str"), value))
        raise ContractError(f"{where}: unsupported additionalProperties {addl!r}")

    def one_of(self, schema: dict[str, Any], where: str) -> Expr:
        owner, _, rest = where.removeprefix("components.schemas.").partition(".properties.")
        extra_keys = set(schema) - {"oneOf", "discriminator", "nullable"} - DOC_KEYS
        if extra_keys or "discriminator" not in schema or "." in rest or not rest:
            raise ContractError(f"{where}: only a property-level discriminated oneOf is supported")
        disc = schema["discriminator"]
        if not isinstance(disc, dict) or set(disc) - {"propertyName", "mapping"}:
            raise ContractError(f"{where}: malformed discriminator")
        prop_name = disc.get("propertyName")
        raw_mapping = disc.get("mapping")
        if not isinstance(prop_name, str) or not isinstance(raw_mapping, dict) or not raw_mapping:
            raise ContractError(f"{where}: discriminator needs propertyName and an explicit mapping")
        members = []
        for alt in schema["oneOf"]:
            if not isinstance(alt, dict) or set(alt) != {"$ref"}:
                raise ContractError(f"{where}: oneOf alternatives must be plain $refs")
            members.append(self.ref_name(alt["$ref"], where))
        mapping: dict[str, str] = {}
        for value, ref in raw_mapping.items():
            if not isinstance(value, str):
                raise ContractError(f"{where}: discriminator value {value!r} is not a string")
            target = self.ref_name(ref, where)
            if target not in members:
                raise ContractError(f"{where}: mapping target {target} is not a oneOf member")
            mapping[value] = target
        unmapped = sorted(set(members) - set(mapping.values()))
        if unmapped:
            raise ContractError(f"{where}: oneOf members without a mapping entry: {unmapped}")
        for value, target in mapping.items():
            self.check_discriminator_member(target, prop_name, value, where)
        self.unions.append(DiscriminatedOneOf(owner, rest, prop_name, mapping))
        # The member stays a free-form object on the envelope; it is validated
        # separately by validate_event_data() (see module docstring).
        return Raw("dict[str, Any]")

    def check_discriminator_member(self, target: str, prop_name: str, value: str, where: str) -> None:
        schema = self.schemas[target]
        props = schema.get("properties") or {}
        if prop_name not in props:
            return  # not declared by the payload: kept as an unknown member
        member = props[prop_name]
        if member.get("type") != "string":
            raise ContractError(f"{where}: {target}.{prop_name} is not a string")
        if "enum" in member and value not in member["enum"]:
            raise ContractError(
                f"{where}: {value!r} maps to {target} but its {prop_name} enum excludes it"
            )


def non_negative_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ContractError(f"{where}: must be a non-negative integer")
    return value


def checked_default(prop: dict[str, Any], where: str, builder: Builder) -> Any:
    value = prop["default"]
    if "$ref" in prop or "oneOf" in prop:
        raise ContractError(f"{where}: default on a $ref/oneOf is not supported")
    kind = prop.get("type")
    ok = {
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
    }.get(kind)
    if value is None:
        raise ContractError(f"{where}: a null default is not supported")
    if ok is None or not ok(value):
        raise ContractError(f"{where}: default {value!r} does not fit type {kind!r}")
    if "enum" in prop and value not in prop["enum"]:
        raise ContractError(f"{where}: default {value!r} is not an enum value")
    for key, test in (
        ("minimum", lambda b: value >= b), ("maximum", lambda b: value <= b),
        ("minLength", lambda b: len(value) >= b), ("maxLength", lambda b: len(value) <= b),
    ):
        if key in prop and not test(prop[key]):
            raise ContractError(f"{where}: default {value!r} violates {key}")
    return value


def python_name(wire: str, reserved: frozenset[str] | set[str], used: set[str]) -> str:
    """The attribute name for a wire member; differs only when it must."""
    name = wire
    if not name.isidentifier():
        name = re.sub(r"\W", "_", name)
        if not name or name[0].isdigit():
            name = "f_" + name
    name = name.lstrip("_") or "field"
    if (
        keyword.iskeyword(name)
        or name in reserved
        or name in BASEMODEL_ATTRIBUTES
        or name.startswith("model_")
    ):
        name += "_"
    while name in used or (name != wire and name in reserved):
        name += "_"
    return name


# --------------------------------------------------------------------------
# Emission
# --------------------------------------------------------------------------

def topo_order(classes: dict[str, ClassDef]) -> list[str]:
    deps = {n: {d for d in c.deps() if d in classes and d != n} for n, c in classes.items()}
    users: dict[str, set[str]] = {n: set() for n in classes}
    for n, ds in deps.items():
        for d in ds:
            users[d].add(n)
    pending = {n: len(ds) for n, ds in deps.items()}
    ready = [n for n, k in pending.items() if k == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for u in sorted(users[n]):
            pending[u] -= 1
            if pending[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(classes):
        # Cycles: emit the rest alphabetically; annotations are quoted below
        # and resolved by model_rebuild().
        order += sorted(set(classes) - set(order))
    return order


def emit_import(module: str, names: tuple[str, ...]) -> list[str]:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE_LIMIT:
        return [line]
    return [f"from {module} import ("] + [f"{INDENT}{n}," for n in names] + [")"]


def emit_class(cls: ClassDef, defined: set[str]) -> list[str]:
    path = re.sub(r"(?<!\.properties)\.items(?=\.|$)", "[]", cls.source)
    path = re.sub(r"(?<!\.properties)\.additionalProperties(?=\.|$)", "{}", path)
    path = path.removeprefix("components.schemas.").replace(".properties.", ".")
    lines = [
        f"class {cls.name}({cls.base or 'ContractModel'}):",
        f'{INDENT}"""Contract schema `{path}`."""',
        "",
    ]
    lines.append(f'{INDENT}model_config = ConfigDict(extra="{cls.extra}")')
    if cls.extra_type is not None:
        ann = quote_forward(cls.extra_type, defined)
        lead = f"{INDENT}__pydantic_extra__: "
        tail = " = Field(init=False)"
        extra_ann = Bracket("dict", (Raw("str"), ann))
        lines.append(lead + fmt(extra_ann, INDENT, len(lead), len(tail)) + tail)
    if cls.fields:
        lines.append("")
    for f in cls.fields:
        ann = quote_forward(f.type_expr, defined)
        if f.py_name != f.wire_name:
            args = [] if f.required else [py_literal(f.default if f.has_default else None)]
            args.append(f"alias={py_literal(f.wire_name)}")
            tail = f" = Field({', '.join(args)})"
        elif f.required:
            tail = ""
        else:
            tail = f" = {py_literal(f.default if f.has_default else None)}"
        lead = f"{INDENT}{f.py_name}: "
        lines.append(lead + fmt(ann, INDENT, len(lead), len(tail)) + tail)
    return lines


def quote_forward(expr: Expr, defined: set[str]) -> Expr:
    """Quote references to classes not yet defined (only possible with cycles)."""
    if isinstance(expr, Ref):
        return expr if expr.name in defined else Raw(json.dumps(expr.name))
    if isinstance(expr, Bracket):
        return Bracket(expr.head, tuple(quote_forward(a, defined) for a in expr.args), expr.call)
    if isinstance(expr, Union):
        return Union(tuple(quote_forward(p, defined) for p in expr.parts))
    return expr


def render(contract_path: str | Path = DEFAULT_CONTRACT) -> str:
    """Return the text of `contract.py` for the contract at `contract_path`."""
    path = Path(contract_path)
    raw = path.read_bytes()
    contract = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(contract, dict):
        raise ContractError(f"{path}: not a YAML mapping")
    builder = Builder(contract)
    builder.build()
    union = builder.unions[0]
    version = (contract.get("info") or {}).get("version", "?")
    order = topo_order(builder.classes)

    out: list[str] = [
        "# GENERATED FILE - DO NOT EDIT.",
        f"# Source: components.schemas of {path.name} (info.version {version},",
        f"#         sha256 {hashlib.sha256(raw).hexdigest()}).",
        "# Regenerate from the repository root with:",
        "#     python -m app.models.generate [PATH_TO_CONTRACT]",
        "# (default contract: ../shared/reference/data-storage-v1.yaml)",
        '"""Pydantic v2 models for every schema of the wire contract.',
        "",
        "The shared scalar types, the ContractModel base and the event_data validator",
        "are hand-written in app/models/contract_base.py and re-exported here.",
        '"""',
    ]
    for module, names in IMPORTS:
        out += [""] + emit_import(module, names)
    out += ["", "", "# " + "-" * 75, "# Models (dependencies first)", "# " + "-" * 75]
    defined: set[str] = set()
    for name in order:
        out += ["", ""] + emit_class(builder.classes[name], defined)
        defined.add(name)

    rule = "# " + "-" * 75
    title = f"# {union.owner}.{union.prop}: discriminated by {union.discriminator!r}"
    out += ["", "", rule, title, rule, ""]
    out.append(f"EVENT_DATA_DISCRIMINATOR = {py_literal(union.discriminator)}")
    out.append("EVENT_DATA_SCHEMAS: dict[str, type[BaseModel]] = {")
    for value, target in union.mapping.items():
        out.append(f"{INDENT}{py_literal(value)}: {target},")
    out.append("}")
    out += [
        "",
        "validate_event_data = make_event_data_validator("
        "EVENT_DATA_SCHEMAS, EVENT_DATA_DISCRIMINATOR)",
    ]

    public = sorted(builder.classes) + list(BASE_EXPORTS) + [
        "EVENT_DATA_DISCRIMINATOR", "EVENT_DATA_SCHEMAS", "validate_event_data",
    ]
    out += ["", "", "__all__ = ["]
    out += [f"{INDENT}{py_literal(n)}," for n in sorted(public)]
    out.append("]")
    out += ["", "for _model in ("]
    out += [f"{INDENT}{n}," for n in order]
    out += ["):", f"{INDENT}_model.model_rebuild()", "del _model", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.models.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("contract", nargs="?", default=str(DEFAULT_CONTRACT),
                        help="OpenAPI contract (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if app/models/contract.py is not up to date; write nothing")
    args = parser.parse_args(argv)
    try:
        text = render(args.contract)
    except ContractError as exc:
        print(f"contract not supported: {exc}", file=sys.stderr)
        return 2
    except (OSError, yaml.YAMLError) as exc:
        print(f"cannot read contract {args.contract}: {exc}", file=sys.stderr)
        return 2
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else None
    if args.check:
        if current != text:
            print(f"{OUTPUT} is out of date; run: python -m app.models.generate", file=sys.stderr)
            return 1
        return 0
    if current != text:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT}")
    else:
        print(f"{OUTPUT} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
