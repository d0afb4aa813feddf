"""A read deadline per connection: slow clients never hold a worker thread.

gunicorn's gthread worker hands a connection to a thread as soon as it has bytes, and the
thread then reads the request with blocking reads: a client that sends a header line or a
body byte every few seconds holds that thread for as long as it likes (with 2 workers x 3
threads, six such clients stopped the service; the workers kept heartbeating, so nothing was
restarted). A per-read socket timeout does not help (each byte restarts it), and an overall
deadline checked by the thread still leaves the thread held until it runs out.

``ReadDeadlineWorker`` therefore reads requests in the worker's poller, not in its threads:

- a new connection, a kept-alive one that becomes readable, and bytes a previous request left
  behind all start a *reading*: the socket stays non-blocking in the poller and what arrives is
  buffered until ``RequestScanner`` says the request is whole (its head, and its body up to
  its Content-Length or its last chunk);
- only then does a thread get it, with the buffered bytes given back to gunicorn's parser, so
  the thread parses and answers without waiting on the client;
- a request not whole within ``read_timeout`` of the connection's start (or of the first byte
  of a kept-alive connection's next request) is answered ``408`` (when part of it came),
  logged and closed; a connection that sent nothing is closed quietly;
- a body over ``max_body_bytes`` is not waited for: the app answers 413 from the head (or from
  the first ``max_body_bytes + 1`` bytes of a chunked body), and the connection closes;
- a closing connection lingers in the poller (gunicorn's graceful close waits up to 2 s for
  the client on the worker's main thread, where a client that never closes would stop the
  poller for that long).

As a second line, the parser's socket reads in the thread are bounded by the same deadline
(``DeadlineUnreader``): should the scanner ever hand on a request it misjudged, the thread is
held until the deadline at most.

``RequestScanner`` and ``Limits``, the framing, are in entrypoints/serving/request_scanner.py.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.http.errors import NoMoreData
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from entrypoints.serving.request_scanner import DEFAULT_MAX_BODY, Limits, RequestScanner, Verdict

DEFAULT_READ_TIMEOUT = 10.0  # HELPDESK_REQUEST_READ_TIMEOUT
LINGER = 2.0  # seconds a closing connection waits for the client's FIN (gunicorn's too)
LINGER_DRAIN = 64 * 1024  # bytes read from a closing connection before giving up on it
RECV_SIZE = 64 * 1024

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 16\r\n\r\nRequest Timeout\n"
)


class DeadlineMissed(NoMoreData):
    """The client did not send what the parser waited for before the read deadline."""


class DeadlineUnreader(SocketUnreader):
    """gunicorn's socket reader, each read bounded by the connection's read deadline (the
    second line: reads in a thread happen only when the scanner misjudged a request)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__(sock)
        self.deadline = deadline

    def chunk(self, size_hint: int | None = None) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineMissed()
        self.sock.settimeout(remaining)
        try:
            return super().chunk(size_hint)
        except TimeoutError:
            raise DeadlineMissed() from None
        finally:
            self.sock.settimeout(None)


