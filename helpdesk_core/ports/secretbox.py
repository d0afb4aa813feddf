"""Secrets kept at rest: sealed (encrypted and authenticated) before they are stored.

A webhook's signing secret must be readable by the worker (it signs every delivery with it),
so it cannot be hashed like a password; it is sealed with a key derived from the service's
secret keys instead. Keys rotate: a box seals with the newest key and opens what any of its
keys sealed, so a secret sealed before a rotation stays readable until it is sealed again.
"""

from __future__ import annotations

from typing import Protocol


class SecretUnreadable(Exception):
    """No configured key opens the sealed value, or it was altered."""


class SecretBox(Protocol):
    """Seals short secrets for storage and opens them again (one purpose per box)."""

    def seal(self, plaintext: str) -> str:
        """``plaintext`` encrypted and authenticated under the newest key, as ASCII text; a
        different value every call, and nothing of the plaintext readable in it."""
        ...

    def open(self, sealed: str) -> str:
        """The plaintext of a value sealed with any configured key; SecretUnreadable when
        none opens it (a removed key, another purpose) or it was altered."""
        ...

    def is_current(self, sealed: str) -> bool:
        """Whether ``sealed`` was sealed with the newest key (False for anything else,
        including values no key opens)."""
        ...
