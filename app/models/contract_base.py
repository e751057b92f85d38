"""Hand-written runtime support for the generated contract models.

`app/models/contract.py` is generated from the wire contract by
`app/models/generate.py`; it holds only what depends on the contract (the
model classes and the ``event_data`` discriminator mapping). Everything that
is the same for any contract lives here, as ordinary code that can be read,
tested and edited: the scalar types the generated fields use, the
`ContractModel` base class, and `make_event_data_validator()`, which turns
the generated mapping into ``validate_event_data()``.

Import these names from `app.models.contract`, which re-exports them.
"""
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError, PydanticKnownError, core_schema
from typing_extensions import NotRequired, TypedDict

__all__ = [
    "ContractModel",
    "DateStr",
    "DateTimeStr",
    "NumberRange",
    "StrictInt32",
    "StrictInt64",
    "StrictNumber",
    "UuidStr",
    "event_data_as_sent",
    "make_event_data_validator",
    "make_one_pass_validator",
    "OnePass",
]

# ---------------------------------------------------------------------------
# Scalar types shared by the models
# ---------------------------------------------------------------------------

_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:Z|[+-]([0-9]{2}):([0-9]{2}))"
)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _check_date_time(value: str) -> str:
    """RFC 3339 date-time with a mandatory zone; the original text is kept."""
    m = _DATE_TIME.fullmatch(value)
    try:
        if m is None:
            raise ValueError
        datetime(*(int(g) for g in m.group(1, 2, 3, 4, 5, 6)))
        if m.group(7) is not None and (int(m.group(7)) > 23 or int(m.group(8)) > 59):
            raise ValueError
    except ValueError:
        raise PydanticCustomError(
            "date_time_format",
            "Input should be an RFC 3339 date-time with a time zone, e.g. 2025-01-02T03:04:05Z",
        ) from None
    return value


def _check_date(value: str) -> str:
    m = _DATE.fullmatch(value)
    try:
        if m is None:
            raise ValueError
        date(*(int(g) for g in m.groups()))
    except ValueError:
        raise PydanticCustomError(
            "date_format", "Input should be an RFC 3339 full-date, e.g. 2025-01-02"
        ) from None
    return value


def _check_uuid(value: str) -> str:
    if _UUID.fullmatch(value) is None:
        raise PydanticCustomError(
            "uuid_format", "Input should be a UUID in 8-4-4-4-12 hexadecimal form"
        )
    return value


def _check_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("number_type", "Input should be a valid number")
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "Input should be a finite number")
    return value


#: string, format: date-time -- validated, but the client's text is kept verbatim.
DateTimeStr = Annotated[
    StrictStr,
    AfterValidator(_check_date_time),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
#: string, format: date -- validated, kept verbatim.
DateStr = Annotated[
    StrictStr, AfterValidator(_check_date), WithJsonSchema({"type": "string", "format": "date"})
]
#: string, format: uuid -- canonical 8-4-4-4-12 form (either case), kept verbatim.
UuidStr = Annotated[
    StrictStr, AfterValidator(_check_uuid), WithJsonSchema({"type": "string", "format": "uuid"})
]
#: number -- int or float as sent; no bool, no string, finite.
StrictNumber = Annotated[
    int | float,
    PlainValidator(_check_number, json_schema_input_type=int | float),
    WithJsonSchema({"type": "number"}),
]


class NumberRange:
    """minimum / maximum (inclusive or exclusive) of a StrictNumber."""

    __slots__ = ("ge", "gt", "le", "lt")
    _CHECKS = (
        ("ge", "greater_than_equal", "minimum", lambda v, b: v >= b),
        ("gt", "greater_than", "exclusiveMinimum", lambda v, b: v > b),
        ("le", "less_than_equal", "maximum", lambda v, b: v <= b),
        ("lt", "less_than", "exclusiveMaximum", lambda v, b: v < b),
    )

    def __init__(self, *, ge: float | None = None, gt: float | None = None,
                 le: float | None = None, lt: float | None = None) -> None:
        self.ge, self.gt, self.le, self.lt = ge, gt, le, lt

    def __repr__(self) -> str:
        bounds = [(k, getattr(self, k)) for k in self.__slots__ if getattr(self, k) is not None]
        return "NumberRange(" + ", ".join(f"{k}={v!r}" for k, v in bounds) + ")"

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> Any:
        out = dict(handler(schema))
        for attr, _, keyword, _ in self._CHECKS:
            if getattr(self, attr) is not None:
                out[keyword] = getattr(self, attr)
        return out

    def _check(self, value: int | float) -> int | float:
        for attr, error_type, _, ok in self._CHECKS:
            bound = getattr(self, attr)
            if bound is not None and not ok(value, bound):
                raise PydanticKnownError(error_type, {attr: bound})
        return value


#: integer, format: int32 / int64 -- strict int within the format's range.
StrictInt32 = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
StrictInt64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]


