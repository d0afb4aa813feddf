"""Whether the bytes a connection received hold its next request whole (RFC 9112 framing).

``RequestScanner`` is what ``ReadDeadlineWorker`` (entrypoints/serving/read_deadline.py) asks
before it hands a connection to a thread: it follows the framing only (the head's empty line,
then ``Content-Length`` bytes or the chunks up to the last one and its trailers), and parsing
stays gunicorn's. ``Limits`` are the sizes gunicorn's parser accepts and the app's body limit.
"""

from __future__ import annotations

import enum
import re
from typing import Any

DEFAULT_MAX_BODY = 1024 * 1024  # HELPDESK_MAX_BODY_BYTES
_HEX = frozenset(b"0123456789abcdefABCDEF")


class Verdict(enum.Enum):
    """What the bytes received so far allow."""

    WAIT = "wait"  # more is needed
    READY = "ready"  # the request is whole: hand it on
    AS_IS = "as_is"  # hand it on as it is: its head is refused (400, 431, 501) or its body is
    # over the limit (413); the connection closes after the answer


class Limits:
    """The sizes gunicorn's parser accepts (its ``limit_request_*`` settings) and the body
    limit of the app: ``body``, or for a request whose target matches a pattern of ``large``
    (from its start) that pattern's limit (received mail POSTed whole, a message with files)."""

    def __init__(
        self,
        *,
        request_line: int = 4094,
        fields: int = 100,
        field_size: int = 8190,
        body: int = DEFAULT_MAX_BODY,
        large: tuple[tuple[str, int], ...] = (),
    ) -> None:
        # the same fallbacks as gunicorn.http.message for 0 or out-of-range values
        if fields <= 0 or fields > 32768:
            fields = 32768
        if field_size <= 0:
            field_size = 8190
        if request_line <= 0 or request_line > 8190:
            request_line = 8190
        self.line = field_size  # a chunk-size line
        self.headers = fields * (field_size + 2) + 4  # gunicorn's max_buffer_headers
        self.head = 2 + request_line + 2 + self.headers  # an empty line, the line, the fields
        self.body = body
        self.large = tuple((re.compile(path.encode()), max(body, limit)) for path, limit in large)

    def body_for(self, target: bytes) -> int:
        """The body limit of a request for ``target`` (its request line's second word)."""
        for pattern, limit in self.large:
            if pattern.match(target):
                return limit
        return self.body

    @classmethod
    def of(cls, cfg: Any, body: int, large: tuple[tuple[str, int], ...] = ()) -> Limits:
        return cls(
            request_line=cfg.limit_request_line,
            fields=cfg.limit_request_fields,
            field_size=cfg.limit_request_field_size,
            body=body,
            large=large,
        )


