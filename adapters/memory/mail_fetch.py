"""In-memory storage of mailboxes' IMAP settings and poll state, over a transaction's working
MemoryState: the rules of ``adapters/sql/mail_fetch.py`` (one per mailbox, the mailbox must
exist, the state written without the settings, the active ones by mailbox id). Memory
transactions that write are serialized, so ``for_update`` has nothing more to lock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from adapters.memory.shared import utc, utc_or_none
from helpdesk_core.domain.errors import Conflict
from helpdesk_core.domain.mail_fetch import MailboxImap

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


class MemoryMailFetchRepository:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._configs = state.mailbox_imap

    def get(self, mailbox_id: uuid.UUID, for_update: bool = False) -> MailboxImap | None:
        return self._configs.get(mailbox_id)

    def put(self, config: MailboxImap) -> None:
        if config.mailbox_id not in self._state.mailboxes:
            raise Conflict("no such mailbox")
        stored = self._configs.get(config.mailbox_id)
        created_at = config.created_at if stored is None else stored.created_at
        self._configs[config.mailbox_id] = attrs.evolve(
            config,
            created_at=utc(created_at),
            updated_at=utc(config.updated_at),
            polled_at=utc_or_none(config.polled_at),
        )

    def delete(self, mailbox_id: uuid.UUID) -> bool:
        return self._configs.pop(mailbox_id, None) is not None

    def set_state(
        self,
        mailbox_id: uuid.UUID,
        *,
        uidvalidity: int | None,
        last_uid: int,
        polled_at: datetime | None,
        last_error: str | None,
    ) -> bool:
        stored = self._configs.get(mailbox_id)
        if stored is None:
            return False
        self._configs[mailbox_id] = attrs.evolve(
            stored,
            uidvalidity=uidvalidity,
            last_uid=last_uid,
            polled_at=utc_or_none(polled_at),
            last_error=last_error,
        )
        return True

    def list_active(self) -> Sequence[MailboxImap]:
        mailboxes = self._state.mailboxes
        active = [
            config
            for mailbox_id, config in self._configs.items()
            if mailbox_id in mailboxes and mailboxes[mailbox_id].is_active
        ]
        return sorted(active, key=lambda config: config.mailbox_id)
