"""An in-memory BlobStore for tests and the embedded ``memory://`` store: a dict behind a lock.

It keeps the port's promises (the key is the SHA-256, the same bytes once, malformed keys name
nothing) with the port's own key rules (``helpdesk_core.ports.blobs``), and imports no other
adapter. Nothing is kept after the process ends.
"""

from __future__ import annotations

import threading

from helpdesk_core.ports.blobs import blob_key, is_blob_key


class MemoryBlobStore:
    """Blobs in a dict of key to bytes, shared by the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[str, bytes] = {}

    def __len__(self) -> int:
        """How many blobs are held (each distinct content once)."""
        with self._lock:
            return len(self._blobs)

    def put(self, data: bytes) -> str:
        blob = bytes(data)  # a copy: a caller's bytearray may change after the put
        key = blob_key(blob)
        with self._lock:
            self._blobs.setdefault(key, blob)
        return key

    def get(self, key: str) -> bytes | None:
        if not is_blob_key(key):
            return None
        with self._lock:
            return self._blobs.get(key)

    def exists(self, key: str) -> bool:
        if not is_blob_key(key):
            return False
        with self._lock:
            return key in self._blobs

    def delete(self, key: str) -> bool:
        if not is_blob_key(key):
            return False
        with self._lock:
            return self._blobs.pop(key, None) is not None

    def verify(self, key: str) -> bool:
        blob = self.get(key)
        return blob is not None and blob_key(blob) == key
