"""Requests are read whole in the poller before a thread takes them (serving/read_deadline.py).

Requirement (docs/architecture.md, "a read deadline per connection"): a worker thread gets a
connection only once its request has arrived whole (head, and body up to its Content-Length or
last chunk), or once it is clear that gunicorn's parser or the app refuses it from the bytes at
hand; a read in a thread never outlives the connection's deadline. tests/e2e/test_slow_clients.py
checks it against real gunicorn workers.
"""

from __future__ import annotations

import socket
import time

import pytest

from entrypoints.cli.serve import gunicorn_options, serve
from entrypoints.config.settings import large_bodies
from entrypoints.serving.fair_accept import FairThreadWorker
from entrypoints.serving.read_deadline import DeadlineMissed, DeadlineUnreader, ReadDeadlineWorker
from entrypoints.serving.request_scanner import Limits, RequestScanner, Verdict
from tests.conftest import make_settings

WAIT, READY, AS_IS = Verdict.WAIT, Verdict.READY, Verdict.AS_IS
LIMITS = Limits(request_line=100, fields=4, field_size=50, body=20)


def verdicts(*pieces: bytes, limits: Limits = LIMITS) -> list[Verdict]:
    """The scanner's verdict after each piece arrives (one scanner, a growing buffer)."""
    scanner = RequestScanner(limits)
    data = bytearray()
    seen = []
    for piece in pieces:
        data += piece
        seen.append(scanner.scan(data))
    return seen


def byte_by_byte(request: bytes, limits: Limits = LIMITS) -> list[Verdict]:
    return verdicts(*(request[i : i + 1] for i in range(len(request))), limits=limits)


def test_a_request_without_a_body_is_ready_when_its_head_ends() -> None:
    request = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    seen = byte_by_byte(request)
    assert seen[:-1] == [WAIT] * (len(request) - 1)
    assert seen[-1] is READY
    assert verdicts(b"\r\n", b"GET / HTTP/1.1\r\n\r\n") == [WAIT, READY]  # one empty line first


def test_a_body_is_waited_for_up_to_its_content_length() -> None:
    head = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
    assert verdicts(head, b"ab", b"cde") == [WAIT, WAIT, READY]
    assert verdicts(head + b"abcdeGET / HTTP/1.1\r\n") == [READY]  # pipelined bytes after it
    assert verdicts(b"POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == [READY]


def test_a_chunked_body_is_waited_for_up_to_its_last_chunk_and_trailers() -> None:
    head = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n"
    seen = byte_by_byte(head + body)
    assert seen[-1] is READY
    assert set(seen[:-1]) == {WAIT}
    assert verdicts(head, b"2\r\nab\r\n", b"0\r\n", b"\r\n") == [WAIT, WAIT, WAIT, READY]


def test_expect_100_continue_is_noticed_once_the_head_is_here() -> None:
    scanner = RequestScanner(LIMITS)
    head = b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    assert scanner.scan(head[:-2]) is WAIT
    assert not scanner.expects_continue
    assert scanner.scan(head) is WAIT
    assert scanner.expects_continue
    http10 = RequestScanner(LIMITS)
    assert http10.scan(head.replace(b"HTTP/1.1", b"HTTP/1.0")) is WAIT
    assert not http10.expects_continue  # RFC 9110 10.1.1: ignored in HTTP/1.0


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"POST /x HTTP/1.1\r\nContent-Length: 21\r\n\r\n", id="length-over-limit"),
        pytest.param(b"POST /x HTTP/1.1\r\nContent-Length: " + b"9" * 40 + b"\r\n\r\n", id="huge"),
        pytest.param(
            b"POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", id="2cl"
        ),
        pytest.param(b"POST /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n", id="signed-length"),
        pytest.param(b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", id="not-chunked"),
        pytest.param(
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            id="te-and-cl",
        ),
        pytest.param(b"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", id="chunked-1.0"),
        pytest.param(b"GET /x HTTP/1.1\r\nHost x\r\n\r\n", id="no-colon"),
        pytest.param(b"GET /x HTTP/1.1\nHost: x\r\n", id="bare-lf"),
        pytest.param(b"\r\n\r\nGET /x HTTP/1.1\r\n\r\n", id="empty-request-line"),
        pytest.param(b"GET /" + b"a" * 400, id="head-over-limit"),
        pytest.param(
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk-size"
        ),
        pytest.param(
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY", id="no-chunk-crlf"
        ),
        pytest.param(
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 60, id="long-size"
        ),
    ],
)
def test_what_the_parser_or_the_app_refuses_from_the_bytes_at_hand_is_handed_on_as_is(
    request_bytes: bytes,
) -> None:
    """Refused at once (400, 413, 501) without waiting for more: nothing more would help."""
    assert verdicts(request_bytes) == [AS_IS]


