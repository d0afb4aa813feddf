"""The HTTP edge's cattrs converter: strict JSON in, field errors out.

cattrs is lenient by default (a ``str`` field takes ``1`` and turns it into "1", ``bool`` takes
"false" as True). These hooks accept only the JSON type the API documents, so a wrong type is a
422 naming the field, never a silent coercion or a 500.
"""

from __future__ import annotations

import enum
import functools
import re
import types
import typing
import uuid
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.preconf.json import make_converter

from entrypoints.http.fields import body_error, invalid_body
from helpdesk_core.domain.errors import FieldError, ValidationFailed
from helpdesk_core.domain.values import unstorable

T = TypeVar("T")
# A string that is compared and never stored (a login's email and password): any JSON string.
Credential = typing.NewType("Credential", str)
_NOT_NULL = "helpdesk.not_null"
# attrs field metadata of a body field that may be left out but never sent as null: where
# null means nothing (a status, a priority, a role), it is a 422, not "no change".
# ``status: TicketStatus | None = attrs.field(default=None, metadata=NOT_NULL)``
NOT_NULL: Mapping[str, bool] = types.MappingProxyType({_NOT_NULL: True})


class _WrongType(ValueError):
    pass


@attrs.frozen
class OutOfRange:
    """A JSON number no field takes: longer than ``NUMBER_MAX_CHARS`` or beyond a double.

    The app's JSON loader (``app._loads``) puts one in place of such a number, so that it is
    never handed to ``int()`` (whose 4,300-digit limit raises an error quoting Python's
    internals) and its field answers an ordinary 422: "is too large"."""

    text: str


NUMBER_MAX_CHARS = 32  # a 64-bit integer and any double's repr fit with room to spare


def _strict(expected: type, name: str) -> Any:
    def hook(value: Any, _type: Any) -> Any:
        if isinstance(value, OutOfRange):
            raise _WrongType("is too large" if expected in (int, float) else f"must be {name}")
        if expected is str and isinstance(value, str):
            reason = unstorable(value)
            if reason is not None:
                raise _WrongType(reason)
            return value
        if expected is int and isinstance(value, bool):
            raise _WrongType(f"must be {name}")
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, expected):
            raise _WrongType(f"must be {name}")
        return value

    return hook


def _credential(value: Any, _type: Any) -> str:
    if not isinstance(value, str):
        raise _WrongType("must be a string")
    return value


def _uuid(value: Any, _type: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise _WrongType("must be an id (a UUID string)")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _WrongType("must be an id (a UUID string)") from None


def _datetime(value: Any, _type: Any) -> datetime:
    if not isinstance(value, str):
        raise _WrongType("must be an ISO 8601 timestamp with an offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _WrongType("must be an ISO 8601 timestamp with an offset") from None
    if parsed.tzinfo is None:
        raise _WrongType("must be an ISO 8601 timestamp with an offset")
    return parsed


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(value: Any, _type: Any) -> date:
    # Only YYYY-MM-DD: date.fromisoformat would also take 20261224 and 2026-W52-4.
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise _WrongType("must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _WrongType("must be a date as YYYY-MM-DD") from None


def _enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    allowed = [m.value for m in cls]
    if isinstance(value, str) and value in allowed:
        return cls(value)
    raise _WrongType("must be one of " + ", ".join(map(str, allowed)))


def make_http_converter() -> cattrs.Converter:
    """The converter for request bodies and query values: strict scalars, no extra keys."""
    converter = make_converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(int, _strict(int, "a whole number"))
    converter.register_structure_hook(float, _strict(float, "a number"))
    converter.register_structure_hook(bool, _strict(bool, "true or false"))
    converter.register_structure_hook(Credential, _credential)
    # Dispatch follows the MRO: a StrEnum is also a str, so it needs its own, nearer hook.
    for base in (enum.Enum, enum.StrEnum, enum.IntEnum):
        converter.register_structure_hook(base, _enum)
    converter.register_structure_hook(uuid.UUID, _uuid)
    converter.register_structure_hook(datetime, _datetime)
    converter.register_structure_hook(date, _date)
    converter.register_unstructure_hook(uuid.UUID, str)
    return converter


def _message(exc: BaseException) -> str:
    if isinstance(exc, _WrongType):
        return str(exc)
    if isinstance(exc, KeyError):
        return "is required"
    if isinstance(exc, TypeError | ValueError):
        return "has the wrong type"
    return "is invalid"


def _field_errors(exc: BaseException, at: tuple[str | int, ...] = ()) -> Iterator[FieldError]:
    """Walk cattrs' exception tree: one error per bad value, at its exact place in the body
    (keys holding dots or brackets stay whole), and one per unknown field, named by itself."""
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        for name in sorted(exc.extra_fields):
            yield body_error((*at, name), "is not a known field")
    elif isinstance(exc, cattrs.ClassValidationError):
        with_notes, others = exc.group_exceptions()
        for inner, note in with_notes:
            yield from _field_errors(inner, (*at, note.name))
        for inner in others:
            yield from _field_errors(inner, at)
    elif isinstance(exc, cattrs.IterableValidationError):
        indexed, others = exc.group_exceptions()
        for inner, item in indexed:
            yield from _field_errors(inner, (*at, item.index))
        for inner in others:
            yield from _field_errors(inner, at)
    elif isinstance(exc, BaseExceptionGroup):
        for nested in exc.exceptions:
            yield from _field_errors(nested, at)
    else:
        yield body_error(at, _message(exc))


def structure(converter: cattrs.Converter, data: Any, cls: type[T]) -> T:
    """``data`` as an instance of ``cls``, or ValidationFailed naming every bad field."""
    if not isinstance(data, dict):
        raise invalid_body((), "must be a JSON object")
    shape_errors = tuple(_shape_errors(data, cls, ()))
    if shape_errors:
        raise ValidationFailed(_summary(shape_errors), shape_errors)
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, _WrongType) as exc:
        errors = tuple(_field_errors(exc))
        raise ValidationFailed(_summary(errors), errors) from None


def _shape_errors(data: Any, cls: Any, at: tuple[str | int, ...]) -> Iterator[FieldError]:
    """Lists where the API wants lists (cattrs would take any iterable: a string, an object),
    and no null in a ``NOT_NULL`` field."""
    if not attrs.has(cls) or not isinstance(data, dict):
        return
    hints = _type_hints(cls)
    for field in attrs.fields(cls):
        if field.name not in data:
            continue
        value, path = data[field.name], (*at, field.name)
        if value is None:
            if field.metadata.get(_NOT_NULL):
                yield body_error(path, "must not be null (leave it out to keep the value)")
            continue
        kind = _unoptional(hints[field.name])
        if typing.get_origin(kind) in (tuple, list):
            if not isinstance(value, list):
                yield body_error(path, "must be a list")
                continue
            (item_type, *_rest) = typing.get_args(kind) or (Any,)
            for i, item in enumerate(value):
                yield from _shape_errors(item, item_type, (*path, i))
        elif attrs.has(kind):
            yield from _shape_errors(value, kind, path)


@functools.cache
def _type_hints(cls: Any) -> dict[str, Any]:
    """The resolved annotations of a request class: resolved once, not on every request."""
    return typing.get_type_hints(cls)


def _unoptional(kind: Any) -> Any:
    """``X`` for ``X | None`` (a null was already let through), else ``kind`` itself."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return kind


def _summary(errors: tuple[FieldError, ...]) -> str:
    return (
        "; ".join(f"{e.field or 'body'}: {e.message}" for e in errors) or "the request is invalid"
    )
