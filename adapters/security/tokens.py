"""Signed, timestamped tokens over itsdangerous: a salt per purpose, HMAC-SHA256, key rotation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from itsdangerous import BadData, SignatureExpired, Signer, URLSafeTimedSerializer

from helpdesk_core.domain.errors import AuthenticationFailed


class ItsdangerousSigner:
    """A ``TokenSigner``. ``secret_keys`` are newest first; tokens are signed with the newest,
    and verified against every key still listed (drop a key to void what it signed)."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        keys = [key for key in secret_keys if key]
        if not keys:
            raise ValueError("at least one secret key is needed to sign tokens")
        # itsdangerous signs with the LAST key of the list and verifies against all of them.
        self._keys = list(reversed(keys))
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = URLSafeTimedSerializer(
                self._keys, salt=purpose, signer_kwargs={"digest_method": hashlib.sha256}
            )
            # Racing threads may build two equal serializers; either one is fine.
            self._serializers[purpose] = serializer
        return serializer

    def sign(self, purpose: str, payload: str) -> str:
        """A URL-safe token carrying ``payload`` for ``purpose``, signed with the newest key."""
        return self._serializer(purpose).dumps(payload)

    def unsign(self, purpose: str, token: str, max_age_seconds: int) -> str:
        """The payload; AuthenticationFailed when expired, tampered, foreign or malformed."""
        if not isinstance(token, str) or not token:
            raise AuthenticationFailed("the token is invalid", "invalid_token")
        try:
            payload = self._serializer(purpose).loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            raise AuthenticationFailed("the token has expired", "expired_token") from None
        except (BadData, ValueError, TypeError, UnicodeError):
            raise AuthenticationFailed("the token is invalid", "invalid_token") from None
        if not isinstance(payload, str):
            raise AuthenticationFailed("the token is invalid", "invalid_token")
        return payload

    def derive(self, purpose: str, value: str) -> tuple[str, ...]:
        """HMAC-SHA256 of ``value`` under each key (salted by ``purpose``), newest key first."""
        return tuple(
            Signer(key, salt=purpose, digest_method=hashlib.sha256).get_signature(value).decode()
            for key in reversed(self._keys)
        )