def _drop_null_defaults(schema: dict[str, Any]) -> None:
    # Optional members default to None in Python, but the contract declares no
    # null defaults: keep "default": null out of generated JSON schemas.
    for member in schema.get("properties", {}).values():
        if "default" in member and member["default"] is None:
            del member["default"]


class ContractModel(BaseModel):
    """Base of every generated model.

    Unknown members are kept (``extra="allow"``) unless a model forbids them.
    Members with a contract default count as sent, so
    ``model_dump(exclude_unset=True)`` yields what the client sent plus the
    contract's defaults, and no ``None`` for members nobody sent.
    """

    model_config = ConfigDict(
        extra="allow",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        json_schema_extra=_drop_null_defaults,
    )

    #: Members with a contract default.
    __contract_defaults__: ClassVar[tuple[str, ...]] = ()
    #: (attribute name, wire name) of members whose names differ.
    __contract_aliases__: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = cls.model_fields
        cls.__contract_defaults__ = tuple(
            name
            for name, info in fields.items()
            if not info.is_required() and info.default is not None
        )
        cls.__contract_aliases__ = tuple(
            (name, info.alias) for name, info in fields.items() if info.alias not in (None, name)
        )
        if not cls.__contract_defaults__ and not cls.__contract_aliases__:
            # Nothing for _track_sent_members to correct here: leave the Python
            # call out of this model's validation (most contract models; it is
            # run once per nested object of every event otherwise).
            cls.__pydantic_decorators__.model_validators.pop("_track_sent_members", None)
            cls.model_rebuild(force=True)

    @model_validator(mode="wrap")
    @classmethod
    def _track_sent_members(cls, data: Any, handler: Any) -> "ContractModel":
        model = handler(data)
        fields_set = model.__pydantic_fields_set__
        extra = model.__pydantic_extra__
        if extra and isinstance(data, dict):
            # An unknown member spelled like an aliased attribute (e.g. "global_")
            # stays an unknown member; pydantic would also mark the attribute set.
            for name, alias in type(model).__contract_aliases__:
                if name in extra and alias not in data:
                    fields_set.discard(name)
        fields_set.update(type(model).__contract_defaults__)
        return model


# ---------------------------------------------------------------------------
# AuditEventRequest.event_data: validation against the discriminated payload
# ---------------------------------------------------------------------------

# AuditEventRequest keeps event_data as a free-form object; the payload is
# checked here instead, and its errors are made to read like the envelope's
# own: titled "AuditEventRequest", located under "event_data".

