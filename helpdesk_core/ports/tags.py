"""Stored tags, and which ticket carries which."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from helpdesk_core.domain.tags import Tag, TagCount


class TagRepository(Protocol):
    """Tags, one per key (``Tag.key``), and the tickets that carry them."""

    def add(self, tag: Tag) -> Tag:
        """Store a new tag unless its key is taken; answer the tag stored under its key (a
        concurrent request may have made it first: then that one)."""
        ...

    def get(self, tag_id: uuid.UUID) -> Tag | None:
        """The tag, or None."""
        ...

    def by_keys(self, keys: Collection[str]) -> Mapping[str, Tag]:
        """The tags whose keys are among ``keys``, by key."""
        ...

    def list(self, prefix: str | None = None) -> Sequence[TagCount]:
        """Every tag (whose key starts with the key of ``prefix``, when given) with the
        number of tickets carrying it, by key."""
        ...

    def carried(self, tag_id: uuid.UUID) -> int:
        """How many tickets carry the tag."""
        ...

    def rename(self, tag: Tag) -> None:
        """Store ``tag``'s new name (its version bumped); StaleVersion unless the stored
        version is ``tag.version - 1``; Conflict when the key is another tag's. The names the
        tickets carrying it show change with it (their versions do not)."""
        ...

    def merge(self, source: Tag, target: Tag) -> int:
        """Move ``source`` onto ``target``: every ticket carrying ``source`` carries
        ``target`` instead, ``source`` is gone; the names those tickets show change with it.
        StaleVersion unless ``source.version`` is the stored one. How many tickets it moved."""
        ...

    def of_ticket(self, ticket_id: uuid.UUID) -> Sequence[Tag]:
        """The tags a ticket carries, by key."""
        ...

    def attach(self, ticket_id: uuid.UUID, tag_ids: Sequence[uuid.UUID], at: datetime) -> None:
        """Put the tags on the ticket (those it carries already are left as they are)."""
        ...

    def detach(self, ticket_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]) -> None:
        """Take the tags off the ticket."""
        ...
