"""Parsers of the settings' values: each takes a variable's text and returns its value.

A parser raises ``ValueError`` (or ``TypeError``) on text it refuses, and says what it accepts
in its ``expected`` attribute, which ``ConfigError`` quotes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit


def text(raw: str) -> str:
    return raw.strip()


def optional_text(raw: str) -> str | None:
    return raw.strip() or None


def folder(raw: str) -> str:
    """A folder's path: empty would mean the working directory itself, never what is meant."""
    value = raw.strip()
    if not value or "\x00" in value:
        raise ValueError
    return value


folder.expected = "a folder path, not empty"  # type: ignore[attr-defined]


def whole(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if not low <= value <= high:
            raise ValueError
        return value

    parse.expected = f"a whole number from {low} to {high}"  # type: ignore[attr-defined]
    return parse


def number(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw.strip())
        if not low <= value <= high:
            raise ValueError
        return value

    parse.expected = f"a number from {low:g} to {high:g}"  # type: ignore[attr-defined]
    return parse


def boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError


boolean.expected = "true or false"  # type: ignore[attr-defined]


def one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError
        return value

    parse.expected = "one of " + ", ".join(choices)  # type: ignore[attr-defined]
    return parse


def bind_address(raw: str) -> str:
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError
    return raw.strip()


bind_address.expected = "HOST:PORT, e.g. 127.0.0.1:8000"  # type: ignore[attr-defined]


def database_url(raw: str) -> str:
    value = raw.strip()
    scheme = urlsplit(value).scheme
    if scheme not in {"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg", "memory"}:
        raise ValueError
    return value


database_url.expected = (  # type: ignore[attr-defined]
    "a sqlite:///, postgresql+psycopg:// or memory:// URL"
)


def redis_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError
    return value


redis_url.expected = "a redis://, rediss:// or unix:// URL, or empty"  # type: ignore[attr-defined]


def redis_prefix(raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > 64 or any(ch.isspace() for ch in value):
        raise ValueError
    return value


redis_prefix.expected = "1 to 64 characters without spaces"  # type: ignore[attr-defined]


# S3's rule for bucket names: 3 to 63 lower-case letters, digits, dots and hyphens, beginning
# and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def blob_url(raw: str) -> str | None:
    """Where attachment files are kept when not in the folder: ``s3://bucket[/prefix]``."""
    value = raw.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if (
        parts.scheme != "s3"
        or not _BUCKET.fullmatch(parts.netloc)
        or ".." in parts.netloc
        or parts.query
        or parts.fragment
        or any(ch.isspace() or ch == "\x00" for ch in value)
    ):
        raise ValueError
    return value


blob_url.expected = (  # type: ignore[attr-defined]
    "s3://bucket or s3://bucket/prefix, or empty (the folder HELPDESK_BLOB_DIR)"
)


def endpoint_url(raw: str) -> str | None:
    """An http(s) server address without credentials (those never go into a URL that
    ``config show`` prints)."""
    value = raw.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise ValueError
    parts.port  # noqa: B018 - raises ValueError on a bad port
    return value


endpoint_url.expected = (  # type: ignore[attr-defined]
    "an http:// or https:// URL such as http://127.0.0.1:9000 (no user or password), or empty"
)


def region(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise ValueError
    return value


region.expected = "a region name such as eu-west-1, or empty"  # type: ignore[attr-defined]


def smtp_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"smtp", "smtps", "smtp+starttls"} or not parts.hostname:
        raise ValueError
    return value


smtp_url.expected = (  # type: ignore[attr-defined]
    "smtp://[user:pass@]host[:port] (or smtps://, smtp+starttls://), or empty"
)


def secret_keys(raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if any(len(k) < 32 for k in keys):
        raise ValueError
    return keys


secret_keys.expected = (  # type: ignore[attr-defined]
    "comma-separated keys of at least 32 characters each, newest first"
)


def comma_separated(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def mime_types(raw: str) -> tuple[str, ...]:
    items = tuple(item.strip().lower() for item in raw.split(",") if item.strip())
    for item in items:
        kind, sep, sub = item.partition("/")
        if not sep or not kind or not sub or " " in item:
            raise ValueError
    return items


mime_types.expected = "comma-separated MIME types such as image/png,text/plain"  # type: ignore[attr-defined]


def allowlist(raw: str) -> tuple[str, ...]:
    items = comma_separated(raw)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            if not item.replace("-", "").replace(".", "").isalnum():
                raise
    return items


allowlist.expected = "comma-separated host names or CIDRs"  # type: ignore[attr-defined]


def networks(raw: str) -> tuple[str, ...]:
    """IP addresses or CIDRs, normalized (``10.0.0.7`` becomes ``10.0.0.7/32``)."""
    return tuple(str(ipaddress.ip_network(item, strict=False)) for item in comma_separated(raw))


networks.expected = "comma-separated IP addresses or CIDRs, e.g. 10.0.0.0/8"  # type: ignore[attr-defined]


def log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError
    return value


log_level.expected = "DEBUG, INFO, WARNING, ERROR or CRITICAL"  # type: ignore[attr-defined]


def cors_origins(raw: str) -> tuple[str, ...]:
    """Exact origins (``scheme://host[:port]``, as browsers send them), or ``*`` alone."""
    items = comma_separated(raw)
    if items == ("*",):
        return items
    origins = []
    for item in items:
        parts = urlsplit(item)
        if (
            parts.scheme.lower() not in {"http", "https"}
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
            or item.endswith(("?", "#"))
        ):
            raise ValueError
        parts.port  # noqa: B018 - raises ValueError on a bad port
        origins.append(f"{parts.scheme.lower()}://{parts.netloc.lower()}")
    return tuple(origins)


cors_origins.expected = (  # type: ignore[attr-defined]
    "comma-separated origins such as https://app.example.com (scheme://host[:port], "
    "no path), * alone for any origin, or empty for none"
)
