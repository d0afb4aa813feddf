"""Enumerations and small value objects shared by the entities."""

from __future__ import annotations

import enum
import re
from urllib.parse import urlsplit

from helpdesk_core.domain.errors import ValidationFailed


class TicketStatus(enum.StrEnum):
    """Where a ticket stands; the transition table lives in ``domain.tickets``."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"


class TicketPriority(enum.StrEnum):
    """How urgent a ticket is, in ascending order."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for urgent, for sorting."""
        return list(TicketPriority).index(self)


class StaffRole(enum.StrEnum):
    """The role of a staff member; customers have no staff profile."""

    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


class Role(enum.StrEnum):
    """The role an acting principal has: a customer or one of the staff roles."""

    CUSTOMER = "customer"
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


class MessageVisibility(enum.StrEnum):
    """Public replies reach the customer; internal notes never do."""

    PUBLIC = "public"
    INTERNAL = "internal"


# Practical, not RFC 5322: one @, no spaces, a dot in the domain, at most 254 characters.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
EMAIL_MAX_LENGTH = 254


def normalize_email(value: str, field: str = "email") -> str:
    """An e-mail address trimmed and lower-cased, or ValidationFailed naming ``field``."""
    email = value.strip().lower()
    if len(value) > EMAIL_MAX_LENGTH or not _EMAIL.match(email):
        raise ValidationFailed.field(field, "must be a valid e-mail address")
    return email


def clean_text(value: str, field: str, *, max_length: int, min_length: int = 1) -> str:
    """Text trimmed of surrounding white space and checked for length and control characters.

    ``max_length`` counts the text as sent (the API documents it so), ``min_length`` what is
    left once trimmed."""
    text = value.strip()
    if len(text) < min_length:
        raise ValidationFailed.field(
            field,
            "must not be empty" if min_length == 1 else f"must be at least {min_length} characters",
        )
    if len(value) > max_length:
        raise ValidationFailed.field(field, f"must be at most {max_length} characters")
    if _CONTROL.search(text):
        raise ValidationFailed.field(field, "must not contain control characters")
    if _SURROGATE.search(text):
        raise ValidationFailed.field(field, "must be valid Unicode text")
    return text


# C0 controls but tab, line feed and carriage return, and DEL; a lone surrogate (only a str
# decoded with "surrogatepass" or built in Python holds one). One regular expression each: a
# loop over the characters took 0.25 ms for a 2,000-character description, the whole check
# with them 0.02 ms (timeit, docs/performance.md).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why no store can hold ``text`` (a field error's message), or None when every one can.

    SQLite stores any string; PostgreSQL ``text`` refuses U+0000, and no UTF-8 encoder takes a
    lone surrogate (JSON can carry ``"\\ud800"``). Input is held to the strictest store before
    any store sees it, so it is accepted or refused alike on every backend.
    """
    if "\x00" in text:
        return "must not contain NUL characters (U+0000)"
    if _SURROGATE.search(text):
        return "must be valid Unicode text (no lone surrogates)"
    return None


def storable(text: str) -> bool:
    """True when every store can hold ``text``."""
    return unstorable(text) is None


def name_key(name: str) -> str:
    """The case- and space-insensitive key that makes names unique (``Billing`` == ``billing``)."""
    return " ".join(name.split()).casefold()


URL_MAX = 2048


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL of sane length with no white space or control characters."""
    if not url or len(url) > URL_MAX or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False
