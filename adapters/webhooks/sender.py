"""Delivers one webhook attempt over HTTP(S), signed as the Standard Webhooks spec says.

Standard library only (http.client, ssl, hmac). Every attempt:

* asks the guard for the URL's allowed addresses and connects to one of those, never resolving
  the name again (no DNS-rebinding window); for https the TLS handshake still names and
  verifies the URL's host (SNI, certificate), and the Host header is the URL's host;
* POSTs the body with ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers
  (https://www.standardwebhooks.com/);
* follows no redirect (a 3xx is an HTTP error: the endpoint's URL should be fixed), reads at
  most 64 KiB of the answer, and is bounded by ``timeout_seconds`` as a whole, not per read,
  so a server trickling bytes cannot hold a worker;
* reports every failure of the endpoint in the :class:`SendResult`, never raising for it, and
  never puts the secret or the body in an error;
* sends the URL as ``values.web_url`` encodes it (IDNA host, percent-encoded path and query),
  also for URLs stored before they were normalized when saved; a URL with no such form, or a
  request http.client cannot encode, is refused (``REFUSED``: no retry would send it).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from datetime import datetime
from types import TracebackType
from urllib.parse import urlsplit

from adapters.webhooks.guard import AddressGuard, Unresolved
from helpdesk_core.domain.signatures import SECRET_PREFIX as SECRET_PREFIX
from helpdesk_core.domain.signatures import sign as sign
from helpdesk_core.domain.values import web_url
from helpdesk_core.ports.events import AttemptOutcome, SendResult, Webhook

MAX_RESPONSE_BYTES = 64 * 1024
_MAX_ERROR_CHARS = 200


class _Watchdog:
    """Cuts the connection when the attempt's time is up.

    Socket timeouts bound each read; this bounds the whole exchange: at the deadline the
    watched socket is shut down, which wakes a blocked read with an end of file.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._deadline = time.monotonic() + seconds
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                self._shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                self._shutdown(self._sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        # the plain socket's shutdown, also for an SSLSocket: no TLS close from this thread
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _scope_index(scope: str) -> int:
    return int(scope) if scope.isdigit() else socket.if_nametoindex(scope)


def _open(address: str, port: int, watchdog: _Watchdog) -> socket.socket:
    """A TCP connection to exactly ``address`` (no name resolution), watched."""
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(watchdog.remaining())
        watchdog.watch(sock)
        if isinstance(ip, ipaddress.IPv6Address):
            scope = _scope_index(ip.scope_id) if ip.scope_id else 0
            sock.connect((str(ipaddress.IPv6Address(int(ip))), port, 0, scope))
        else:
            sock.connect((address, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the URL's host name, over a connection to one checked address."""

    def __init__(self, host: str, port: int, address: str, watchdog: _Watchdog) -> None:
        super().__init__(host, port, timeout=watchdog.remaining())
        self._address = address
        self._watchdog = watchdog

    def connect(self) -> None:
        self.sock = _open(self._address, self.port, self._watchdog)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the URL's host name (SNI, certificate check) over a checked address."""

    def __init__(
        self,
        host: str,
        port: int,
        address: str,
        watchdog: _Watchdog,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, timeout=watchdog.remaining(), context=context)
        self._address = address
        self._watchdog = watchdog
        self._tls = context

    def connect(self) -> None:
        raw = _open(self._address, self.port, self._watchdog)
        try:
            tls = self._tls.wrap_socket(
                raw, server_hostname=self.host, do_handshake_on_connect=False
            )
        except BaseException:
            raw.close()
            raise
        self.sock = tls
        self._watchdog.watch(tls)
        tls.do_handshake()


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        text = f"TLS: {getattr(exc, 'verify_message', None) or text}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror  # "Connection refused", without "[Errno 111]"
    elif isinstance(exc, http.client.HTTPException) and not isinstance(exc, OSError):
        text = f"{type(exc).__name__}: {text}"
    return text


class HttpWebhookSender:
    """:class:`WebhookSender` over http.client: one signed POST per attempt.

    ``guard`` decides where a webhook may go and which addresses to use; ``timeout_seconds``
    bounds the whole attempt (connect, TLS, request, response); ``ssl_context`` defaults to
    the system's trusted CAs with host name checking.
    """

    def __init__(
        self,
        guard: AddressGuard,
        timeout_seconds: float,
        user_agent: str = "helpdesk-webhooks/1",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self._guard = guard
        self._timeout = timeout_seconds
        self._user_agent = user_agent
        self._ssl_context = ssl_context or ssl.create_default_context()

    def __repr__(self) -> str:
        return f"HttpWebhookSender(timeout_seconds={self._timeout}, guard={self._guard!r})"

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        started = time.monotonic()

        def result(
            outcome: AttemptOutcome, status: int | None = None, error: str | None = None
        ) -> SendResult:
            if error is not None:
                error = self._scrub(error, webhook, body)
            elapsed = round((time.monotonic() - started) * 1000)
            return SendResult(outcome=outcome, duration_ms=elapsed, status_code=status, error=error)

        try:  # http.client sends ASCII only: an IDNA host, a percent-encoded path and query
            url = web_url(webhook.url)
        except ValueError as exc:
            return result(AttemptOutcome.REFUSED, error=f"the URL cannot be encoded: {exc}")
        reason, addresses = self._guard.resolve_allowed(url)
        if reason is not None:
            if isinstance(reason, Unresolved):  # DNS: may pass, a network error
                return result(AttemptOutcome.NETWORK_ERROR, error=reason)
            # The API admitted the URL when it was saved; this process refuses it. Name the
            # setting both must agree on (a delivery refused here is not retried).
            # The hint first: an error is cut at 200 characters, a long URL goes last.
            return result(
                AttemptOutcome.REFUSED,
                error="refused by this process (the API and every worker must carry the same "
                f"HELPDESK_WEBHOOK_ALLOWLIST): {reason}",
            )

        ts = int(timestamp.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": self._user_agent,
            "webhook-id": message_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(webhook.secret, message_id, ts, body),
        }
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

        with _Watchdog(self._timeout) as watchdog:
            last_error: str | None = None
            timed_out = False
            for address in addresses:  # the next address only when connecting failed
                connection: http.client.HTTPConnection
                try:
                    if parts.scheme == "https":
                        connection = _PinnedHTTPSConnection(
                            host, port, address, watchdog, self._ssl_context
                        )
                    else:
                        connection = _PinnedHTTPConnection(host, port, address, watchdog)
                except TimeoutError:
                    timed_out = True
                    break
                try:
                    try:
                        connection.connect()
                    except OSError as exc:
                        if isinstance(exc, TimeoutError | ssl.SSLError) or watchdog.fired:
                            raise
                        # refused, unreachable: the next address may answer
                        last_error = f"connecting to {address} port {port}: {_short(exc)}"
                        continue
                    connection.request("POST", target, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read(MAX_RESPONSE_BYTES)
                    status = response.status
                except http.client.InvalidURL as exc:
                    return result(AttemptOutcome.REFUSED, error=f"invalid URL: {exc}")
                except UnicodeError as exc:  # the request line or a header is not ASCII
                    return result(AttemptOutcome.REFUSED, error=f"cannot be encoded: {exc}")
                except (OSError, http.client.HTTPException) as exc:  # ssl errors are OSErrors
                    if watchdog.fired or isinstance(exc, TimeoutError):
                        return result(
                            AttemptOutcome.TIMEOUT, error=f"timed out after {self._timeout:g}s"
                        )
                    return result(AttemptOutcome.NETWORK_ERROR, error=_short(exc))
                finally:
                    connection.close()
                if 200 <= status < 300:
                    return result(AttemptOutcome.SUCCESS, status)
                phrase = " ".join(str(response.reason or "").split())[:80]
                error = f"HTTP {status} {phrase}".rstrip()
                if 300 <= status < 400:
                    error += " (redirects are not followed)"
                return result(AttemptOutcome.HTTP_ERROR, status, error)

        if timed_out or watchdog.fired:
            return result(AttemptOutcome.TIMEOUT, error=f"timed out after {self._timeout:g}s")
        return result(AttemptOutcome.NETWORK_ERROR, error=last_error or "no address to connect to")

    @staticmethod
    def _scrub(error: str, webhook: Webhook, body: bytes) -> str:
        """One short line, without the secret or the body, whatever an exception said."""
        text = " ".join(error.split())
        for secret in {webhook.secret, webhook.secret.removeprefix(SECRET_PREFIX)}:
            if secret:
                text = text.replace(secret, "[secret]")
        shown = body.decode("utf-8", "replace").strip()
        if len(shown) >= 8:
            text = text.replace(shown, "[body]")
        if len(text) > _MAX_ERROR_CHARS:
            text = text[: _MAX_ERROR_CHARS - 1] + "…"
        return text
