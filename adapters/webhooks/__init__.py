"""Webhooks over the standard library: the SSRF guard and the signing HTTP sender."""

from adapters.webhooks.guard import AddressGuard, NetworkUrlGuard, Unresolved
from adapters.webhooks.sender import HttpWebhookSender, sign

__all__ = [
    "AddressGuard",
    "HttpWebhookSender",
    "NetworkUrlGuard",
    "Unresolved",
    "sign",
]
