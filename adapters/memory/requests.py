"""Stored answers in memory: ``state.request_answers`` by (user id, key)."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from helpdesk_core.ports.requests import StoredAnswer

if TYPE_CHECKING:
    from adapters.memory.uow import MemoryState


class MemoryRequestAnswerRepository:
    def __init__(self, state: MemoryState) -> None:
        self._answers = state.request_answers

    def claim(
        self, user_id: uuid.UUID, key: str, fingerprint: str, at: datetime
    ) -> StoredAnswer | None:
        found = self._answers.get((user_id, key))
        if found is not None:
            return found
        self._answers[(user_id, key)] = StoredAnswer(fingerprint, None)
        return None

    def store(self, user_id: uuid.UUID, key: str, answer: dict[str, Any]) -> None:
        claimed = self._answers[(user_id, key)]
        self._answers[(user_id, key)] = StoredAnswer(claimed.fingerprint, copy.deepcopy(answer))
