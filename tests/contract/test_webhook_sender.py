"""The webhook sender against real local HTTP(S) servers; signatures checked by the reference
Standard Webhooks library (standardwebhooks), not by our own code."""

from __future__ import annotations

import base64
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook as ReferenceWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapters.webhooks.guard import NetworkUrlGuard
from adapters.webhooks.sender import HttpWebhookSender, sign
from helpdesk_core.ports.events import AttemptOutcome, SendResult, Webhook
from helpdesk_core.usecases.webhooks import new_secret
from tests.support.services import skip_or_fail

TIMEOUT = 1.0
BODY = json.dumps(
    {"type": "ticket.created", "data": {"ticket_id": "T-1", "subject": "Printer on fire"}}
).encode()


# ------------------------------------------------------------------ a local receiver


class Received:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body


class Receiver(http.server.ThreadingHTTPServer):
    """Records each request; the path picks the answer."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, 0), Handler)
        self.received: list[Received] = []
        self.release = threading.Event()  # ends the slow answers at teardown
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early are part of the tests


class Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.received.append(Received("POST", self.path, headers, body))
        route = self.path.split("?")[0]
        if route == "/fail":
            self.answer(500, b"oops")
        elif route == "/redirect":
            self.send_response(302)
            self.send_header("location", "/ok")
            self.send_header("content-length", "0")
            self.end_headers()
        elif route == "/slow":
            self.server.release.wait(10)
            self.answer(200, b"late")
        elif route == "/trickle":  # each byte within the timeout, the whole answer beyond it
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 40:
                if self.server.release.wait(0.1):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        elif route == "/huge":  # announces 100 MiB, sends 128 KiB and never the rest
            self.send_response(200)
            self.send_header("content-length", str(100 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"x" * 128 * 1024)
            self.wfile.flush()
            self.server.release.wait(10)
        else:
            self.answer(200, b'{"ok": true}')

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Iterator[Receiver]:
    receiver = Receiver(context, host)
    thread = threading.Thread(target=receiver.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.shutdown()
        receiver.server_close()
        thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


# ------------------------------------------------------------------ helpers


class FakeResolver:
    """socket.getaddrinfo over a table; counts the questions."""

    def __init__(self, table: dict[str, str | list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        found = self.table[host]
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in ([found] if isinstance(found, str) else found)
        ]


def webhook(url: str, secret: str | None = None) -> Webhook:
    now = datetime.now(UTC)
    return Webhook(
        id=uuid.uuid4(),
        url=url,
        events=("*",),
        secret=secret or new_secret(),
        created_at=now,
        updated_at=now,
    )


def sender(allowlist: list[str] | None = None, **kwargs: Any) -> HttpWebhookSender:
    resolver = kwargs.pop("resolver", socket.getaddrinfo)
    guard = NetworkUrlGuard(
        allowlist=["127.0.0.1"] if allowlist is None else allowlist, resolver=resolver
    )
    return HttpWebhookSender(guard, timeout_seconds=kwargs.pop("timeout", TIMEOUT), **kwargs)


def send(target: HttpWebhookSender, hook: Webhook) -> SendResult:
    return target.send(hook, f"msg_{uuid.uuid4().hex}", BODY, datetime.now(UTC))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ signing


def test_a_delivery_verifies_with_the_reference_library(receiver: Receiver) -> None:
    hook = webhook(f"http://127.0.0.1:{receiver.port}/hooks/helpdesk?tenant=7")
    sent_at = datetime.now(UTC)
    result = sender().send(hook, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", BODY, sent_at)

    assert result.outcome is AttemptOutcome.SUCCESS
    assert result.ok
    assert result.status_code == 200
    assert result.error is None
    assert 0 <= result.duration_ms < TIMEOUT * 1000

    [request] = receiver.received
    assert request.method == "POST"
    assert request.path == "/hooks/helpdesk?tenant=7"
    assert request.body == BODY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "helpdesk-webhooks/1"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["webhook-id"] == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    assert request.headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    assert request.headers["webhook-signature"].startswith("v1,")

    payload = ReferenceWebhook(hook.secret).verify(request.body, request.headers)
    assert payload == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        ReferenceWebhook(new_secret()).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        ReferenceWebhook(hook.secret).verify(request.body + b" ", request.headers)


def test_sign_agrees_with_the_reference_library() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    moment = datetime.fromtimestamp(1614265330, UTC)
    body = '{"test": 2432232314}'
    expected = ReferenceWebhook(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", moment, body)
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body.encode()) == expected
    # the spec's published example
    assert expected == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    # a secret without its prefix is the same key
    bare = secret.removeprefix("whsec_")
    assert sign(bare, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body.encode()) == expected


def test_new_secrets_are_prefixed_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second
    ReferenceWebhook(first)  # the reference library accepts it


# ------------------------------------------------------------------ answers


def test_a_server_error_is_an_http_error_with_its_status(receiver: Receiver) -> None:
    result = send(sender(), webhook(f"http://127.0.0.1:{receiver.port}/fail"))
    assert result.outcome is AttemptOutcome.HTTP_ERROR
    assert result.status_code == 500
    assert result.error is not None
    assert "500" in result.error
    assert not result.ok


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    result = send(sender(), webhook(f"http://127.0.0.1:{receiver.port}/redirect"))
    assert result.outcome is AttemptOutcome.HTTP_ERROR
    assert result.status_code == 302
    assert result.error is not None
    assert "redirect" in result.error
    assert [r.path for r in receiver.received] == ["/redirect"]  # /ok never asked


def test_a_slow_server_times_out(receiver: Receiver) -> None:
    started = time.monotonic()
    result = send(sender(timeout=0.5), webhook(f"http://127.0.0.1:{receiver.port}/slow"))
    elapsed = time.monotonic() - started
    assert result.outcome is AttemptOutcome.TIMEOUT
    assert result.status_code is None
    assert 0.4 <= elapsed < 2.0
    assert 400 <= result.duration_ms < 2000


def test_the_timeout_bounds_the_whole_attempt_not_each_read(receiver: Receiver) -> None:
    started = time.monotonic()  # bytes every 0.1 s: no read ever waits 0.5 s
    result = send(sender(timeout=0.5), webhook(f"http://127.0.0.1:{receiver.port}/trickle"))
    assert result.outcome is AttemptOutcome.TIMEOUT
    assert time.monotonic() - started < 2.0


def test_only_the_start_of_a_huge_answer_is_read(receiver: Receiver) -> None:
    started = time.monotonic()
    result = send(sender(timeout=3), webhook(f"http://127.0.0.1:{receiver.port}/huge"))
    assert result.outcome is AttemptOutcome.SUCCESS
    assert time.monotonic() - started < 2.0  # did not wait for the 100 MiB


def test_a_closed_port_is_a_network_error() -> None:
    result = send(sender(), webhook(f"http://127.0.0.1:{free_port()}/hook"))
    assert result.outcome is AttemptOutcome.NETWORK_ERROR
    assert result.status_code is None
    assert result.error is not None
    assert "refused" in result.error.lower()


def test_a_name_that_does_not_resolve_is_a_network_error() -> None:
    target = sender(resolver=FakeResolver({}))
    result = send(target, webhook("https://hooks.invalid/x"))
    assert result.outcome is AttemptOutcome.NETWORK_ERROR
    assert result.error is not None
    assert "does not resolve" in result.error


# ------------------------------------------------------------------ the guard


def test_a_refused_url_is_never_connected_to() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.3)
        port = listener.getsockname()[1]

        result = send(sender(allowlist=[]), webhook(f"http://127.0.0.1:{port}/hook"))

        assert result.outcome is AttemptOutcome.REFUSED
        # The guard's reason, and the setting the API and this worker must agree on.
        assert result.error == (
            "refused by this process (the API and every worker must carry the same "
            f"HELPDESK_WEBHOOK_ALLOWLIST): http://127.0.0.1:{port}/hook resolves to 127.0.0.1, "
            "a loopback address"
        )
        with pytest.raises(TimeoutError):
            listener.accept()  # not even a TCP connection came


def test_a_refused_url_sends_no_request(receiver: Receiver) -> None:
    for url in (
        f"http://127.0.0.1:{receiver.port}/ok",
        f"http://localhost:{receiver.port}/ok",
        f"http://[::ffff:127.0.0.1]:{receiver.port}/ok",
        f"ftp://127.0.0.1:{receiver.port}/ok",
    ):
        result = send(sender(allowlist=[]), webhook(url))
        assert result.outcome is AttemptOutcome.REFUSED, url
    assert receiver.received == []


def test_the_checked_address_is_the_one_connected_to(receiver: Receiver) -> None:
    resolver = FakeResolver({"hooks.test": "127.0.0.1"})  # no real DNS knows this name
    target = sender(resolver=resolver)
    result = send(target, webhook(f"http://hooks.test:{receiver.port}/ok"))
    assert result.outcome is AttemptOutcome.SUCCESS
    assert resolver.asked == ["hooks.test"]  # resolved once: checked and used, no second look
    [request] = receiver.received
    assert request.headers["host"] == f"hooks.test:{receiver.port}"


def test_the_next_address_is_tried_when_one_refuses(receiver: Receiver) -> None:
    # the receiver listens on 127.0.0.1 only: 127.0.0.2 refuses the connection
    resolver = FakeResolver({"hooks.test": ["127.0.0.2", "127.0.0.1"]})
    target = sender(allowlist=["127.0.0.0/8"], resolver=resolver)
    result = send(target, webhook(f"http://hooks.test:{receiver.port}/ok"))
    assert result.outcome is AttemptOutcome.SUCCESS
    assert len(receiver.received) == 1


@pytest.fixture
def ipv6_receiver() -> Iterator[Receiver]:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        skip_or_fail("no IPv6 loopback here")
    yield from serve(host="::1")


def test_ipv6_endpoints_are_reached(ipv6_receiver: Receiver) -> None:
    port = ipv6_receiver.port
    result = send(sender(allowlist=["::1"]), webhook(f"http://[::1]:{port}/ok"))
    assert result.outcome is AttemptOutcome.SUCCESS, result.error
    [request] = ipv6_receiver.received
    assert request.headers["host"] == f"[::1]:{port}"


def test_the_secret_and_body_never_appear_in_an_error(receiver: Receiver) -> None:
    secret = new_secret()
    urls = [
        f"http://127.0.0.1:{receiver.port}/fail",
        f"http://127.0.0.1:{receiver.port}/redirect",
        f"http://127.0.0.1:{receiver.port}/slow",
        f"http://127.0.0.1:{free_port()}/closed",
        f"http://10.0.0.1:{receiver.port}/refused",
        f"https://127.0.0.1:{receiver.port}/not-tls",
    ]
    for url in urls:
        result = send(sender(timeout=0.3), webhook(url, secret))
        assert not result.ok, url
        assert result.error, url
        assert secret not in result.error
        assert secret.removeprefix("whsec_") not in result.error
        assert BODY.decode() not in result.error
        assert len(result.error) <= 200
        assert "\n" not in result.error
        assert secret not in repr(result)


# ------------------------------------------------------------------ TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name hooks.test (and nothing else)."""
    if shutil.which("openssl") is None:
        skip_or_fail("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=hooks.test",
         "-addext", "subjectAltName=DNS:hooks.test"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    yield from serve(context)


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def test_https_verifies_the_certificate_by_default(tls_receiver: Receiver) -> None:
    target = sender(resolver=FakeResolver({"hooks.test": "127.0.0.1"}))
    result = send(target, webhook(f"https://hooks.test:{tls_receiver.port}/ok"))
    assert result.outcome is AttemptOutcome.NETWORK_ERROR
    assert result.error is not None
    assert "TLS" in result.error
    assert "certificate" in result.error
    assert tls_receiver.received == []


def test_https_names_the_url_host_to_a_pinned_address(
    tls_receiver: Receiver, certificate: tuple[Path, Path]
) -> None:
    resolver = FakeResolver({"hooks.test": "127.0.0.1"})
    target = sender(resolver=resolver, ssl_context=trusting(certificate))
    hook = webhook(f"https://hooks.test:{tls_receiver.port}/tls")
    result = send(target, hook)
    assert result.outcome is AttemptOutcome.SUCCESS, result.error
    [request] = tls_receiver.received
    assert request.headers["host"] == f"hooks.test:{tls_receiver.port}"
    ReferenceWebhook(hook.secret).verify(request.body, request.headers)


def test_https_refuses_a_certificate_for_another_name(
    tls_receiver: Receiver, certificate: tuple[Path, Path]
) -> None:
    target = sender(
        resolver=FakeResolver({"other.test": "127.0.0.1"}), ssl_context=trusting(certificate)
    )
    result = send(target, webhook(f"https://other.test:{tls_receiver.port}/tls"))
    assert result.outcome is AttemptOutcome.NETWORK_ERROR
    assert result.error is not None
    assert "other.test" in result.error or "mismatch" in result.error.lower()
    assert tls_receiver.received == []


# ------------------------------------------------------------------ URLs stored before encoding


def test_a_url_stored_with_non_ascii_text_is_sent_percent_encoded(receiver: Receiver) -> None:
    """Issue 20, finding 2: ``http://host/é`` (accepted before URLs were normalized when
    saved) made http.client raise UnicodeEncodeError out of the sender at every pass."""
    hook = webhook(f"http://127.0.0.1:{receiver.port}/caf\u00e9?q=\u00e9t\u00e9#\u00e9")
    result = send(sender(), hook)
    assert result.outcome is AttemptOutcome.SUCCESS
    [request] = receiver.received
    assert request.path == "/caf%C3%A9?q=%C3%A9t%C3%A9"


def test_an_international_host_name_is_asked_for_in_idna() -> None:
    resolver = FakeResolver({})
    result = send(sender(resolver=resolver), webhook("https://b\u00fccher.example/in"))
    assert resolver.asked == ["xn--bcher-kva.example"]
    assert result.outcome is AttemptOutcome.NETWORK_ERROR  # it does not resolve: may pass


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/\udce9",  # a lone surrogate (SQLite stored it)
        "http://xn--\u00e9.example/in",  # an IDNA label no encoder takes
        "http://" + "\u00e9" * 64 + ".example/in",  # a label over 63 characters
    ],
)
def test_a_url_no_encoding_reaches_is_refused_without_a_connection(url: str) -> None:
    resolver = FakeResolver({})
    result = send(sender(resolver=resolver), webhook(url))
    assert result.outcome is AttemptOutcome.REFUSED
    assert "cannot be encoded" in (result.error or "")
    assert resolver.asked == []
