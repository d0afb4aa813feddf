"""The BlobStore contract, held by the folder store (the default), the in-memory one and the
S3 store alike; the S3 store against a real S3-compatible server, moto's, which this module
starts as a process of its own (a server that cannot start fails the S3 tests: none skips).

Upper-case hex is not a key (the port's rule): a key has one spelling, the one ``put``
returns, so ``get`` answers None, and ``exists``/``delete`` False, for any other.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import pytest

from adapters.blobs.filesystem import FilesystemBlobStore
from adapters.blobs.s3 import S3BlobStore, split_s3_url
from adapters.memory.blobs import MemoryBlobStore
from entrypoints.bootstrap import bootstrap
from entrypoints.config import ConfigError
from helpdesk_core.ports.blobs import BlobStore, blob_key, is_blob_key
from tests.conftest import make_settings

DATA = b"%PDF-1.7 an invoice, or so it says\n"
EMPTY_KEY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MIB = 1024 * 1024


class Kept(NamedTuple):
    """A store under test, and how many blobs it holds (for the folder store: every file
    under its root, so a leftover temporary file counts too; for S3: every object under the
    store's prefix)."""

    store: BlobStore
    held: Callable[[], int]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---------------------------------------------------------------- a local S3-compatible server

BUCKET = "helpdesk-blobs"
REGION = "us-east-1"
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}  # moto takes any
_START_SECONDS = 30.0  # a bound on waiting for the server, never an assertion


class S3Server(NamedTuple):
    """moto's server at ``url`` with the bucket ``BUCKET``; ``client`` is shared by the
    tests' stores (one per test, each under a prefix of its own)."""

    url: str
    client: Any


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_it_answers(process: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while True:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"moto's server exited ({process.returncode}): {output}")
        try:
            with urllib.request.urlopen(url + "/", timeout=1):  # noqa: S310 - our own server
                return
        except urllib.error.HTTPError:
            return  # an HTTP answer, whatever its status: the server is up
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto's server did not answer at {url}") from None
            time.sleep(0.1)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """``python -m moto.server`` on a free loopback port, for this module's tests; killed at
    the end. It keeps everything in its memory, so each run starts with no bucket."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            _wait_until_it_answers(process, url, log)
            made = S3BlobStore(BUCKET, endpoint_url=url, region=REGION, **CREDENTIALS)
            made.client.create_bucket(Bucket=BUCKET)
            # moto (5.2) closes a replaced or deleted object's buffer while a concurrent PUT of
            # it still reads it to answer (a 500): a versioned bucket keeps every version, so
            # closes none. The store works the same on either kind of bucket.
            made.client.put_bucket_versioning(
                Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
            )
            yield S3Server(url, made.client)
        finally:
            process.kill()
            process.wait(timeout=30)


def _objects(server: S3Server, prefix: str) -> list[str]:
    """The names of the bucket's objects under ``prefix``, in order."""
    pages = server.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _s3_store(server: S3Server) -> S3BlobStore:
    """A store of its own: the shared bucket, under a prefix no other test uses."""
    return S3BlobStore(BUCKET, f"test-{uuid.uuid4().hex}/", client=server.client)


@pytest.fixture(params=["memory", "filesystem", pytest.param("s3", marks=pytest.mark.slow)])
def kept(request: pytest.FixtureRequest, tmp_path: Path) -> Kept:
    if request.param == "memory":
        memory = MemoryBlobStore()
        return Kept(memory, lambda: len(memory))
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3")
        store = _s3_store(server)
        return Kept(store, lambda: len(_objects(server, store.prefix)))
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


# ---------------------------------------------------------------- the S3 store itself


@pytest.mark.slow
def test_a_blob_is_an_object_under_its_prefix_and_first_two_digits(s3: S3Server) -> None:
    prefix = f"deep-{uuid.uuid4().hex}/blobs/"
    store = S3BlobStore(BUCKET, prefix, client=s3.client)
    assert store.get(blob_key(DATA)) is None  # reading makes nothing
    key = store.put(DATA)
    name = f"{prefix}{key[:2]}/{key}"
    assert _objects(s3, prefix) == [name]
    assert store.name(key) == name
    # Another process (a client of its own) sees the same blobs; another prefix sees none.
    other = S3BlobStore(BUCKET, prefix, endpoint_url=s3.url, region=REGION, **CREDENTIALS)
    assert other.get(key) == DATA
    assert other.put(DATA) == key
    assert _objects(s3, prefix) == [name]
    assert S3BlobStore(BUCKET, prefix + "x/", client=s3.client).get(key) is None