class DeadlineConn(TConn):
    """A connection and the request being read on it in the poller."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any) -> None:
        super().__init__(cfg, sock, client, server)
        self.received = bytearray()
        self.scanner: RequestScanner | None = None
        self.read_deadline = 0.0
        self.whole = True  # its whole body is in the buffer
        self.continued = False  # 100 Continue sent for this request
        self.lingerer: Any = None  # the worker's graceful close, in the poller
        self.linger_deadline = 0.0
        self.drained = 0

    def close(self, graceful: bool = False) -> None:
        if graceful and self.lingerer is not None:
            self.lingerer(self)
        else:
            util.close(self.sock)


class ReadDeadlineWorker(ThreadWorker):
    """gunicorn's gthread worker that reads requests in its poller (see the module)."""

    read_timeout = DEFAULT_READ_TIMEOUT
    max_body_bytes = DEFAULT_MAX_BODY
    large_bodies: tuple[tuple[str, int], ...] = ()

    @classmethod
    def configured(
        cls,
        read_timeout: float,
        max_body_bytes: int,
        large_bodies: tuple[tuple[str, int], ...] = (),
    ) -> type[ReadDeadlineWorker]:
        """This worker class with the given deadline and body limits (gunicorn instantiates
        the class it is given, so the values travel as class attributes); a request whose
        target matches a pattern of ``large_bodies`` may carry a body up to its limit."""
        attributes = {
            "read_timeout": read_timeout,
            "max_body_bytes": max_body_bytes,
            "large_bodies": large_bodies,
        }
        return type(cls.__name__, (cls,), attributes)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[DeadlineConn, None] = {}  # in deadline order (insertion order)
        self.lingering: dict[DeadlineConn, None] = {}
        self.limits = Limits.of(self.cfg, self.max_body_bytes, self.large_bodies)
        # TLS, PROXY protocol and HTTP/2 read their own bytes first: plain gthread then
        self.reads_in_poller = not (
            self.cfg.is_ssl
            or self.cfg.proxy_protocol != "off"
            or "h2" in getattr(self.cfg, "http_protocols", ())
        )

    def init_process(self) -> None:
        if not self.reads_in_poller:
            self.log.warning("TLS, PROXY protocol or HTTP/2 on: no read deadline in gunicorn")
        super().init_process()

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = DeadlineConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self.reads_in_poller:
            conn.lingerer = self._linger
        self.enqueue_req(conn)

    # ------------------------------------------------------------ reading in the poller

    def enqueue_req(self, conn: Any) -> None:
        """Every path to a thread comes here: a new connection, a kept-alive one that became
        readable, and one whose last request left bytes behind. Unless its request is whole,
        it is read in the poller first."""
        if not self.reads_in_poller or not isinstance(conn, DeadlineConn):
            super().enqueue_req(conn)
            return
        conn.received = bytearray()
        if conn.parser is not None:  # bytes the previous request read ahead
            conn.received += conn.parser.unreader.take_buffered()
        conn.scanner = RequestScanner(self.limits)
        conn.read_deadline = time.monotonic() + self.read_timeout
        conn.continued = False
        conn.sock.setblocking(False)
        if conn.received and self._scanned(conn):
            return
        self.reading[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: DeadlineConn, _sock: Any) -> None:
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._stop_reading(conn)
            self._drop(conn)
            return
        conn.received += data
        try:
            self._scanned(conn)
        except Exception:  # a fault here must not end the worker's loop: drop the connection
            self.log.exception("reading a request from %s failed", _peer(conn.client))
            self._stop_reading(conn)
            self._drop(conn)

    def _scanned(self, conn: DeadlineConn) -> bool:
        """Scan what ``conn`` received; hand it to a thread once it may be. True if handed."""
        assert conn.scanner is not None
        verdict = conn.scanner.scan(conn.received)
        if verdict is Verdict.WAIT:
            if conn.scanner.expects_continue and not conn.continued:
                conn.continued = True  # gunicorn sends one more when it reads the head: allowed
                with contextlib.suppress(OSError):
                    conn.sock.send(CONTINUE)
            return False
        self._stop_reading(conn)
        conn.whole = verdict is Verdict.READY
        conn.data_ready = True  # gunicorn's thread must not wait for data (there is some)
        super().enqueue_req(conn)
        return True

    def _stop_reading(self, conn: DeadlineConn) -> None:
        """Take ``conn`` off the poller, if it was being read there."""
        if self.reading.pop(conn, False) is None:  # present: its value is None
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    def _drop(self, conn: DeadlineConn) -> None:
        self.nr_conns -= 1
        util.close(conn.sock)

    def _expire(self, now: float) -> None:
        """Close the connections whose request is late, and end lingering closes."""
        while self.reading:
            conn = next(iter(self.reading))
            if conn.read_deadline > now:
                break
            self._stop_reading(conn)
            if conn.received.strip(b"\r\n"):
                with contextlib.suppress(OSError):
                    conn.sock.send(TIMED_OUT)
                self.log.warning(
                    "closed the connection from %s: request not read within %gs"
                    " (%d bytes received)",
                    _peer(conn.client),
                    self.read_timeout,
                    len(conn.received),
                )
            else:
                self.log.debug("closed the idle connection from %s", _peer(conn.client))
            self._drop(conn)
        while self.lingering:
            conn = next(iter(self.lingering))
            if conn.linger_deadline > now:
                break
            self._end_linger(conn)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        now = time.monotonic()
        for waiting, attribute in (
            (self.reading, "read_deadline"),
            (self.lingering, "linger_deadline"),
        ):
            if waiting:
                first = getattr(next(iter(waiting)), attribute)
                timeout = max(0.0, min(timeout, first - now))
        super().wait_for_and_dispatch_events(timeout)
        self._expire(time.monotonic())

    # ------------------------------------------------------------ in the thread

    def handle(self, conn: Any) -> Any:
        if isinstance(conn, DeadlineConn) and conn.scanner is not None:
            conn.init()  # plain HTTP/1: makes the parser, reads nothing
            unreader = conn.parser.unreader
            if not isinstance(unreader, DeadlineUnreader):
                unreader = DeadlineUnreader(conn.sock, conn.read_deadline)
                conn.parser.unreader = unreader
            unreader.deadline = conn.read_deadline
            unreader.unread(bytes(conn.received))
            conn.received = bytearray()
            conn.scanner = None
        return super().handle(conn)

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        if isinstance(conn, DeadlineConn) and not conn.whole:
            return False  # the body was not all read: where a next request starts is unknown
        return bool(super()._keepalive_after(conn, keepalive))

    # ------------------------------------------------------------ closing in the poller

    def _linger(self, conn: DeadlineConn) -> None:
        """Graceful close (RFC 9112 9.6) without blocking the poller: send FIN, then read
        and drop what the client still sends until it closes, ``LINGER`` at most."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
        except OSError:
            util.close(conn.sock)
            return
        conn.linger_deadline = time.monotonic() + LINGER
        conn.drained = 0
        self.lingering[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_linger, conn))

    def _on_linger(self, conn: DeadlineConn, _sock: Any) -> None:
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained >= LINGER_DRAIN:
            self._end_linger(conn)

    def _end_linger(self, conn: DeadlineConn) -> None:
        self.lingering.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        util.close(conn.sock)


def _peer(client: Any) -> str:
    if isinstance(client, tuple) and len(client) >= 2:
        return f"{client[0]}:{client[1]}"
    return str(client)
