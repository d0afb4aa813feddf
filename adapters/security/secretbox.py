"""SecretBox over the cryptography package: Fernet (AES-128-CBC + HMAC-SHA256) per key.

Each configured key (``HELPDESK_SECRET_KEYS``, newest first) gives one Fernet key through
HKDF-SHA256 with a purpose label, so the bytes that seal webhook secrets are never the bytes
that sign tokens, and a value sealed for one purpose does not open for another. MultiFernet
seals with the newest key and opens with any of them: rotating keys (prepend the new one,
keep the old one until everything is sealed again) leaves every stored secret readable.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from helpdesk_core.ports.secretbox import SecretUnreadable

_INFO_PREFIX = b"helpdesk secretbox v1: "


def derive_fernet_key(key: str, purpose: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) ``key`` gives for ``purpose``."""
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=_INFO_PREFIX + purpose.encode(),
    ).derive(key.encode())
    return base64.urlsafe_b64encode(derived)


class FernetSecretBox:
    """Seals with the newest of ``keys``, opens with any; ``purpose`` separates uses."""

    def __init__(self, keys: Sequence[str], purpose: str) -> None:
        if isinstance(keys, str) or not keys:
            raise ValueError("a SecretBox needs a sequence of at least one key")
        if not purpose:
            raise ValueError("a SecretBox needs a purpose")
        fernets = [Fernet(derive_fernet_key(key, purpose)) for key in keys]
        self._newest = fernets[0]
        self._all = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "FernetSecretBox(...)"

    def seal(self, plaintext: str) -> str:
        return self._all.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._all.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable(
                "no configured key opens this sealed secret (or it was altered)"
            ) from exc

    def is_current(self, sealed: str) -> bool:
        try:
            self._newest.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True
