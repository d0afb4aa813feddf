"""Standard Webhooks signatures: what the helpdesk signs its webhook deliveries with, and what
it checks on mail a provider POSTs to it (``/api/v1/inbound/email``), one rule both ways.

A secret is ``whsec_`` and base64 of 32 random bytes; the signature of a message is ``v1,`` and
the base64 HMAC-SHA256, keyed with the secret's bytes, of ``"<id>.<timestamp>.<body>"``. The
header may carry several space-separated signatures (a sender rotating its secret): one that
matches is enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    # Padded like the reference implementation: an unpadded secret gives the same key there.
    return base64.b64decode(encoded + "==")


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``"v1,"`` + base64 HMAC-SHA256 of ``id.ts.body``,
    keyed with the base64-decoded secret (its ``"whsec_"`` prefix stripped)."""
    signed = f"{message_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str, message_id: str, timestamp: str, body: bytes, signatures: str, now: float
) -> bool:
    """Whether one of ``signatures`` (the header's value) signs ``body`` under ``secret``,
    with a ``timestamp`` (whole seconds) within five minutes of ``now``: a replay of an old
    request is refused even with its signature."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > TOLERANCE_SECONDS or not message_id or len(message_id) > 200:
        return False
    try:
        expected = sign(secret, message_id, moment, body)
    except (binascii.Error, ValueError):
        return False
    return any(hmac.compare_digest(expected, given) for given in signatures.split())
