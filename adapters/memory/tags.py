"""Tags in memory: ``state.tags`` by id, ``state.ticket_tags`` by (tag id, ticket id)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from adapters.memory.shared import utc
from helpdesk_core.domain.errors import Conflict, stale_version
from helpdesk_core.domain.tags import Tag, TagCount, shown, tag_key

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


class MemoryTagRepository:
    """Tags; a key is taken by one tag (as the SQL unique key)."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._tags = state.tags
        self._carried = state.ticket_tags

    def add(self, tag: Tag) -> Tag:
        if tag.id in self._tags:
            raise Conflict("a tag with this id already exists")
        existing = self._by_key(tag.key, None)
        if existing is not None:
            return existing
        stored = attrs.evolve(tag, created_at=utc(tag.created_at), updated_at=utc(tag.updated_at))
        self._tags[tag.id] = stored
        return stored

    def get(self, tag_id: uuid.UUID) -> Tag | None:
        return self._tags.get(tag_id)

    def by_keys(self, keys: Collection[str]) -> Mapping[str, Tag]:
        wanted = set(keys)
        return {tag.key: tag for tag in self._tags.values() if tag.key in wanted}

    def list(self, prefix: str | None = None) -> Sequence[TagCount]:
        counts = Counter(tag_id for tag_id, _ in self._carried)
        prefix = tag_key(prefix) if prefix else None
        return [
            TagCount(tag, counts[tag.id])
            for tag in sorted(self._tags.values(), key=lambda t: t.key)
            if prefix is None or tag.key.startswith(prefix)
        ]

    def carried(self, tag_id: uuid.UUID) -> int:
        return sum(1 for carried, _ in self._carried if carried == tag_id)

    def rename(self, tag: Tag) -> None:
        stored = self._tags.get(tag.id)
        if stored is None or stored.version != tag.version - 1:
            raise stale_version("tag", tag.version)
        holder = self._by_key(tag.key, tag.id)
        if holder is not None:
            raise Conflict(f"a tag named '{holder.name}' already exists")
        self._tags[tag.id] = attrs.evolve(tag, updated_at=utc(tag.updated_at))
        self._refresh({ticket for tag_id, ticket in self._carried if tag_id == tag.id})

    def merge(self, source: Tag, target: Tag) -> int:
        stored = self._tags.get(source.id)
        if stored is None or stored.version != source.version:
            raise stale_version("tag", source.version + 1)
        moved = {
            ticket: at for (tag_id, ticket), at in self._carried.items() if tag_id == source.id
        }
        for ticket, at in moved.items():
            del self._carried[(source.id, ticket)]
            self._carried.setdefault((target.id, ticket), at)
        del self._tags[source.id]
        self._refresh(set(moved))
        return len(moved)

    def of_ticket(self, ticket_id: uuid.UUID) -> Sequence[Tag]:
        tags = [self._tags[tag_id] for tag_id, ticket in self._carried if ticket == ticket_id]
        return sorted(tags, key=lambda t: t.key)

    def attach(self, ticket_id: uuid.UUID, tag_ids: Sequence[uuid.UUID], at: datetime) -> None:
        if ticket_id not in self._state.tickets:
            raise Conflict("no such ticket")
        for tag_id in tag_ids:
            if tag_id not in self._tags:
                raise Conflict("no such tag")
            self._carried.setdefault((tag_id, ticket_id), utc(at))

    def detach(self, ticket_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]) -> None:
        for tag_id in tag_ids:
            self._carried.pop((tag_id, ticket_id), None)

    def _by_key(self, key: str, other_than: uuid.UUID | None) -> Tag | None:
        return next((t for t in self._tags.values() if t.key == key and t.id != other_than), None)

    def _refresh(self, ticket_ids: set[uuid.UUID]) -> None:
        """The names the tickets show, after their tags were renamed or moved."""
        tickets = self._state.tickets
        for ticket_id in ticket_ids:
            if ticket_id in tickets:
                tickets[ticket_id] = attrs.evolve(
                    tickets[ticket_id], tags=shown(self.of_ticket(ticket_id))
                )
