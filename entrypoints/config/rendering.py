"""Settings as text: a value as its variable holds it, and with its secrets masked.

``as_text`` is how ``helpdesk config show`` prints an effective value; ``default_text`` is how
``.env.example`` and ``docs/configuration.md`` write a default (a test holds them to it);
``redact`` masks passwords in URLs (and whole secrets) in what is shown and in errors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def as_text(value: Any) -> str:
    """A value as a variable holds it: None is empty, a tuple comma-separated."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword", "passfile", "sslkey", "token"})


def redact(field: str, text: str) -> str:
    """A URL with its passwords masked (userinfo and query string); any other secret: ***."""
    if not field.endswith("_url"):
        return "***"
    parts = urlsplit(text)
    if parts.password:  # edit the text itself: geturl() would rewrite sqlite:/// and unix:///
        text = text.replace(":" + parts.password + "@", ":***@", 1)
    if parts.query:
        query = "&".join(
            f"{key}=***" if key.lower() in _SECRET_QUERY_KEYS else f"{key}{sep}{value}"
            for key, sep, value in (pair.partition("=") for pair in parts.query.split("&"))
        )
        text = text.replace("?" + parts.query, "?" + query, 1)
    return text


def default_text(value: Any) -> str:
    """A default as a variable holds it: ``as_text``, a whole float without ``.0``."""
    if isinstance(value, float):
        return repr(value).removesuffix(".0")
    return as_text(value)