def _event_data_error(error_type: str, message: str, loc: tuple[str, ...], value: Any,
                      ctx: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError.from_exception_data(
        "AuditEventRequest",
        [{"type": PydanticCustomError(error_type, message, ctx), "loc": loc, "input": value}],
    )


def make_event_data_validator(
    schemas: Mapping[str, type[BaseModel]], discriminator: str
) -> Callable[[Any], dict[str, Any]]:
    """Return ``validate_event_data(data)`` for a discriminator mapping.

    `schemas` maps each value of the `discriminator` member to its payload
    model. It is looked up on every call, not copied.
    """
    # One envelope per payload class (built once, here) so that errors are
    # located under "event_data".
    envelopes: dict[type[BaseModel], type[BaseModel]] = {
        payload: create_model(
            f"{payload.__name__}EventData",
            __config__=ConfigDict(title="AuditEventRequest"),
            event_data=(payload, ...),
        )
        for payload in dict.fromkeys(schemas.values())
    }

    def validate_event_data(data: Any) -> dict[str, Any]:
        """Validate an ``AuditEventRequest.event_data`` object against its payload schema.

        Returns the members as sent (unknown members kept verbatim) plus the
        contract's defaults. Raises ``pydantic.ValidationError`` with locations
        starting at ``event_data``.
        """
        if not isinstance(data, dict):
            raise _event_data_error(
                "model_type",
                "value doesn't match any schema from \"oneOf\": event_data must be an object",
                ("event_data",),
                data,
            )
        tag = data.get(discriminator)
        if not isinstance(tag, str):
            raise _event_data_error(
                "union_tag_not_found",
                'input does not contain the discriminator property "{discriminator}"',
                ("event_data",),
                data,
                {"discriminator": discriminator},
            )
        payload = schemas.get(tag)
        if payload is None:
            raise _event_data_error(
                "union_tag_invalid",
                'discriminator property "{discriminator}" has invalid value "{tag}"',
                ("event_data", discriminator),
                tag,
                {"discriminator": discriminator, "tag": tag},
            )
        envelope = envelopes[payload].model_validate(
            {"event_data": data}, by_alias=True, by_name=False
        )
        return event_data_as_sent(envelope.event_data, discriminator, tag)

    return validate_event_data


def event_data_as_sent(payload: BaseModel, discriminator: str, tag: str) -> dict[str, Any]:
    """A validated payload as stored: the members as sent (unknown ones
    verbatim) plus the contract's defaults, and the discriminator."""
    out = payload.model_dump(mode="json", by_alias=True, exclude_unset=True)
    out.setdefault(discriminator, tag)
    return out


def _without_defaults(model: type[BaseModel], seen: set | None = None) -> bool:
    """True when neither `model` nor any model it nests declares a contract
    default (nor a serializer of its own)."""
    seen = set() if seen is None else seen
    if model in seen:
        return True
    seen.add(model)
    if getattr(model, "__contract_defaults__", ()) or model.__pydantic_decorators__.field_serializers \
            or model.__pydantic_decorators__.model_serializers:
        return False

    def nested(tp: Any) -> list[type[BaseModel]]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [tp]
        return [m for arg in get_args(tp) for m in nested(arg)]

    return all(_without_defaults(m, seen) for field in model.model_fields.values()
               for m in nested(field.annotation))


def _as_typed_dict(model: type[BaseModel], name: str, types: Mapping[str, Any],
                   extra: str | None = None) -> type:
    """A TypedDict that validates like `model`, members typed as in `types`
    where given: same types and constraints, optional members NotRequired;
    unknown members as `model` treats them unless `extra` says otherwise.
    Only for models whose optional members all default to None and that
    have no validators or aliases (what a dict cannot reproduce)."""
    decorators = model.__pydantic_decorators__
    assert not (decorators.model_validators or decorators.field_validators), model
    members: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        assert info.alias in (None, field_name), (model, field_name)
        tp = types.get(field_name) or (Annotated[(info.annotation, *info.metadata)]
                                       if info.metadata else info.annotation)
        if not info.is_required():
            assert info.default is None, (model, field_name)
            tp = NotRequired[tp]
        members[field_name] = tp
    typed = TypedDict(name, members)  # type: ignore[operator]
    typed.__pydantic_config__ = ConfigDict(extra=extra or model.model_config.get("extra", "ignore"))
    return typed


def _dict_shaped(model: type[BaseModel]) -> bool:
    """Whether `model` itself validates as _as_typed_dict's TypedDict would:
    no validators, aliases, discriminators, typed extra members or
    defaults other than None (its nested models are judged on their own)."""
    decorators = model.__pydantic_decorators__
    if decorators.model_validators or decorators.field_validators \
            or "__pydantic_extra__" in getattr(model, "__annotations__", {}):
        return False
    return all(info.alias in (None, name) and info.discriminator is None
               and (info.is_required() or info.default is None)
               for name, info in model.model_fields.items())


def _as_dicts(tp: Any, done: dict[type, Any]) -> Any:
    """The annotation `tp` with every model in it that _dict_shaped accepts
    replaced by its TypedDict (nested ones too; `done` caches them). It
    accepts exactly what `tp` accepts but builds plain dicts, without the
    unknown members (untyped: kept or ignored, any value passes; copying
    them costs as much as validating the declared ones). For payloads whose
    validated form is thrown away (stored as sent): the models and the
    copies are pure cost."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp not in done:
            done[tp] = tp   # until built: a model that nests itself stays a model
            if _dict_shaped(tp):
                forbid = tp.model_config.get("extra") == "forbid"
                done[tp] = _as_typed_dict(tp, f"{tp.__name__}Dict", {
                    name: _as_dicts(Annotated[(info.annotation, *info.metadata)]
                                    if info.metadata else info.annotation, done)
                    for name, info in tp.model_fields.items()},
                    extra="forbid" if forbid else "ignore")
        return done[tp]
    origin, args = get_origin(tp), get_args(tp)
    if origin is None or origin is Literal or not args:
        return tp
    if origin is Annotated:
        return Annotated[(_as_dicts(args[0], done), *tp.__metadata__)]
    new = tuple(_as_dicts(a, done) for a in args)
    if new == args:
        return tp
    if origin in (Union, UnionType):
        return Union[new]  # noqa: UP007
    return origin[new]


def make_one_pass_validator(
    envelope: type[BaseModel], schemas: Mapping[str, type[BaseModel]], discriminator: str
) -> "OnePass":
    """Return ``one_pass``, the envelope and its payload validated in one
    pydantic-core call, for the hot path of valid events (see OnePass)."""
    return OnePass(envelope, schemas, discriminator)


class OnePass:
    """``one_pass(data)`` answers ``(envelope model, event_data as
    validate_event_data gives it)`` or None when `data` is not a valid
    event; ``one_pass.many(items)`` does the same for a list of events in one
    pydantic-core call, or None when any of them is invalid. Neither raises
    nor explains: the caller then validates in two passes (envelope, then
    payload), whose order decides which error a doubly bad event reports.
    """

    def __init__(self, envelope: type[BaseModel], schemas: Mapping[str, type[BaseModel]],
                 discriminator: str) -> None:
        self.schemas = schemas
        self.discriminator = discriminator
        # The envelope with event_data typed by its payload class, one per class.
        self.typed: dict[type[BaseModel], type[BaseModel]] = {
            payload: create_model(f"{payload.__name__}Event", __base__=envelope,
                                  event_data=(payload, ...))
            for payload in dict.fromkeys(schemas.values())
        }
        # Payloads whose models declare no default at any depth: validated,
        # they dump to exactly the members sent (strict types keep every value
        # as sent, unknown members are kept verbatim, names are the wire
        # names), so the dump is skipped; only the order of members may
        # differ, which jsonb does not keep.
        self.as_sent = {payload: _without_defaults(payload) for payload in self.typed}
        # A list of events: a union of the typed envelopes, told apart by the
        # payload class their event_data's discriminator selects. Validated
        # into dicts (TypedDicts), not model instances: a third cheaper. So
        # are the payloads stored as sent (their validated form is dropped);
        # the others stay models, whose dump applies the contract defaults.
        names = {payload: payload.__name__ for payload in self.typed}
        dicts: dict[type, Any] = {}
        checked = {payload: _as_dicts(payload, dicts) if self.as_sent[payload] else payload
                   for payload in self.typed}
        assert len(set(names.values())) == len(names), "payload class names must differ"

        def tag(data: Any) -> str | None:
            try:
                return names[schemas[data["event_data"][discriminator]]]
            except (KeyError, TypeError, IndexError):
                return None

        self.list_adapter = TypeAdapter(list[Annotated[
            Union[tuple(Annotated[_as_typed_dict(envelope, f"{names[payload]}EventDict",  # noqa: UP007
                                                 {"event_data": checked[payload]}),
                                  Tag(names[payload])]
                        for payload in self.typed)],
            Discriminator(tag)]])

    def __call__(self, data: Any) -> tuple[BaseModel, dict[str, Any]] | None:
        event_data = data.get("event_data") if isinstance(data, dict) else None
        tag = event_data.get(self.discriminator) if isinstance(event_data, dict) else None
        payload = self.schemas.get(tag) if isinstance(tag, str) else None
        if payload is None:
            return None
        try:
            env = self.typed[payload].model_validate(data, by_alias=True, by_name=False)
        except ValidationError:
            return None
        return env, self._stored(env.event_data, event_data)

    def many(self, items: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """(envelopes as dicts, event_data as stored) of a list of events, or
        None. An envelope dict holds the members sent (under event_data the
        payload as validated: a dict, without its unknown members, when
        stored as sent, else its model); a member not sent is absent, where
        the model has None."""
        try:
            envs = self.list_adapter.validate_python(items, by_alias=True, by_name=False)
        except ValidationError:
            return None
        # A dict payload is one stored as sent (the common case, decided here
        # without a call).
        return envs, [data["event_data"] if type(payload := env["event_data"]) is dict
                      else self._stored(payload, data["event_data"])
                      for env, data in zip(envs, items)]

    def _stored(self, payload: BaseModel | dict, sent: dict[str, Any]) -> dict[str, Any]:
        """event_data as stored, from its validated payload (a model, or a
        dict when stored as sent) and the object sent: for a payload stored
        as sent, that object itself (not a copy: read it, do not change it)."""
        if type(payload) is dict or self.as_sent[type(payload)]:
            return sent
        return event_data_as_sent(payload, self.discriminator, sent[self.discriminator])
