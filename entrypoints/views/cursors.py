"""List cursors: the sort key of the last item served, encoded opaquely (base64url of a flat
JSON array of strings and finite numbers), and the kinds of their parts.

The API's lists and the CLI's ``next: --cursor C`` use the same encoding, so a cursor from one
works in the other. Nothing here knows about HTTP: a bad cursor raises ``CursorRefused``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from helpdesk_core.domain.values import storable

# A cursor is short: a few keys, the longest a name of 100 characters (up to ~1 KB of UTF-8
# once casefolded). Anything longer is refused before it is decoded at all.
CURSOR_MAX_CHARS = 2048
_CURSOR_MAX_PARTS = 8
_NUMBER_MAX_CHARS = 32  # a 64-bit integer or a double's repr fits; longer text is refused
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what every store holds
_JSON_SPACE = " \t\n\r"
ISSUED = "is not a cursor this API issued"
OF_THIS_LIST = "is not a cursor of this list"


class _NotACursor(ValueError):
    pass


class CursorRefused(ValueError):
    """Not a cursor this API issued (``reason`` ``ISSUED``), or one of another list
    (``OF_THIS_LIST``). The HTTP layer answers 422 on ``cursor``; the CLI prints one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode_cursor(key: Sequence[Any]) -> str:
    parts = [str(part) if not isinstance(part, int | float) else part for part in key]
    raw = json.dumps(parts, ensure_ascii=False, allow_nan=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _number(text: str, parse: Callable[[str], Any]) -> Any:
    if len(text) > _NUMBER_MAX_CHARS:
        raise _NotACursor(text[:20])
    value = parse(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise _NotACursor(text)
    if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
        raise _NotACursor(text)
    return value


def _refuse_constant(text: str) -> Any:
    raise _NotACursor(text)  # NaN, Infinity, -Infinity: not JSON, never issued


_SCALAR = json.JSONDecoder(
    parse_int=lambda t: _number(t, int),
    parse_float=lambda t: _number(t, float),
    parse_constant=_refuse_constant,
)


def _flat_array(text: str) -> list[Any]:
    """A JSON array of scalars, read one scalar at a time: a nested array or object is refused
    before the parser (whose recursion a deep nesting exhausts) sees it."""

    def skip(at: int) -> int:
        while at < len(text) and text[at] in _JSON_SPACE:
            at += 1
        return at

    at = skip(0)
    if text[at : at + 1] != "[":
        raise _NotACursor("not an array")
    parts: list[Any] = []
    at = skip(at + 1)
    while True:
        if text[at : at + 1] in {"[", "{", ""} or len(parts) >= _CURSOR_MAX_PARTS:
            raise _NotACursor("nested, unterminated or too long")
        value, at = _SCALAR.raw_decode(text, at)
        parts.append(value)
        at = skip(at)
        if text[at : at + 1] == ",":
            at = skip(at + 1)
        elif text[at : at + 1] == "]":
            break
        else:
            raise _NotACursor("not an array")
    if skip(at + 1) != len(text):
        raise _NotACursor("trailing data")
    return parts


def decode_cursor(cursor: str, shape: Sequence[Part] | None = None) -> tuple[Any, ...]:
    """The parts of a cursor this API issued: a flat JSON array of strings and finite numbers
    (integers within 64 bits), base64url-encoded; with ``shape``, one part of each kind in
    order. Anything else, of any size or nesting, raises ``CursorRefused``."""
    if len(cursor) > CURSOR_MAX_CHARS:
        raise CursorRefused(ISSUED)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
        value = _flat_array(text)
    except (binascii.Error, ValueError, UnicodeError):  # JSONDecodeError is a ValueError
        raise CursorRefused(ISSUED) from None
    if (
        not value
        or not all(isinstance(p, str | int | float) and not isinstance(p, bool) for p in value)
        or not all(storable(p) for p in value if isinstance(p, str))
    ):
        raise CursorRefused(ISSUED)
    if shape is not None and (
        len(value) != len(shape) or not all(fits(p) for fits, p in zip(shape, value, strict=True))
    ):
        raise CursorRefused(OF_THIS_LIST)
    return tuple(value)


# ---------------------------------------------------------------- the kinds of a cursor's parts

Part = Callable[[Any], bool]


def is_text(part: Any) -> bool:
    return isinstance(part, str)


def is_id(part: Any) -> bool:
    if not isinstance(part, str) or len(part) > 45:
        return False
    try:
        uuid.UUID(part)
    except ValueError:
        return False
    return True


def is_time(part: Any) -> bool:
    """An ISO 8601 timestamp with an offset, within the years every store holds."""
    if not isinstance(part, str) or len(part) > 64:
        return False
    try:
        parsed = datetime.fromisoformat(part)
    except ValueError:
        return False
    return parsed.tzinfo is not None and representable(parsed)


def is_number(part: Any) -> bool:
    return isinstance(part, int | float) and not isinstance(part, bool)


def whole(low: int, high: int) -> Part:
    """The kind of an integer from ``low`` to ``high``."""

    def fits(part: Any) -> bool:
        return isinstance(part, int) and not isinstance(part, bool) and low <= part <= high

    return fits


def representable(value: datetime) -> bool:
    """Convertible to UTC without leaving the years databases store (1900..9998)."""
    try:
        return 1900 <= value.astimezone(UTC).year <= 9998
    except OverflowError:
        return False
