"""Which URLs a webhook may reach: SSRF protection by scheme, host name and resolved address.

A webhook URL is typed in by a user of the service and then fetched by the service's own
workers, from inside its network. Without a guard that is a way to make the server POST to its
database, its cloud metadata endpoint (169.254.169.254) or anything else only it can reach. The
guard allows http(s) URLs whose host resolves only to public addresses, unless the operator
admits a host name, address or network through the allowlist (for receivers on a private
network, or tests on 127.0.0.1).

A check answers for the addresses it resolved; :meth:`NetworkUrlGuard.resolve_allowed` hands
those addresses to the sender, which connects to one of them and never resolves the name again,
so a name that answers a public address to the check and 127.0.0.1 to the connection (DNS
rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit

from helpdesk_core.ports.events import UrlGuard

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# socket.getaddrinfo(host, port, family, type) -> [(family, type, proto, canonname, sockaddr)]
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

_SCHEMES = ("http", "https")

# Names that reach a cloud provider's instance metadata (credentials!) or this very host,
# refused before any DNS query. Their addresses are refused as well; the names are here for
# resolvers (split-horizon DNS, /etc/hosts) that answer something unexpected for them.
_BLOCKED_NAMES = {
    "metadata.google.internal": "a cloud metadata host name",
    "metadata.goog": "a cloud metadata host name",
    "metadata": "a cloud metadata host name",
    "instance-data": "a cloud metadata host name",
    "instance-data.ec2.internal": "a cloud metadata host name",
    "localhost": "a loopback host name",
}

_METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598; includes Alibaba's 100.100.100.200
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")  # RFC 6890; Oracle's 192.0.0.192
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


class Unresolved(str):
    """A refusal because the host name did not resolve (now).

    Still a plain ``str`` reason; its type lets the sender report a network error, which may
    pass, rather than a verdict on the address.
    """

    __slots__ = ()


class AddressGuard(UrlGuard, Protocol):
    """A :class:`UrlGuard` that also hands out the addresses it checked."""

    def resolve_allowed(self, url: str) -> tuple[str | None, list[str]]:
        """``(None, addresses)`` when allowed, else ``(reason, [])``."""
        ...


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to an IPv4 host (mapped, 6to4, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify(address: IPAddress) -> str | None:
    """Why ``address`` is not public (e.g. "a loopback address"), or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # without a %scope
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            label = classify(embedded)
            return None if label is None else f"{label} (IPv4 {embedded} inside IPv6)"
    if address in _METADATA_ADDRESSES:
        return "the cloud metadata address (link-local)"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if any(address in network for network in _PRIVATE_NETWORKS):
        return "a private address"
    if address in _CGNAT:
        return "a carrier-grade NAT address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_reserved:
        return "a reserved address"
    if address in _IETF_PROTOCOL or address.is_private or not address.is_global:
        return "a special-purpose, non-public address"
    return None


def _normalize_host(host: str) -> str:
    return host.lower().rstrip(".")


def _host_display(parts: SplitResult) -> str:
    """The URL as a reason names it: without query and fragment (they may carry tokens)."""
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class NetworkUrlGuard:
    """Allows http(s) URLs whose host resolves only to public addresses.

    ``allowlist`` admits what would otherwise be refused: host names (``"hooks.internal"``;
    ``"*.corp.example"`` admits every name under ``corp.example``), addresses
    (``"127.0.0.1"``, ``"::1"``) and networks (``"10.0.0.0/8"``). An admitted host name admits
    whatever it resolves to. ``resolver`` is :func:`socket.getaddrinfo` or a stand-in.
    """

    def __init__(
        self, allowlist: Sequence[str] = (), resolver: Resolver = socket.getaddrinfo
    ) -> None:
        if isinstance(allowlist, str):
            raise TypeError("allowlist is a sequence of entries, not one string")
        self._resolver = resolver
        self._networks: list[IPNetwork] = []
        self._names: set[str] = set()
        self._suffixes: list[str] = []
        for raw in allowlist:
            entry = raw.strip()
            if not entry:
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                if "/" in entry or entry.replace(".", "").isdigit() or ":" in entry:
                    raise ValueError(
                        f"webhook allowlist entry {entry!r} is not a valid address or network"
                    ) from None
            name = _normalize_host(entry)
            if name.startswith("*."):
                self._suffixes.append(name[1:])  # ".corp.example"
            elif name and "*" not in name and all(c.isalnum() or c in ".-_" for c in name):
                self._names.add(name)
            else:
                raise ValueError(f"webhook allowlist entry {entry!r} is not a valid host name")

    def __repr__(self) -> str:
        entries = [str(n) for n in self._networks] + sorted(self._names)
        entries += ["*" + s for s in self._suffixes]
        return f"NetworkUrlGuard(allowlist={entries!r})"

    def check(self, url: str) -> str | None:
        """None when a webhook may POST to ``url``, else why not (one line)."""
        return self.resolve_allowed(url)[0]

    def resolve_allowed(self, url: str) -> tuple[str | None, list[str]]:
        """``(None, addresses)``: ``url`` is allowed and these are the addresses (as strings,
        in resolver order, at least one) it may be reached at; ``(reason, [])`` otherwise.
        A host name that does not resolve gives an :class:`Unresolved` reason."""
        if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
            return "the URL contains whitespace or control characters", []
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            return f"the URL is not valid ({exc})", []
        if "@" in parts.netloc:
            return "webhook URLs must not carry credentials (user:password@host)", []
        if parts.scheme not in _SCHEMES:
            shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
            return f"only http:// and https:// URLs may receive webhooks, not {shown}", []
        display = _host_display(parts)
        host = _normalize_host(parts.hostname or "")
        if not host:
            return f"{display} names no host", []
        if port == 0:
            return f"{display} names port 0", []
        port = port or (443 if parts.scheme == "https" else 80)

        name_admitted = self._admits_name(host)
        label = _BLOCKED_NAMES.get(host)
        if label is None and host.endswith(".localhost"):
            label = "a loopback host name"
        if label is not None and not name_admitted:
            return f"{display} names {host}, {label}", []

        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            resolved = self._resolve(host, port)
            if isinstance(resolved, str):
                return Unresolved(f"{display}: {host} does not resolve ({resolved})"), []
            addresses = resolved

        allowed: list[str] = []
        for address in addresses:
            if not name_admitted and not self._admits_address(address):
                label = classify(address)
                if label is not None:
                    return f"{display} resolves to {address}, {label}", []
            if str(address) not in allowed:
                allowed.append(str(address))
        return None, allowed

    def _resolve(self, host: str, port: int) -> list[IPAddress] | str:
        """The addresses ``host`` resolves to, or why it does not resolve."""
        try:
            infos = self._resolver(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            return str(exc.strerror or exc)
        except (OSError, UnicodeError) as exc:
            return f"{type(exc).__name__}: {exc}"
        addresses: list[IPAddress] = []
        for info in infos:
            try:
                addresses.append(ipaddress.ip_address(info[4][0]))
            except (ValueError, IndexError, TypeError):
                continue  # not an internet address (AF_UNIX, ...): never connectable
        return addresses or "no addresses"

    def _admits_name(self, host: str) -> bool:
        return host in self._names or any(host.endswith(s) for s in self._suffixes)

    def _admits_address(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            address = ipaddress.IPv6Address(int(address))  # without a %scope
            candidates = [address]
            embedded = _embedded_ipv4(address)
            if embedded is not None:
                candidates.append(embedded)
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self._networks
        )
