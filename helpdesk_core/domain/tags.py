"""Tags: short names staff put on tickets to sort work.

A tag's name is trimmed and its runs of white space collapsed; names are compared by their
key (:func:`tag_key`: the same, case folded), so ``VIP``, ``vip`` and `` Vip `` are one tag,
shown as first written. A ticket shows the names of its tags in the order of their keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import clean_text, name_key

TAG_NAME_MAX = 50  # characters of a tag's name
TAGS_PER_TICKET_MAX = 50  # tags one ticket may carry
TAGS_PER_CHANGE_MAX = 50  # names one request may add, and as many it may remove


def _aware(_instance: Any, attribute: attrs.Attribute[Any], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must be timezone-aware")


@attrs.frozen
class Tag:
    """One tag; ``name`` as first written (or as an administrator renamed it)."""

    id: uuid.UUID
    name: str
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    version: int = 1

    @property
    def key(self) -> str:
        return tag_key(self.name)


@attrs.frozen
class TagCount:
    """A tag and how many tickets carry it."""

    tag: Tag
    tickets: int


def tag_key(name: str) -> str:
    """What makes two names one tag: white space collapsed, case folded."""
    return name_key(name)


def tag_name(value: Any, field: str) -> str:
    """A tag's name as it is kept: one clean line of 1 to ``TAG_NAME_MAX`` characters,
    trimmed, its runs of white space made one space. ValidationFailed naming ``field``."""
    if not isinstance(value, str):
        raise ValidationFailed.field(field, "must be a string")
    return " ".join(clean_text(value, field, max_length=TAG_NAME_MAX).split())


def tag_names(values: Iterable[Any], field: str) -> tuple[str, ...]:
    """Names (``field.0``, ``field.1`` ... in errors), one per key, in the order given."""
    names: dict[str, str] = {}
    for index, value in enumerate(values):
        name = tag_name(value, f"{field}.{index}")
        names.setdefault(tag_key(name), name)
    return tuple(names.values())


def shown(tags: Iterable[Tag]) -> tuple[str, ...]:
    """The names a ticket carrying ``tags`` shows: in the order of their keys."""
    return tuple(tag.name for tag in sorted(tags, key=lambda tag: tag.key))


@attrs.frozen
class TagChange:
    """What a change of one ticket's tags did: the names added and removed."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def change_of(
    current: Sequence[Tag], adding: Sequence[Tag], removing_keys: Iterable[str]
) -> tuple[tuple[Tag, ...], TagChange]:
    """The tags a ticket carrying ``current`` carries once ``adding`` are added and the tags
    whose keys are ``removing_keys`` removed (a name both added and removed is removed), and
    what changed."""
    removing = set(removing_keys)
    have = {tag.key: tag for tag in current}
    after = {key: tag for key, tag in have.items() if key not in removing}
    for tag in adding:
        if tag.key not in removing:
            after.setdefault(tag.key, tag)
    added = shown(tag for key, tag in after.items() if key not in have)
    removed = shown(tag for key, tag in have.items() if key not in after)
    return tuple(after.values()), TagChange(added, removed)
