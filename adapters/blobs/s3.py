"""A BlobStore in an S3 bucket (AWS, or any S3-compatible server): for hosts that share no disk.

A blob is the object ``<prefix><ab>/<abcd...>``: its full key under its first two hex digits,
so a listing of the bucket can be read (or deleted, or copied) a slice at a time, and the key
alone finds the object with no index. The prefix is used as given (``helpdesk/`` keeps the
blobs in that "folder"; ``split_s3_url`` makes one from ``s3://bucket/prefix``).

S3 writes an object whole or not at all, so a reader finds the whole blob or none, and two
processes putting the same bytes both write the same object (the last write wins, with the same
bytes). A put first asks for the object's size (HEAD) and uploads only when no object of that
size is there: the same attachment arriving again costs one small request, not its upload (an
object of another size is written again, as the folder store rewrites a truncated file). The
upload carries the SHA-256 (``ChecksumSHA256``, which is the key itself), so AWS refuses bytes
damaged on the way instead of storing them under a key they do not hash to (an S3-compatible
server may ignore it: ``verify`` is the check that holds everywhere). One PUT takes at most
5 GiB, S3's limit: a larger blob is refused by the server (the default attachment limit is
25 MiB, and a blob is held in memory whole anyway).

Not found is the only error answered as an absent blob. A HEAD of a missing object and a HEAD in
a missing bucket both answer a bare 404, so the first "not found" is followed by one HEAD of the
bucket: a bucket that is not there (or not reachable with these credentials) raises, and is
never taken for an empty store. On AWS the credentials need ``s3:ListBucket`` on the bucket as
well as ``s3:GetObject``, ``s3:PutObject`` and ``s3:DeleteObject``: without it AWS answers a
missing object with 403 rather than 404, which raises like any other refusal.

``delete`` asks first whether the object is there (S3's DELETE answers the same either way), so
two processes deleting one blob at the same moment may both answer True.

boto3 is imported only when a store makes its own client: the package, and every other store,
import and work without it (``pip install 'helpdesk[s3]'`` adds it). It reads credentials the
way the AWS tools do (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_PROFILE``, an instance role, ...) unless they are given here. A boto3 client is safe to
share between threads, so one store serves every thread of a process.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import urlsplit

from helpdesk_core.ports.blobs import blob_key, is_blob_key

# A client's waits are bounded: a silent server fails the request instead of holding a thread.
_CONNECT_TIMEOUT = 5.0  # seconds to open a connection
_READ_TIMEOUT = 30.0  # seconds without a byte while reading an answer (not the whole transfer)
_ATTEMPTS = 3  # tries of one request (botocore's standard retries: throttling, 5xx, resets)
_CONNECTIONS = 32  # kept-alive connections per client, shared by the threads of a process
_CHUNK = 1024 * 1024  # what verify reads at a time: a large blob is hashed, not held whole

# Error codes meaning "no such object": NoSuchKey from a GET, a bare 404 from a HEAD (some
# S3-compatible servers say NotFound). NoSuchBucket is not among them: that one must raise.
_NOT_FOUND = frozenset({"NoSuchKey", "NotFound", "404"})


def split_s3_url(url: str) -> tuple[str, str]:
    """The bucket and the prefix of ``s3://bucket/some/prefix``: ``("bucket",
    "some/prefix/")``. A prefix given without a trailing slash gets one, so blobs sit in its
    "folder" rather than beside it; no path is the prefix ``""``, the bucket's top. (Which
    bucket names are allowed is the setting's rule: ``entrypoints/config/parsers.py``.)"""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError("not an s3://bucket[/prefix] URL")
    prefix = parts.path.strip("/")
    return parts.netloc, prefix + "/" if prefix else ""


