"""Tags in SQL: ``tags`` (unique ``name_key``), ``ticket_tags`` (which ticket carries which),
and the names each ticket shows (``tickets.tags``), refreshed by a rename or a merge in one
statement per dialect."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.compiled import CompiledStatement, any_of
from adapters.sql.refusals import Refusal, Refusals, refused_as_conflict
from adapters.sql.tables import tags, ticket_tags
from helpdesk_core.domain.errors import stale_version
from helpdesk_core.domain.tags import Tag, TagCount, tag_key


def _tag_from_row(row: Any) -> Tag:
    return Tag(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _key_order(dialect: str) -> sa.ColumnElement[Any]:
    """``name_key`` in code-point order, as Python sorts the keys (not the server's locale)."""
    return tags.c.name_key.collate("C") if dialect == "postgresql" else tags.c.name_key


_BY_ID = CompiledStatement(sa.select(tags).where(tags.c.id == sa.bindparam("tag_id")), prepare=True)
_BY_KEY = CompiledStatement(
    sa.select(tags).where(tags.c.name_key == sa.bindparam("name_key")), prepare=True
)
_ATTACHED = sa.select(ticket_tags.c.tag_id).where(
    ticket_tags.c.ticket_id == sa.bindparam("ticket_id")
)
_DETACH = sa.delete(ticket_tags).where(
    ticket_tags.c.ticket_id == sa.bindparam("ticket_id"),
    ticket_tags.c.tag_id == sa.bindparam("tag_id"),
)

# The names a ticket shows, from its rows: a rename or a merge rewrites them on every ticket
# carrying the tag (``tag_id``), in one statement.
_REFRESH = {
    "postgresql": sa.text(
        "UPDATE tickets SET tags = coalesce((SELECT jsonb_agg(t.name ORDER BY t.name_key"
        ' COLLATE "C") FROM ticket_tags tt JOIN tags t ON t.id = tt.tag_id'
        " WHERE tt.ticket_id = tickets.id), '[]'::jsonb)"
        " WHERE tickets.id IN (SELECT ticket_id FROM ticket_tags WHERE tag_id = :tag_id)"
    ).bindparams(sa.bindparam("tag_id", type_=sa.Uuid())),
    "sqlite": sa.text(
        "UPDATE tickets SET tags = (SELECT json_group_array(name) FROM (SELECT t.name"
        " FROM ticket_tags tt JOIN tags t ON t.id = tt.tag_id"
        " WHERE tt.ticket_id = tickets.id ORDER BY t.name_key))"
        " WHERE tickets.id IN (SELECT ticket_id FROM ticket_tags WHERE tag_id = :tag_id)"
    ).bindparams(sa.bindparam("tag_id", type_=sa.Uuid())),
}


def _name_taken() -> Refusal[Tag]:
    (constraint,) = (
        c
        for c in tags.constraints
        if isinstance(c, sa.UniqueConstraint) and "name_key" in c.columns
    )

    def probe(connection: sa.Connection, tag: Tag) -> bool | str:
        holder = connection.execute(_BY_KEY.statement, {"name_key": tag.key}).first()
        return False if holder is None or holder.id == tag.id else _says(holder.name)

    return Refusal(str(constraint.name), lambda tag: _says(tag.name), probe)


def _says(name: str) -> str:
    return f"a tag named '{name}' already exists"


_RENAMED = Refusals[Tag]("tag", (_name_taken(),))


class SqlTagRepository:
    """Tags and which tickets carry them."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._dialect = connection.dialect.name

    def _insert(self, table: sa.Table) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    def add(self, tag: Tag) -> Tag:
        statement = (
            self._insert(tags)
            .values(
                id=tag.id,
                name=tag.name,
                name_key=tag.key,
                created_at=tag.created_at,
                updated_at=tag.updated_at,
                version=tag.version,
            )
            .on_conflict_do_nothing(index_elements=["name_key"])
        )
        self._connection.execute(statement)
        row = _BY_KEY.first(self._connection, {"name_key": tag.key})
        assert row is not None  # just written, or written before: never deleted but by merge
        return _tag_from_row(row)

    def get(self, tag_id: uuid.UUID) -> Tag | None:
        row = _BY_ID.first(self._connection, {"tag_id": tag_id})
        return None if row is None else _tag_from_row(row)

    def by_keys(self, keys: Collection[str]) -> Mapping[str, Tag]:
        if not keys:
            return {}
        query = sa.select(tags).where(any_of(tags.c.name_key, "keys", self._dialect))
        rows = self._connection.execute(query, {"keys": sorted(set(keys))})
        return {row.name_key: _tag_from_row(row) for row in rows}

    def list(self, prefix: str | None = None) -> Sequence[TagCount]:
        count = (
            sa.select(sa.func.count())
            .select_from(ticket_tags)
            .where(ticket_tags.c.tag_id == tags.c.id)
            .scalar_subquery()
        )
        query = sa.select(tags, count.label("tickets")).order_by(_key_order(self._dialect))
        if prefix:
            key = tag_key(prefix)
            query = query.where(sa.func.substr(tags.c.name_key, 1, len(key)) == key)
        rows = self._connection.execute(query)
        return [TagCount(_tag_from_row(row), int(row.tickets)) for row in rows]

    def carried(self, tag_id: uuid.UUID) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(ticket_tags)
            .where(ticket_tags.c.tag_id == tag_id)
        )
        return int(self._connection.execute(query).scalar_one())

    def rename(self, tag: Tag) -> None:
        statement = (
            sa.update(tags)
            .where(tags.c.id == tag.id, tags.c.version == tag.version - 1)
            .values(name=tag.name, name_key=tag.key, updated_at=tag.updated_at, version=tag.version)
        )
        with refused_as_conflict(self._connection, _RENAMED, tag):
            result = self._connection.execute(statement)
        if result.rowcount != 1:
            raise stale_version("tag", tag.version)
        self._connection.execute(_REFRESH[self._dialect], {"tag_id": tag.id})

    def merge(self, source: Tag, target: Tag) -> int:
        held = self._connection.execute(  # locked: a concurrent merge or rename waits
            sa.select(tags.c.id)
            .where(tags.c.id == source.id, tags.c.version == source.version)
            .with_for_update()
        ).first()
        if held is None:
            raise stale_version("tag", source.version + 1)
        moved = self._connection.execute(
            sa.select(sa.func.count())
            .select_from(ticket_tags)
            .where(ticket_tags.c.tag_id == source.id)
        ).scalar_one()
        carried = sa.select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag_id == target.id)
        self._connection.execute(
            self._insert(ticket_tags).from_select(
                ["tag_id", "ticket_id", "created_at"],
                sa.select(
                    sa.literal(target.id, sa.Uuid()),
                    ticket_tags.c.ticket_id,
                    ticket_tags.c.created_at,
                ).where(ticket_tags.c.tag_id == source.id, ticket_tags.c.ticket_id.not_in(carried)),
            )
        )
        self._connection.execute(sa.delete(tags).where(tags.c.id == source.id))  # its rows go
        self._connection.execute(_REFRESH[self._dialect], {"tag_id": target.id})
        return int(moved)

    def of_ticket(self, ticket_id: uuid.UUID) -> Sequence[Tag]:
        query = sa.select(tags).where(tags.c.id.in_(_ATTACHED)).order_by(_key_order(self._dialect))
        return [
            _tag_from_row(row) for row in self._connection.execute(query, {"ticket_id": ticket_id})
        ]

    def attach(self, ticket_id: uuid.UUID, tag_ids: Sequence[uuid.UUID], at: datetime) -> None:
        if not tag_ids:
            return
        statement = self._insert(ticket_tags).on_conflict_do_nothing(
            index_elements=["tag_id", "ticket_id"]
        )
        self._connection.execute(
            statement, [{"tag_id": t, "ticket_id": ticket_id, "created_at": at} for t in tag_ids]
        )

    def detach(self, ticket_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]) -> None:
        if tag_ids:
            self._connection.execute(
                _DETACH, [{"ticket_id": ticket_id, "tag_id": t} for t in tag_ids]
            )
