"""Password hashing and signed tokens (implemented with libpass and itsdangerous)."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    """Hashes and verifies passwords with an adaptive, salted algorithm."""

    def hash(self, password: str) -> str:
        """A new hash of ``password`` with the current scheme and cost."""
        ...

    def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """Whether ``password`` matches, and a replacement hash when the stored one is outdated."""
        ...

    def dummy_verify(self) -> None:
        """Spend the time of one verify, so unknown accounts answer as slowly as known ones."""
        ...


class TokenSigner(Protocol):
    """Signs and checks small payloads; a salt per purpose, several keys for rotation."""

    def sign(self, purpose: str, payload: str) -> str:
        """A URL-safe token carrying ``payload`` for ``purpose``, signed with the newest key."""
        ...

    def unsign(self, purpose: str, token: str, max_age_seconds: int) -> str:
        """The payload of a valid token; raises AuthenticationFailed otherwise."""
        ...

    def derive(self, purpose: str, value: str) -> tuple[str, ...]:
        """A secret, URL-safe value computed from ``value`` with each key, newest key first:
        the same inputs give the same results, and nobody without a key can compute them."""
        ...