class S3BlobStore:
    """Blobs as objects of ``bucket`` under ``prefix``.

    Pass a boto3 S3 ``client`` to share one, or let the store make its own: ``endpoint_url``
    for an S3-compatible server (None: AWS), ``region`` (None: boto3's own lookup), and the
    credentials when they are not to come from the environment.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
    ) -> None:
        self._bucket = bucket
        self._prefix = prefix
        if client is None:
            client = _make_client(
                endpoint_url, region, access_key_id, secret_access_key, session_token
            )
        self._client = client
        # botocore's ClientError, reached through the client (a store given a client imports
        # nothing of botocore itself).
        self._error: type[Exception] = client.exceptions.ClientError
        self._bucket_found = False  # set once a HEAD of the bucket has answered

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def client(self) -> Any:
        """The boto3 client the store uses (to share it, or to look at the objects)."""
        return self._client

    def name(self, key: str) -> str | None:
        """The object name of ``key`` in the bucket; None for a malformed key, which names no
        object and is never sent to the server."""
        if not is_blob_key(key):
            return None
        return f"{self._prefix}{key[:2]}/{key}"

    def put(self, data: bytes) -> str:
        blob = bytes(data)  # a copy: a caller's bytearray may change during the upload
        key = blob_key(blob)
        name = f"{self._prefix}{key[:2]}/{key}"
        if self._size(name) == len(blob):  # stored already
            return key
        self._client.put_object(
            Bucket=self._bucket,
            Key=name,
            Body=blob,
            ContentType="application/octet-stream",
            ChecksumSHA256=base64.b64encode(bytes.fromhex(key)).decode("ascii"),
        )
        return key

    def get(self, key: str) -> bytes | None:
        body = self._body(key)
        if body is None:
            return None
        try:
            return bytes(body.read())
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        name = self.name(key)
        return name is not None and self._size(name) is not None

    def delete(self, key: str) -> bool:
        name = self.name(key)
        if name is None or self._size(name) is None:
            return False
        self._client.delete_object(Bucket=self._bucket, Key=name)
        return True

    def verify(self, key: str) -> bool:
        body = self._body(key)
        if body is None:
            return False
        digest = hashlib.sha256()
        try:
            for chunk in body.iter_chunks(_CHUNK):
                digest.update(chunk)
        finally:
            body.close()
        return digest.hexdigest() == key

    # ------------------------------------------------------------ requests

    def _body(self, key: str) -> Any:
        """The streaming body of ``key``'s object (the caller reads and closes it), or None
        when there is none."""
        name = self.name(key)
        if name is None:
            return None
        try:
            answer = self._client.get_object(Bucket=self._bucket, Key=name)
        except self._error as error:
            if self._absent(error):
                return None
            raise
        return answer["Body"]

    def _size(self, name: str) -> int | None:
        """The size of the object ``name`` (one HEAD), or None when there is none."""
        try:
            answer = self._client.head_object(Bucket=self._bucket, Key=name)
        except self._error as error:
            if self._absent(error):
                return None
            raise
        return int(answer["ContentLength"])

    def _absent(self, error: Exception) -> bool:
        """Whether ``error`` means that the object is not there. The first time, a HEAD of the
        bucket makes sure the bucket is (it raises when it is not)."""
        answer: dict[str, Any] = getattr(error, "response", None) or {}
        if str(answer.get("Error", {}).get("Code", "")) not in _NOT_FOUND:
            return False
        if not self._bucket_found:  # threads may both look: the answer is the same
            self._client.head_bucket(Bucket=self._bucket)
            self._bucket_found = True
        return True


def _make_client(
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    session_token: str | None,
) -> Any:
    """A boto3 S3 client with bounded waits. boto3 is imported here, not at the top: a missing
    boto3 is an ImportError only for whoever asks for an S3 store."""
    import boto3
    from botocore.config import Config

    # A session of its own: boto3's default session is shared by the process and not safe to
    # set up from several threads.
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region,
    )
    config = Config(
        connect_timeout=_CONNECT_TIMEOUT,
        read_timeout=_READ_TIMEOUT,
        retries={"max_attempts": _ATTEMPTS, "mode": "standard"},
        max_pool_connections=_CONNECTIONS,
        # S3-compatible servers (MinIO, Ceph, a test server on an IP address) are addressed
        # as host/bucket; AWS itself by bucket.host, botocore's default.
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)
