"""A BlobStore in a folder: the embedded default, and production's on a shared volume.

A blob lives at ``root/ab/cd/abcd...`` (its full key, under its first two pairs of hex
digits): two levels of 256 folders keep any one folder small for millions of blobs, and the
full key as the file name needs no index to be found. Folders are made on first use and never
removed (a folder emptied by ``delete`` may be needed by a ``put`` a moment later; an empty
one costs nothing).

A put writes a temporary file beside the blob's, flushes it to disk (``fsync``) and renames it
onto the key (``os.replace``, atomic on one file system), then syncs the folder so the rename
itself survives a crash. A reader therefore finds the whole blob or none, and a crash leaves
at worst a temporary file (``.*.tmp``, never read, safe to delete) but no partial blob under a
key. Two processes putting the same bytes each rename a complete copy of them onto the key; the
last rename wins, and both copies are the same bytes.

Reads are not re-hashed (a read is one open and one read); ``verify`` re-hashes when wanted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from helpdesk_core.ports.blobs import blob_key, is_blob_key


class FilesystemBlobStore:
    """Blobs as files under ``root`` (made, with its parents, by the first put)."""

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def path(self, key: str) -> Path | None:
        """Where the blob of ``key`` is (or would be) kept; None for a malformed key, which
        names no file at all."""
        if not is_blob_key(key):
            return None
        return self._root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = blob_key(data)
        path = self._root / key[:2] / key[2:4] / key
        if _holds(path, len(data)):  # stored already (a file of another size is rewritten)
            return key
        folder = path.parent
        made = not folder.is_dir()
        if made:
            folder.mkdir(parents=True, exist_ok=True)
        self._write(path, data)
        _sync_folder(folder)
        if made:  # the new folders' own names must survive a crash as well
            _sync_folder(folder.parent)
            _sync_folder(self._root)
        return key

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            try:
                os.replace(temporary, path)
            except PermissionError:
                # Windows refuses to replace a file another thread holds open; when that file
                # is this blob already, the put has nothing left to do.
                if not _holds(path, len(data)):
                    raise
                os.unlink(temporary)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def get(self, key: str) -> bytes | None:
        path = self.path(key)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        path = self.path(key)
        return path is not None and path.is_file()

    def delete(self, key: str) -> bool:
        path = self.path(key)
        if path is None:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def verify(self, key: str) -> bool:
        path = self.path(key)
        if path is None:
            return False
        try:
            with path.open("rb") as file:
                digest = hashlib.file_digest(file, "sha256").hexdigest()
        except FileNotFoundError:
            return False
        return digest == key


def _holds(path: Path, size: int) -> bool:
    """Whether ``path`` is a file of ``size`` bytes (a cheap check that a blob is stored)."""
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _sync_folder(folder: Path) -> None:
    """Make the names in ``folder`` durable (POSIX; Windows cannot open a folder to sync it)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