class RequestScanner:
    """Whether the bytes received on a connection hold its next request whole.

    It follows the framing only (RFC 9112: the head ends with an empty line; the body is
    Content-Length bytes, or chunks up to the last one and its trailers): parsing stays
    gunicorn's. Whatever the scanner cannot frame, gunicorn's parser refuses from the bytes at
    hand, so such a request is handed on as it is (``AS_IS``). Feed it the whole buffer each
    time; it resumes where it stopped, so a request sent a byte at a time costs linear time.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.expects_continue = False
        self._searched = 0  # where the search for the end of the head resumes
        self._body_start: int | None = None
        self._length = 0
        self._chunked = False
        self._pos = 0  # chunked: the start of the next chunk-size line
        self._decoded = 0  # chunked: body bytes in the chunks before it
        self._body_limit = limits.body  # this request's (``Limits.body_for``)

    def scan(self, data: bytes | bytearray) -> Verdict:
        if self._body_start is None:
            verdict = self._scan_head(data)
            if verdict is not None:
                return verdict
        if self._chunked:
            return self._scan_chunks(data)
        assert self._body_start is not None
        return Verdict.READY if len(data) - self._body_start >= self._length else Verdict.WAIT

    def _scan_head(self, data: bytes | bytearray) -> Verdict | None:
        start = 2 if data[:2] == b"\r\n" else 0  # RFC 9112 2.2: one empty line may come first
        if data[start : start + 2] == b"\r\n":
            return Verdict.AS_IS  # an empty request line
        resume = max(start, self._searched)
        end = data.find(b"\r\n\r\n", resume)
        if end < 0:
            if len(data) > self.limits.head or _bare_lf(data, max(start, resume - 1)):
                return Verdict.AS_IS  # too long, or a bare LF the parser refuses
            self._searched = max(start, len(data) - 3)
            return Verdict.WAIT
        head = bytes(data[start:end])
        if head.count(b"\n") != head.count(b"\r\n"):
            return Verdict.AS_IS
        self._body_start = end + 4
        return self._framing(head)

    def _framing(self, head: bytes) -> Verdict | None:
        lines = head.split(b"\r\n")
        http10 = lines[0].endswith(b"HTTP/1.0")
        words = lines[0].split(b" ")
        self._body_limit = self.limits.body_for(words[1] if len(words) > 1 else b"")
        lengths: list[bytes] = []
        codings: list[bytes] = []
        expect = False
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                return Verdict.AS_IS
            name, value = name.lower(), value.strip(b" \t")
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                codings += [coding.strip(b" \t").lower() for coding in value.split(b",")]
            elif name == b"expect":
                expect = value.lower() == b"100-continue"
        if codings:
            if codings[-1] != b"chunked" or lengths or http10:
                return Verdict.AS_IS  # no length the parser accepts (400, 501)
            self._chunked = True
            assert self._body_start is not None
            self._pos = self._body_start
        elif lengths:
            if len(lengths) > 1 or not lengths[0].isdigit():
                return Verdict.AS_IS
            if len(lengths[0]) > 18 or int(lengths[0]) > self._body_limit:
                return Verdict.AS_IS  # answered 413 from the head, the body unread
            self._length = int(lengths[0])
        else:
            return Verdict.READY  # no body
        self.expects_continue = expect and not http10
        return None

    def _scan_chunks(self, data: bytes | bytearray) -> Verdict:
        while True:
            eol = data.find(b"\r\n", self._pos)
            if eol < 0:
                return Verdict.AS_IS if len(data) - self._pos > self.limits.line else Verdict.WAIT
            size_text = bytes(data[self._pos : eol]).split(b";", 1)[0].rstrip(b" \t")
            if not size_text or not set(size_text) <= _HEX:
                return Verdict.AS_IS
            size = int(size_text, 16)
            start = eol + 2
            if size == 0:
                return self._scan_trailers(data, start)
            if self._decoded + min(size, len(data) - start) > self._body_limit:
                return (
                    Verdict.AS_IS
                )  # more than the limit is here: the app reads it and answers 413
            if len(data) < start + size + 2:
                return Verdict.WAIT
            if data[start + size : start + size + 2] != b"\r\n":
                return Verdict.AS_IS
            self._decoded += size
            self._pos = start + size + 2

    def _scan_trailers(self, data: bytes | bytearray, start: int) -> Verdict:
        if data[start : start + 2] == b"\r\n":
            return Verdict.READY
        resume = max(start, self._searched)
        if data.find(b"\r\n\r\n", resume) >= 0:
            return Verdict.READY
        if len(data) - start > self.limits.headers:
            return Verdict.AS_IS
        self._searched = max(start, len(data) - 3)
        return Verdict.WAIT


def _bare_lf(data: bytes | bytearray, start: int) -> bool:
    """Whether a LF not preceded by CR is in ``data`` from ``start`` on."""
    at = data.find(b"\n", start)
    while at >= 0:
        if at == 0 or data[at - 1] != 0x0D:
            return True
        at = data.find(b"\n", at + 1)
    return False
