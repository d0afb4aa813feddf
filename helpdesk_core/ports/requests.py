"""The stored answers of requests that carried an Idempotency-Key and answer more than one
ticket (a bulk action): claimed before the work, filled in after it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import attrs


@attrs.frozen
class StoredAnswer:
    """A claimed key: the request's fingerprint, and its answer once the work is done."""

    fingerprint: str
    answer: dict[str, Any] | None


class RequestAnswerRepository(Protocol):
    def claim(
        self, user_id: uuid.UUID, key: str, fingerprint: str, at: datetime
    ) -> StoredAnswer | None:
        """Claim ``key`` for the user's request: None when this call claimed it (the work may
        begin), else what the key holds (a concurrent claim of a key waits for the first to
        end, then sees it)."""
        ...

    def store(self, user_id: uuid.UUID, key: str, answer: dict[str, Any]) -> None:
        """The answer of the request that claimed ``key``."""
        ...