@pytest.mark.slow
def test_a_malformed_key_is_never_sent_and_stored_bytes_are_not_sent_again(
    s3: S3Server,
) -> None:
    store = S3BlobStore(
        BUCKET, f"test-{uuid.uuid4().hex}/", endpoint_url=s3.url, region=REGION, **CREDENTIALS
    )
    sent: list[str] = []  # the method of each request the store's client sends
    checksums: list[bytes] = []  # the SHA-256 each upload declares, for AWS to check

    def record(request: Any, **_: Any) -> None:
        sent.append(request.method)
        checksums.extend([request.headers["x-amz-checksum-sha256"]] if request.body else [])

    store.client.meta.events.register("before-send.s3", record)
    key = store.put(DATA)
    assert sent == ["HEAD", "HEAD", "PUT"]  # the object, then (not found) the bucket, the upload
    assert checksums == [base64.b64encode(hashlib.sha256(DATA).digest())]
    sent.clear()
    assert store.put(DATA) == key
    assert sent == ["HEAD"]  # stored already: nothing uploaded
    sent.clear()
    for text in _malformed(key):
        assert store.name(text) is None, repr(text)
        assert store.get(text) is None, repr(text)
        assert not store.exists(text), repr(text)
        assert not store.delete(text), repr(text)
        assert not store.verify(text), repr(text)
    assert sent == []


@pytest.mark.slow
def test_verify_finds_a_damaged_object_and_a_put_rewrites_a_truncated_one(s3: S3Server) -> None:
    store = _s3_store(s3)
    key = store.put(DATA)
    name = store.name(key)
    damaged = DATA.replace(b"invoice", b"INVOICE")  # same size, other bytes
    s3.client.put_object(Bucket=BUCKET, Key=name, Body=damaged)
    assert not store.verify(key)
    assert store.get(key) == damaged  # get trusts the object; verify is the check
    s3.client.put_object(Bucket=BUCKET, Key=name, Body=DATA[:5])
    assert not store.verify(key)
    assert store.put(DATA) == key  # another size: written again
    assert store.verify(key)
    s3.client.delete_object(Bucket=BUCKET, Key=name)
    assert not store.verify(key)


@pytest.mark.slow
def test_errors_other_than_not_found_raise(s3: S3Server) -> None:
    """A missing bucket is not an empty store, nor a server down an absent blob."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError, EndpointConnectionError

    down = boto3.session.Session("testing", "testing", region_name=REGION).client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{_free_port()}",  # nothing listens there
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )
    stores = {
        ClientError: S3BlobStore("no-such-bucket", client=s3.client),
        EndpointConnectionError: S3BlobStore(BUCKET, client=down),
    }
    for error, store in stores.items():
        for call in (store.get, store.exists, store.delete, store.verify):
            with pytest.raises(error):
                call(blob_key(DATA))
        with pytest.raises(error):
            store.put(DATA)


def test_an_s3_url_is_a_bucket_and_a_folder_like_prefix() -> None:
    assert split_s3_url("s3://helpdesk") == ("helpdesk", "")
    assert split_s3_url("s3://helpdesk/") == ("helpdesk", "")
    assert split_s3_url("s3://helpdesk/attachments") == ("helpdesk", "attachments/")
    assert split_s3_url(" s3://helpdesk/a/b/ ") == ("helpdesk", "a/b/")
    for text in ("https://helpdesk/x", "s3:///x", "helpdesk"):
        with pytest.raises(ValueError, match="s3://bucket"):
            split_s3_url(text)


# ---------------------------------------------------------------- configuration


@pytest.mark.slow
def test_an_s3_url_makes_the_composition_root_keep_files_in_the_bucket(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Credentials come from the environment, as the AWS tools read them.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    folder = f"boot-{uuid.uuid4().hex}"
    settings = make_settings(
        blob_url=f"s3://{BUCKET}/{folder}", s3_endpoint_url=s3.url, s3_region=REGION
    )
    services = bootstrap(settings)
    try:
        store = services.blobs
        assert isinstance(store, S3BlobStore)
        assert (store.bucket, store.prefix) == (BUCKET, folder + "/")
        key = store.put(DATA)
        assert _objects(s3, folder + "/") == [f"{folder}/{key[:2]}/{key}"]
        assert store.get(key) == DATA
    finally:
        services.close()


def test_an_s3_url_without_boto3_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if it were not installed
    with pytest.raises(ConfigError) as refused:
        bootstrap(make_settings(blob_url=f"s3://{BUCKET}/files"))
    message = str(refused.value)
    assert refused.value.variable == "HELPDESK_BLOB_URL"
    assert message.startswith(f"HELPDESK_BLOB_URL='s3://{BUCKET}/files'")
    assert "pip install 'helpdesk[s3]'" in message
    assert "\n" not in message
    services = bootstrap(make_settings())  # the other stores need no boto3
    assert isinstance(services.blobs, MemoryBlobStore)
    services.close()


def test_nothing_imports_boto3_until_an_s3_store_is_made() -> None:
    program = (
        "import sys, adapters.blobs.s3, entrypoints.bootstrap; "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=root
    )
    assert done.stdout.strip() == "[]"
