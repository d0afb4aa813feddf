"""The BlobStore contract, held by the folder store (the default) and the in-memory one alike.

Upper-case hex is not a key (the port's rule): a key has one spelling, the one ``put``
returns, so ``get`` answers None, and ``exists``/``delete`` False, for any other.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from adapters.blobs.filesystem import FilesystemBlobStore
from adapters.memory.blobs import MemoryBlobStore
from helpdesk_core.ports.blobs import BlobStore, blob_key, is_blob_key

DATA = b"%PDF-1.7 an invoice, or so it says\n"
EMPTY_KEY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MIB = 1024 * 1024


class Kept(NamedTuple):
    """A store under test, and how many blobs it holds (for the folder store: every file
    under its root, so a leftover temporary file counts too)."""

    store: BlobStore
    held: Callable[[], int]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(params=["memory", "filesystem"])
def kept(request: pytest.FixtureRequest, tmp_path: Path) -> Kept:
    if request.param == "memory":
        memory = MemoryBlobStore()
        return Kept(memory, lambda: len(memory))
    root = tmp_path / "blobs"
    return Kept(FilesystemBlobStore(root), lambda: len(_files(root)))


def _malformed(key: str) -> list[str]:
    """Texts that are not keys, some of which a careless store would turn into a path."""
    return [
        "../../etc/passwd",
        "/etc/passwd",
        "ABC",
        "",
        "g" * 64,
        "z" * 64,
        key.upper(),
        key[:63],
        key + "0",
        key + "\n",
        " " + key,
        "../" + key[3:],
        key[:2] + "/" + key[3:],
    ]


# ---------------------------------------------------------------- put and get


def test_put_returns_the_lower_case_sha256_and_get_returns_the_bytes(kept: Kept) -> None:
    key = kept.store.put(DATA)
    assert key == hashlib.sha256(DATA).hexdigest()
    assert key == blob_key(DATA)
    assert is_blob_key(key)
    assert kept.store.get(key) == DATA
    assert kept.store.exists(key)


def test_the_same_bytes_twice_are_one_blob(kept: Kept) -> None:
    first = kept.store.put(DATA)
    second = kept.store.put(bytes(DATA))
    assert first == second
    assert kept.held() == 1
    other = kept.store.put(DATA + b"!")
    assert other != first
    assert kept.held() == 2
    # Kept once, not counted: one delete removes it.
    assert kept.store.delete(first)
    assert not kept.store.exists(first)
    assert kept.store.get(other) == DATA + b"!"


def test_empty_bytes_are_a_blob_like_any_other(kept: Kept) -> None:
    key = kept.store.put(b"")
    assert key == EMPTY_KEY
    assert kept.store.get(key) == b""  # empty, not absent
    assert kept.store.get(key) is not None
    assert kept.store.exists(key)
    assert kept.store.verify(key)
    assert kept.store.delete(key)
    assert kept.store.get(key) is None


def test_five_megabytes_round_trip(kept: Kept) -> None:
    data = random.Random(24).randbytes(5 * MIB)
    key = kept.store.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert kept.store.get(key) == data
    assert kept.store.verify(key)


def test_a_mutable_buffer_is_stored_as_it_was_when_put(kept: Kept) -> None:
    buffer = bytearray(DATA)
    key = kept.store.put(buffer)  # type: ignore[arg-type]  # callers may hand a bytearray
    buffer[:4] = b"XXXX"
    assert kept.store.get(key) == DATA


# ---------------------------------------------------------------- absent and malformed keys


def test_a_missing_key_is_absent_everywhere(kept: Kept) -> None:
    kept.store.put(DATA)
    missing = blob_key(b"never stored")
    assert kept.store.get(missing) is None
    assert not kept.store.exists(missing)
    assert not kept.store.delete(missing)
    assert not kept.store.verify(missing)


def test_delete_says_whether_the_blob_was_there(kept: Kept) -> None:
    key = kept.store.put(DATA)
    assert kept.store.delete(key)
    assert not kept.store.delete(key)
    assert kept.store.get(key) is None
    assert not kept.store.exists(key)
    assert kept.held() == 0
    assert kept.store.put(DATA) == key  # and it can be stored again
    assert kept.store.get(key) == DATA


def test_malformed_keys_name_nothing_and_never_raise(kept: Kept) -> None:
    key = kept.store.put(DATA)
    for text in _malformed(key):
        assert kept.store.get(text) is None, repr(text)
        assert not kept.store.exists(text), repr(text)
        assert not kept.store.delete(text), repr(text)
        assert not kept.store.verify(text), repr(text)
        assert not is_blob_key(text), repr(text)
    # Nothing was deleted through another spelling of the key.
    assert kept.store.get(key) == DATA
    assert kept.held() == 1


def test_upper_case_hex_is_not_the_key(kept: Kept) -> None:
    key = kept.store.put(DATA)
    assert kept.store.get(key.upper()) is None
    assert not kept.store.exists(key.upper())
    assert not kept.store.delete(key.upper())
    assert kept.store.exists(key)


# ---------------------------------------------------------------- concurrency


def test_concurrent_puts_of_the_same_bytes_store_one_blob(kept: Kept) -> None:
    data = random.Random(8).randbytes(MIB)  # large enough for the writes to overlap
    threads = 8
    start = threading.Barrier(threads)
    keys: list[str] = []
    failures: list[BaseException] = []

    def put() -> None:
        try:
            start.wait()
            keys.append(kept.store.put(data))
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=put) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert keys == [blob_key(data)] * threads
    assert kept.held() == 1  # no second copy, no temporary file left behind
    assert kept.store.get(keys[0]) == data
    assert kept.store.verify(keys[0])


def test_a_reader_never_sees_part_of_a_blob(kept: Kept) -> None:
    data = random.Random(9).randbytes(2 * MIB)
    key = blob_key(data)
    writers = 4
    start = threading.Barrier(writers + 1)
    partial: list[int] = []  # the lengths of reads that were neither absent nor whole
    reads = 0
    failures: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            start.wait()
            for _ in range(3):
                kept.store.put(data)
                kept.store.delete(key)  # so the next put writes again
            kept.store.put(data)
        except BaseException as exc:
            failures.append(exc)

    def read() -> None:
        nonlocal reads
        start.wait()
        while not done.is_set():
            blob = kept.store.get(key)
            reads += 1
            if blob is not None and blob != data:
                partial.append(len(blob))

    reader = threading.Thread(target=read)
    workers = [threading.Thread(target=write) for _ in range(writers)]
    reader.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    reader.join()
    assert failures == []
    assert reads > 0
    assert partial == []
    assert kept.store.get(key) == data


# ---------------------------------------------------------------- verify


def test_verify_is_true_for_a_good_blob(kept: Kept) -> None:
    key = kept.store.put(DATA)
    assert kept.store.verify(key)


# ---------------------------------------------------------------- the folder store itself


def test_a_blob_is_a_file_under_two_levels_of_its_key(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "blobs"
    store = FilesystemBlobStore(root)
    assert not root.exists()
    assert store.get(blob_key(DATA)) is None  # reading makes nothing
    assert not root.exists()
    key = store.put(DATA)
    where = root / key[:2] / key[2:4] / key
    assert _files(root) == [where]
    assert store.path(key) == where
    assert where.read_bytes() == DATA


def test_the_root_may_be_given_as_text(tmp_path: Path) -> None:
    store = FilesystemBlobStore(str(tmp_path / "blobs"))
    key = store.put(DATA)
    assert (tmp_path / "blobs" / key[:2] / key[2:4] / key).is_file()


def test_a_malformed_key_has_no_path(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    key = store.put(DATA)
    outside = tmp_path / "secret"
    outside.write_bytes(b"not a blob")
    for text in [*_malformed(key), str(outside), "../secret", "../../secret"]:
        assert store.path(text) is None, repr(text)
        assert store.get(text) is None, repr(text)
        assert not store.delete(text), repr(text)
    assert outside.read_bytes() == b"not a blob"


def test_verify_finds_a_damaged_file(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    key = store.put(DATA)
    where = store.path(key)
    assert where is not None
    where.write_bytes(DATA.replace(b"invoice", b"INVOICE"))  # same size, other bytes
    assert not store.verify(key)
    assert store.get(key) != DATA  # get trusts the file; verify is the check
    where.unlink()
    assert not store.verify(key)


def test_a_truncated_file_is_written_again_by_the_next_put(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    key = store.put(DATA)
    where = store.path(key)
    assert where is not None
    where.write_bytes(DATA[:5])
    assert not store.verify(key)
    assert store.put(DATA) == key
    assert store.verify(key)
    assert store.get(key) == DATA


def test_a_failed_write_leaves_no_blob_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between writing and renaming: here the disk refuses the fsync."""
    root = tmp_path / "blobs"
    store = FilesystemBlobStore(root)

    def refuse(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(OSError, match="Input/output error"):
        store.put(DATA)
    monkeypatch.undo()
    key = blob_key(DATA)
    assert not store.exists(key)
    assert store.get(key) is None
    assert _files(root) == []
    assert store.put(DATA) == key  # and the next put stores it
    assert store.get(key) == DATA


def test_two_stores_on_one_folder_share_their_blobs(tmp_path: Path) -> None:
    """Two processes (here: two stores) on one volume see one set of blobs."""
    first = FilesystemBlobStore(tmp_path / "blobs")
    second = FilesystemBlobStore(tmp_path / "blobs")
    key = first.put(DATA)
    assert second.get(key) == DATA
    assert second.put(DATA) == key
    assert len(_files(tmp_path / "blobs")) == 1
    assert second.delete(key)
    assert not first.exists(key)


def test_an_emptied_folder_is_kept_for_the_next_put(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    key = store.put(DATA)
    assert store.delete(key)
    assert (tmp_path / "blobs" / key[:2] / key[2:4]).is_dir()
    assert store.put(DATA) == key
