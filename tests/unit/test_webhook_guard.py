"""The webhook URL guard (SSRF protection), over a fake resolver: no DNS is asked."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from adapters.webhooks.guard import NetworkUrlGuard, Unresolved

PUBLIC = "93.184.216.34"


class FakeResolver:
    """A stand-in for socket.getaddrinfo over a fixed table; records every question."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos: list[tuple[Any, ...]] = []
        for address in self.table[host]:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return infos


TABLE = {
    "example.com": [PUBLIC, "2606:2800:220:1:248:1893:25c8:1946"],
    "intranet.example.com": ["10.0.0.1"],
    "rebind.example.com": [PUBLIC, "127.0.0.1"],  # one bad address spoils the name
    "hooks.internal": ["10.1.2.3"],
    "a.corp.example": ["172.16.5.5"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "empty.example.com": [],
}


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver(TABLE)


@pytest.fixture
def guard(resolver: FakeResolver) -> NetworkUrlGuard:
    return NetworkUrlGuard(allowlist=(), resolver=resolver)


@pytest.mark.parametrize(
    ("url", "address", "kind"),
    [
        ("http://127.0.0.1/x", "127.0.0.1", "loopback"),
        ("http://127.1.2.3:8080/", "127.1.2.3", "loopback"),
        ("http://10.0.0.1/hook", "10.0.0.1", "private"),
        ("https://192.168.1.10/", "192.168.1.10", "private"),
        ("https://172.16.0.1/", "172.16.0.1", "private"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "metadata"),
        ("http://169.254.10.1/", "169.254.10.1", "link-local"),
        ("http://[::1]/", "::1", "loopback"),
        ("http://[fc00::1]/", "fc00::1", "private"),
        ("http://[fd12:3456::1]/", "fd12:3456::1", "private"),
        ("http://[fe80::1]/", "fe80::1", "link-local"),
        ("http://0.0.0.0/", "0.0.0.0", "unspecified"),
        ("http://[::]/", "::", "unspecified"),
        ("http://224.0.0.1/", "224.0.0.1", "multicast"),
        ("http://[ff02::1]/", "ff02::1", "multicast"),
        ("http://240.0.0.1/", "240.0.0.1", "reserved"),
        ("http://100.64.0.1/", "100.64.0.1", "carrier-grade NAT"),
        ("http://100.100.100.200/", "100.100.100.200", "carrier-grade NAT"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe", "metadata"),
        ("http://intranet.example.com/hook", "10.0.0.1", "private"),
        ("http://rebind.example.com/", "127.0.0.1", "loopback"),
        ("http://mapped.example.com/", "::ffff:7f00:1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused_naming_the_address(
    guard: NetworkUrlGuard, url: str, address: str, kind: str
) -> None:
    reason = guard.check(url)
    assert reason is not None
    assert f"resolves to {address}," in reason
    assert kind in reason
    assert "\n" not in reason
    assert guard.resolve_allowed(url) == (reason, [])


def test_the_reason_reads_as_one_clear_line(guard: NetworkUrlGuard) -> None:
    assert guard.check("http://127.0.0.1/x") == (
        "http://127.0.0.1/x resolves to 127.0.0.1, a loopback address"
    )
    assert guard.check("http://intranet.example.com/hook?token=t0ps3cret") == (
        "http://intranet.example.com/hook resolves to 10.0.0.1, a private address"
    )


def test_a_public_address_is_allowed(guard: NetworkUrlGuard) -> None:
    assert guard.check(f"http://{PUBLIC}/hook") is None
    assert guard.resolve_allowed(f"https://{PUBLIC}:8443/hook") == (None, [PUBLIC])


def test_a_public_name_is_allowed_with_every_address_it_resolves_to(
    guard: NetworkUrlGuard, resolver: FakeResolver
) -> None:
    reason, addresses = guard.resolve_allowed("https://example.com/hooks/helpdesk")
    assert reason is None
    assert addresses == [PUBLIC, "2606:2800:220:1:248:1893:25c8:1946"]
    assert resolver.asked == ["example.com"]


def test_an_ip_literal_is_not_sent_to_the_resolver(
    guard: NetworkUrlGuard, resolver: FakeResolver
) -> None:
    guard.check("http://127.0.0.1/")
    guard.check(f"http://{PUBLIC}/")
    assert resolver.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal./",
        "http://metadata.goog/",
        "http://localhost:8000/",
        "http://api.localhost/",
    ],
)
def test_special_host_names_are_refused_before_any_lookup(
    guard: NetworkUrlGuard, resolver: FakeResolver, url: str
) -> None:
    reason = guard.check(url)
    assert reason is not None
    assert "host name" in reason
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/x", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("gopher://example.com/", "only http:// and https://"),
        ("example.com/hook", "only http:// and https://"),
        ("http:///no-host", "names no host"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://user@example.com/", "credentials"),
        ("http://example.com:99999/", "not valid"),
        ("http://example.com:0/", "port 0"),
        ("http://[::1/", "not valid"),
        ("http://example.com/a b", "whitespace"),
        ("http://example.com/\r\nX-Injected: 1", "control"),
    ],
)
def test_malformed_or_unsupported_urls_are_refused(
    guard: NetworkUrlGuard, url: str, words: str
) -> None:
    reason = guard.check(url)
    assert reason is not None
    assert words in reason


def test_credentials_are_never_repeated_in_the_reason(guard: NetworkUrlGuard) -> None:
    reason = guard.check("http://admin:hunter2@example.com/")
    assert reason is not None
    assert "hunter2" not in reason


def test_a_name_that_does_not_resolve_is_refused(guard: NetworkUrlGuard) -> None:
    reason = guard.check("https://nowhere.invalid/hook")
    assert isinstance(reason, Unresolved)
    assert "nowhere.invalid does not resolve" in reason
    reason = guard.check("https://empty.example.com/hook")
    assert reason is not None
    assert "does not resolve" in reason


def test_the_allowlist_admits_by_address_and_by_network(resolver: FakeResolver) -> None:
    guard = NetworkUrlGuard(allowlist=["127.0.0.1", "10.0.0.0/8", "::1"], resolver=resolver)
    assert guard.resolve_allowed("http://127.0.0.1:8080/x") == (None, ["127.0.0.1"])
    assert guard.resolve_allowed("http://intranet.example.com/") == (None, ["10.0.0.1"])
    assert guard.check("http://10.255.0.9/") is None
    assert guard.check("http://[::1]/") is None
    assert guard.check("http://[::ffff:127.0.0.1]/") is None  # the same host, mapped
    # ... and nothing else
    assert guard.check("http://127.0.0.2/") is not None
    assert guard.check("http://192.168.0.1/") is not None
    assert guard.check("http://169.254.169.254/") is not None
    # an admitted address is admitted whichever name leads to it
    assert guard.resolve_allowed("http://rebind.example.com/") == (None, [PUBLIC, "127.0.0.1"])
    assert guard.check("ftp://127.0.0.1/") is not None  # never beyond the scheme rule


def test_the_allowlist_admits_by_host_name(resolver: FakeResolver) -> None:
    guard = NetworkUrlGuard(
        allowlist=["hooks.internal", "*.corp.example", "metadata.google.internal"],
        resolver=resolver,
    )
    assert guard.resolve_allowed("http://hooks.internal/h") == (None, ["10.1.2.3"])
    assert guard.resolve_allowed("https://HOOKS.internal./h") == (None, ["10.1.2.3"])
    assert guard.check("https://a.corp.example/h") is None
    assert guard.check("http://metadata.google.internal/") is not None  # admitted, unresolved
    # the name is admitted, not its address
    assert guard.check("http://10.1.2.3/h") is not None
    assert guard.check("http://intranet.example.com/") is not None
    assert guard.check("https://corp.example/h") is not None  # "*." means below, not at


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "300.1.2.3", "not a host", "*"])
def test_a_bad_allowlist_entry_is_a_configuration_error(entry: str) -> None:
    with pytest.raises(ValueError, match="allowlist entry"):
        NetworkUrlGuard(allowlist=[entry])


def test_the_allowlist_is_a_sequence_not_a_string() -> None:
    with pytest.raises(TypeError):
        NetworkUrlGuard(allowlist="127.0.0.1")


def test_the_real_resolver_refuses_localhost() -> None:
    guard = NetworkUrlGuard(allowlist=[])
    assert guard.check("http://127.0.0.1/") is not None
    assert guard.check("http://2130706433/") is not None  # 127.0.0.1 spelled as one number