def test_a_chunked_body_over_the_limit_is_handed_on_once_more_than_the_limit_is_here() -> None:
    head = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    # a chunk announcing 4 GiB is waited for until more than the limit (20) of it is here:
    # the app then reads limit + 1 bytes from the buffer and answers 413, never the socket
    assert verdicts(head + b"100000000\r\n", b"a" * 20, b"a") == [WAIT, WAIT, AS_IS]
    assert verdicts(head + b"a\r\n" + b"a" * 10 + b"\r\n", b"b\r\n" + b"b" * 11) == [WAIT, AS_IS]


def test_the_mail_and_upload_routes_take_larger_bodies_and_no_other_does() -> None:
    limits = Limits(
        body=20,
        large=large_bodies(
            make_settings(max_body_bytes=20, attachment_max_bytes=40, mail_max_bytes=100)
        ),
    )
    mail = b"POST /api/v1/inbound/email?mailbox=x HTTP/1.1\r\nContent-Length: 90\r\n\r\n"
    other = b"POST /api/v1/tickets HTTP/1.1\r\nContent-Length: 90\r\n\r\n"
    chunked = b"POST /api/v1/inbound/email HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

    assert verdicts(mail, b"a" * 90, limits=limits) == [WAIT, READY]
    assert verdicts(other, limits=limits) == [AS_IS]  # 413 from the head
    assert verdicts(mail.replace(b"90", b"101"), limits=limits) == [AS_IS]
    assert verdicts(chunked + b"5a\r\n", b"a" * 90 + b"\r\n0\r\n\r\n", limits=limits) == [
        WAIT,
        READY,
    ]
    assert limits.body_for(b"/api/v1/inbound") == 20  # the prefix, not a look-alike
    assert limits.body_for(b"/api/v1/tickets/abc/messages") == 60  # one file and a body
    assert limits.body_for(b"/api/v1/staff/tickets/abc/messages?x=1") == 60
    assert limits.body_for(b"/api/v1/tickets/abc/messages/x") == 20
    assert limits.body_for(b"/api/v1/tickets") == 20


def test_a_head_sent_a_byte_at_a_time_is_scanned_in_linear_time() -> None:
    limits = Limits(body=20)  # gunicorn's default head limits (about 800 KB)
    scanner = RequestScanner(limits)
    data = bytearray(b"GET / HTTP/1.1\r\nX-Long: ")
    started = time.process_time()
    for _ in range(200_000):
        data += b"a"
        assert scanner.scan(data) is WAIT
    assert time.process_time() - started < 5  # 0.2 s; rescanning the whole buffer: 11 s


def test_the_limits_follow_gunicorns_settings_and_fallbacks() -> None:
    default = Limits(body=1000)
    assert default.headers == 100 * (8190 + 2) + 4  # gunicorn's max_buffer_headers
    assert default.head == 2 + 4094 + 2 + default.headers
    unlimited = Limits(request_line=0, fields=0, field_size=0, body=1)
    assert unlimited.head == 2 + 8190 + 2 + 32768 * (8190 + 2) + 4


def test_a_read_in_a_thread_ends_at_the_connections_deadline() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"GET / HTTP/1.1\r\n")
        unreader = DeadlineUnreader(ours, time.monotonic() + 0.3)
        assert unreader.chunk() == b"GET / HTTP/1.1\r\n"
        started = time.monotonic()
        with pytest.raises(DeadlineMissed):
            unreader.chunk()  # the client sends nothing more
        assert 0.2 <= time.monotonic() - started < 2
        assert ours.gettimeout() is None  # blocking again, for the answer
        with pytest.raises(DeadlineMissed):
            unreader.chunk()  # past the deadline: no read at all


def test_serve_runs_the_worker_with_the_configured_deadline_and_body_limit() -> None:
    settings = make_settings(workers=2, threads=3, request_read_timeout=4.5, max_body_bytes=4096)
    worker_class = gunicorn_options(settings)["worker_class"]
    assert issubclass(worker_class, FairThreadWorker)
    assert issubclass(worker_class, ReadDeadlineWorker)
    assert (worker_class.read_timeout, worker_class.max_body_bytes) == (4.5, 4096)
    assert worker_class.__name__ == "FairThreadWorker"  # as gunicorn's log names it
    assert worker_class.large_bodies == large_bodies(settings)
    assert worker_class.large_bodies[0] == ("/api/v1/inbound/", settings.mail_max_bytes)
    assert make_settings().request_read_timeout == 10.0


def test_serve_takes_the_deadline_as_an_option() -> None:
    names = {option.name: option for option in serve.params}
    assert "read_timeout" in names
    assert "--read-timeout" in names["read_timeout"].opts
