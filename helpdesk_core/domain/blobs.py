"""The limits a file keeps before its bytes are stored: a largest size and the media types
allowed, from configuration (``HELPDESK_ATTACHMENT_MAX_BYTES``,
``HELPDESK_ATTACHMENT_MIME_TYPES``).

Every way in (a mail's attachments, an upload through the API) asks the same
:class:`AttachmentLimits`, so a file refused one way is refused the other, with the same words.

A content type is compared as its bare ``type/subtype``: lower-cased, without parameters
(``Text/Plain; charset=utf-8`` is ``text/plain``), and only when it is a media type at all
(RFC 6838 names: ``image/png``, ``application/vnd.ms-excel``); ``image``, ``image/``,
``*/*`` or a type with spaces in it is refused whatever the patterns allow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import one_line

DEFAULT_ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
ANY_TYPE = "*/*"

# RFC 6838 section 4.2: a type or subtype name, compared in lower case.
_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(rf"{_NAME}/{_NAME}")
_PATTERN = re.compile(rf"\*/\*|{_NAME}/(?:\*|{_NAME})")
_SHOWN_NAME_MAX = 80
_KIB = 1024


def media_type(content_type: str) -> str | None:
    """The bare ``type/subtype`` of ``content_type``, lower-cased and without parameters, or
    None when it is no media type."""
    bare = content_type.split(";", 1)[0].strip()
    if not bare.isascii():  # before lower(): U+212A KELVIN SIGN would become an ASCII "k"
        return None
    bare = bare.lower()
    return bare if _MEDIA_TYPE.fullmatch(bare) else None


def _patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    if isinstance(patterns, str):  # one string would be read as its characters
        raise TypeError("types must be a sequence of media-type patterns, not one string")
    normalized = []
    for given in patterns:
        pattern = given.strip()
        if not pattern.isascii() or not _PATTERN.fullmatch(pattern.lower()):
            raise ValueError(f"{given!r} is not a media-type pattern (type/subtype, type/* or */*)")
        normalized.append(pattern.lower())
    return tuple(normalized)


def _size_limit(instance: object, attribute: object, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"max_bytes must be a whole number of bytes, not {value!r}")


def size_text(size: int) -> str:
    """``size`` as a person reads it: bytes, KB, MB or GB (of 1,024), one decimal at most."""
    if size < _KIB:
        return "1 byte" if size == 1 else f"{size} bytes"
    for unit, scale in (("KB", _KIB), ("MB", _KIB**2), ("GB", _KIB**3)):
        if size < scale * _KIB or unit == "GB":
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


@attrs.frozen
class AttachmentLimits:
    """The largest file accepted (``max_bytes``, inclusive) and the media types allowed.

    ``types`` holds patterns: ``image/png`` (that type), ``image/*`` (any image) or ``*/*``
    (any type); they are stored lower-cased, and one that is none of these is a ValueError
    when the limits are made, not a pattern silently matching nothing. No pattern at all
    allows no file.
    """

    max_bytes: int = attrs.field(default=DEFAULT_ATTACHMENT_MAX_BYTES, validator=_size_limit)
    types: tuple[str, ...] = attrs.field(default=(ANY_TYPE,), converter=_patterns)

    def allows(self, content_type: str, size: int) -> bool:
        """Whether a file of ``content_type`` and ``size`` bytes may be stored."""
        return self._problem(content_type, size) is None

    def allows_type(self, content_type: str) -> bool:
        """Whether ``content_type`` is a media type the patterns allow, whatever the size."""
        bare = media_type(content_type)
        return bare is not None and any(_matches(pattern, bare) for pattern in self.types)

    def check(self, filename: str, content_type: str, size: int, field: str = "file") -> None:
        """Nothing when the file may be stored; ValidationFailed naming ``field`` otherwise,
        with the cause: its type, or its size against the limit (the type is told first: a
        file of a type never allowed is refused whatever its size)."""
        problem = self._problem(content_type, size)
        if problem is None:
            return
        name = one_line(filename)
        if len(name) > _SHOWN_NAME_MAX:
            name = name[: _SHOWN_NAME_MAX - 1] + "\u2026"
        if name:
            problem = f"{name} {problem}" if problem.startswith("is ") else f"{name}: {problem}"
        raise ValidationFailed.field(field, problem)

    def _problem(self, content_type: str, size: int) -> str | None:
        bare = media_type(content_type)
        if bare is None:
            shown = one_line(content_type)[:_SHOWN_NAME_MAX]
            return f"type {shown!r} is not a media type (type/subtype)"
        if not any(_matches(pattern, bare) for pattern in self.types):
            return f"type {bare} is not allowed"
        if size < 0:
            return "the size must not be negative"
        if size > self.max_bytes:
            said, limit = size_text(size), size_text(self.max_bytes)
            if said == limit:  # 25 MB and a byte more: only the bytes tell them apart
                said, limit = f"{size} bytes", f"{self.max_bytes} bytes"
            return f"is {said}; the limit is {limit}"
        return None


def _matches(pattern: str, bare: str) -> bool:
    if pattern == ANY_TYPE:
        return True
    if pattern.endswith("/*"):
        return bare.startswith(pattern[:-1])
    return bare == pattern
