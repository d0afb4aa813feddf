"""Mailboxes' IMAP settings and poll state (SQLAlchemy Core): the ``mailbox_imap`` table.

Read by the poller once per poll of a mailbox and written a few times per fetched message,
changed by administrators rarely: every statement runs through ``Connection.execute``.

Storing settings is one upsert (``INSERT ... ON CONFLICT (mailbox_id) DO UPDATE``, on both
databases), so two administrators setting one mailbox at once store one row, the later one's.
The poll state is written alone (``set_state``), never the settings with it: a poll that
began before an administrator's change cannot put the old settings back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql.mail_tables import mailbox_imap
from adapters.sql.refusals import Refusals, reference, refused_as_conflict
from adapters.sql.tables import mailboxes
from helpdesk_core.domain.mail_fetch import ImapSecurity, MailboxImap

_PUT = Refusals[MailboxImap](
    "mailbox's IMAP settings", (reference(mailbox_imap.c.mailbox_id, "no such mailbox"),)
)
_SETTINGS = (
    "host",
    "port",
    "security",
    "username",
    "password",
    "folder",
    "move_to",
    "uidvalidity",
    "last_uid",
    "polled_at",
    "last_error",
    "updated_at",
    "version",
)


def _values(config: MailboxImap) -> dict[str, Any]:
    return {
        "mailbox_id": config.mailbox_id,
        "host": config.host,
        "port": config.port,
        "security": config.security,
        "username": config.username,
        "password": config.password,
        "folder": config.folder,
        "move_to": config.move_to,
        "uidvalidity": config.uidvalidity,
        "last_uid": config.last_uid,
        "polled_at": config.polled_at,
        "last_error": config.last_error,
        "created_at": config.created_at,
        "updated_at": config.updated_at,
        "version": config.version,
    }


def _from_row(row: Any) -> MailboxImap:
    return MailboxImap(
        mailbox_id=row.mailbox_id,
        host=row.host,
        port=row.port,
        security=ImapSecurity(row.security),
        username=row.username,
        password=row.password,
        folder=row.folder,
        move_to=row.move_to,
        uidvalidity=row.uidvalidity,
        last_uid=row.last_uid,
        polled_at=row.polled_at,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _upsert(dialect: str) -> Any:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(mailbox_imap)
    return insert.on_conflict_do_update(
        index_elements=["mailbox_id"],
        set_={name: getattr(insert.excluded, name) for name in _SETTINGS},
    )


class SqlMailFetchRepository:
    """One row per mailbox with IMAP settings; the mailbox must exist."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection

    def get(self, mailbox_id: uuid.UUID, for_update: bool = False) -> MailboxImap | None:
        query = sa.select(mailbox_imap).where(mailbox_imap.c.mailbox_id == mailbox_id)
        if for_update and self._connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else _from_row(row)

    def put(self, config: MailboxImap) -> None:
        statement = _upsert(self._connection.dialect.name).values(**_values(config))
        with refused_as_conflict(self._connection, _PUT, config):
            self._connection.execute(statement)

    def delete(self, mailbox_id: uuid.UUID) -> bool:
        result = self._connection.execute(
            sa.delete(mailbox_imap).where(mailbox_imap.c.mailbox_id == mailbox_id)
        )
        return result.rowcount > 0

    def set_state(
        self,
        mailbox_id: uuid.UUID,
        *,
        uidvalidity: int | None,
        last_uid: int,
        polled_at: datetime | None,
        last_error: str | None,
    ) -> bool:
        result = self._connection.execute(
            sa.update(mailbox_imap)
            .where(mailbox_imap.c.mailbox_id == mailbox_id)
            .values(
                uidvalidity=uidvalidity,
                last_uid=last_uid,
                polled_at=polled_at,
                last_error=last_error,
            )
        )
        return result.rowcount > 0

    def list_active(self) -> Sequence[MailboxImap]:
        query = (
            sa.select(mailbox_imap)
            .join(mailboxes, mailboxes.c.id == mailbox_imap.c.mailbox_id)
            .where(mailboxes.c.is_active == sa.true())
            .order_by(mailbox_imap.c.mailbox_id)
        )
        return [_from_row(row) for row in self._connection.execute(query)]
