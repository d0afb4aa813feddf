"""Who is calling: the client's address, through the load balancers the operator trusts.

Behind a load balancer every connection comes from the balancer, so login throttling keyed by
the peer address would throttle everyone at once. ``HELPDESK_TRUSTED_PROXIES`` lists the
balancers; when the peer is one of them, ``X-Forwarded-For`` is read from the right (each proxy
appends the address it received the request from), trusted hops are skipped, and the first
address that is not a trusted proxy is the client. Nothing a client writes into the header can
move that choice past the hops the trusted proxies appended themselves. When the peer is not
trusted, the header is ignored: anyone can send it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import falcon

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(req: falcon.Request) -> str:
    """The client's address that the ``ClientAddress`` middleware found for ``req``."""
    found = getattr(req.context, "client_address", None)
    return str(found) if found else (req.remote_addr or "unknown")


class ClientAddress:
    """Middleware: ``req.context.client_address``, the client's IP address as text."""

    def __init__(self, trusted_proxies: Sequence[str]) -> None:
        self._trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(item, strict=False) for item in trusted_proxies
        )

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.client_address = self.address(req)

    def address(self, req: falcon.Request) -> str:
        peer = req.remote_addr or "unknown"
        if not self._trusted or not self._is_trusted(peer):
            return peer
        header = req.get_header("X-Forwarded-For") or ""
        hops = [hop.strip() for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            if self._is_trusted(hop):
                continue
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                # A trusted proxy passed on something that is not an address: do not let it
                # become a key of its own; the nearest trusted hop answers for it.
                return peer
        return peer  # only trusted hops: the request came from inside
