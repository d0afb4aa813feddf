"""Password hashing over libpass's ``CryptContext``: argon2id by default, bcrypt on request.

Every scheme the service ever used stays verifiable; a hash of another scheme, or of a weaker
cost than configured, verifies and comes back with a replacement the caller stores.
"""

from __future__ import annotations

import logging

from passlib.context import CryptContext
from passlib.exc import MissingBackendError

logger = logging.getLogger(__name__)

# "bcrypt" in the configuration means bcrypt_sha256: the password is pre-hashed, so nothing
# past byte 72 is silently ignored. Plain bcrypt stays only to verify legacy hashes.
_SCHEMES: dict[str, list[str]] = {
    "argon2": ["argon2", "bcrypt_sha256", "bcrypt"],
    "bcrypt": ["bcrypt_sha256", "argon2", "bcrypt"],
}


class LibpassHasher:
    """A ``PasswordHasher``; the defaults are libpass's argon2id ones (64 MiB, t=3, p=4)."""

    def __init__(
        self,
        scheme: str = "argon2",
        argon2_memory_kib: int = 65536,
        argon2_time_cost: int = 3,
        argon2_parallelism: int = 4,
        bcrypt_rounds: int = 12,
    ) -> None:
        if scheme not in _SCHEMES:
            raise ValueError(f"unknown password scheme {scheme!r}; expected argon2 or bcrypt")
        self._context = CryptContext(
            schemes=_SCHEMES[scheme],
            deprecated="auto",
            argon2__memory_cost=argon2_memory_kib,
            argon2__rounds=argon2_time_cost,
            argon2__parallelism=argon2_parallelism,
            bcrypt_sha256__rounds=bcrypt_rounds,
            bcrypt__rounds=bcrypt_rounds,
        )
        # The first dummy verify also hashes the dummy password (twice the cost): pay that now,
        # so even the first unknown-account login costs one verify. It also fails fast when the
        # default scheme has no backend installed (bcrypt without the bcrypt package).
        self._context.dummy_verify()

    def hash(self, password: str) -> str:
        """A new hash with the configured scheme and cost (ValueError past 4096 characters)."""
        return self._context.hash(password)

    def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """(matches, replacement hash or None); never raises, whatever the input."""
        try:
            ok, new_hash = self._context.verify_and_update(password, password_hash)
        except (ValueError, TypeError):
            # Unknown or malformed hash, an over-long password, or a password over 72 bytes
            # against a legacy plain-bcrypt hash (bcrypt 5 refuses it): all a plain mismatch.
            return False, None
        except MissingBackendError:
            logger.error("cannot verify a password: the backend of its hash scheme is missing")
            return False, None
        return bool(ok), new_hash

    def dummy_verify(self) -> None:
        """Spend one verify's time on nothing (an unknown account must answer as slowly)."""
        self._context.dummy_verify()
