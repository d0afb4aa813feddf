"""Attachment bytes: a content-addressed blob store.

A blob's key is the lower-case hex SHA-256 of its bytes, never a name a caller chooses:

- the same bytes are kept once, however many attachments (two mails forwarding one PDF, a
  message re-sent) refer to them;
- what was read can be checked against its key (``verify``), so damage at rest is found;
- no two uploads can collide on a name, and no caller-supplied text ever becomes a path:
  a key is 64 characters of ``0-9a-f`` or it names nothing.

Keys are exactly what ``put`` returns. Upper-case hex is not another spelling of a key but a
malformed one (``get`` answers None, ``exists`` and ``delete`` False): one key has one form,
so keys compare as plain strings wherever they are stored.

A store does not know who refers to a blob. Deleting is the caller's decision, taken once no
attachment refers to the key any more: the store cannot tell a blob shared by two attachments
from one of a deleted attachment.
"""

from __future__ import annotations

import hashlib
import re
from typing import Protocol

_KEY = re.compile(r"[0-9a-f]{64}")


def blob_key(data: bytes) -> str:
    """The key of ``data``: the lower-case hex SHA-256 of its bytes (what ``put`` returns)."""
    return hashlib.sha256(data).hexdigest()


def is_blob_key(key: object) -> bool:
    """Whether ``key`` is a key any store could hold: 64 lower-case hex characters, nothing
    else (a malformed key is answered as an absent blob, never looked up as a name)."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


class BlobStore(Protocol):
    """Keeps bytes under their SHA-256. Every method is safe to call from several threads (and,
    for a store on a shared disk, several processes) at once."""

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its key. Putting bytes already stored stores nothing new
        and returns the same key; concurrent puts of the same bytes are safe, and a reader
        never sees part of a blob."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None when there are none (a malformed key is
        None too). Nothing is re-hashed: ``verify`` does that when it is wanted."""
        ...

    def exists(self, key: str) -> bool:
        """Whether bytes are stored under ``key`` (False for a malformed key)."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the bytes under ``key``; whether there were any (False for a missing or
        malformed key). The caller makes sure no attachment still refers to the key."""
        ...

    def verify(self, key: str) -> bool:
        """Whether bytes are stored under ``key`` and still hash to it: False when absent,
        malformed or damaged. Reads the whole blob; meant for checks, not for every read."""
        ...
