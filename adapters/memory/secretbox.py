"""An in-memory SecretBox for tests and the embedded store: the standard library only.

It keeps the port's promises (nothing of the plaintext readable, a fresh value per seal,
tampering detected, the newest key seals, any key opens, a purpose does not open another's
values) with a SHA-256 keystream and an HMAC tag. It is not meant to resist cryptanalysis:
production seals with :class:`adapters.security.secretbox.FernetSecretBox`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from helpdesk_core.ports.secretbox import SecretUnreadable

_PREFIX = "memsealed1"


def _key(key: str, purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}\x00{key}".encode()).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = bytearray()
    counter = 0
    while len(blocks) < length:
        blocks += hashlib.sha256(key + nonce + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(blocks[:length])


class MemorySecretBox:
    """Seals with the newest of ``keys``, opens with any of them."""

    def __init__(self, keys: Sequence[str], purpose: str) -> None:
        if isinstance(keys, str) or not keys:
            raise ValueError("a SecretBox needs a sequence of at least one key")
        if not purpose:
            raise ValueError("a SecretBox needs a purpose")
        self._keys = [_key(key, purpose) for key in keys]

    def seal(self, plaintext: str) -> str:
        return self._seal_with(self._keys[0], plaintext.encode())

    @staticmethod
    def _seal_with(key: bytes, data: bytes) -> str:
        nonce = secrets.token_bytes(16)
        body = bytes(a ^ b for a, b in zip(data, _stream(key, nonce, len(data)), strict=True))
        tag = hmac.new(key, nonce + body, hashlib.sha256).digest()
        return f"{_PREFIX}.{base64.urlsafe_b64encode(nonce + tag + body).decode('ascii')}"

    @staticmethod
    def _open_with(key: bytes, sealed: str) -> bytes | None:
        prefix, _, text = sealed.partition(".")
        if prefix != _PREFIX:
            return None
        try:
            raw = base64.urlsafe_b64decode(text.encode("ascii"))
        except (ValueError, UnicodeError):
            return None
        nonce, tag, body = raw[:16], raw[16:48], raw[48:]
        if len(tag) != 32 or not hmac.compare_digest(
            tag, hmac.new(key, nonce + body, hashlib.sha256).digest()
        ):
            return None
        return bytes(a ^ b for a, b in zip(body, _stream(key, nonce, len(body)), strict=True))

    def open(self, sealed: str) -> str:
        for key in self._keys:
            data = self._open_with(key, sealed)
            if data is not None:
                try:
                    return data.decode()
                except UnicodeError:
                    break
        raise SecretUnreadable("no configured key opens this sealed secret (or it was altered)")

    def is_current(self, sealed: str) -> bool:
        return self._open_with(self._keys[0], sealed) is not None
