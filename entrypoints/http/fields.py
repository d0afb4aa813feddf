"""Where a field error points in the request: the body (by JSON Pointer), the query string,
the path or a header.

The core names an invalid field by its dotted path in the command (``attachments.0.url``);
the HTTP edge knows where that input came from and says so in the problem document:
``{"field": "attachments.0.url", "in": "body", "pointer": "/attachments/0/url", ...}``.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from helpdesk_core.domain.errors import FieldError, ValidationFailed

BODY, QUERY, PATH, HEADER = "body", "query", "path", "header"
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


@attrs.frozen
class RequestFieldError(FieldError):
    """A FieldError that knows its place: ``location`` and, in the body, its pointer tokens."""

    location: str = BODY
    tokens: tuple[str | int, ...] | None = None


def body_error(tokens: Iterable[str | int], message: str) -> RequestFieldError:
    """An error at ``tokens`` of the JSON body; no tokens means the whole body."""
    path = tuple(tokens)
    return RequestFieldError(".".join(map(str, path)), message, BODY, path)


def invalid_input(name: str, message: str, location: str = QUERY) -> ValidationFailed:
    """A 422 about one query parameter, path parameter or header."""
    return ValidationFailed(f"{name}: {message}", (RequestFieldError(name, message, location),))


def invalid_body(tokens: Iterable[str | int], message: str) -> ValidationFailed:
    """A 422 about one place in the JSON body (no tokens: the body as a whole)."""
    error = body_error(tokens, message)
    return ValidationFailed(f"{error.field or 'body'}: {message}", (error,))


def json_pointer(tokens: Iterable[str | int]) -> str:
    """RFC 6901: ``("attachments", 0, "url")`` -> ``/attachments/0/url`` (``""`` = the body)."""
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def error_json(error: FieldError, method: str) -> dict[str, str]:
    """One entry of a problem's ``errors``. An error the core raised (a plain FieldError) is
    about the body on a method that carries one, and about the query string otherwise."""
    if isinstance(error, RequestFieldError):
        location, tokens = error.location, error.tokens
    else:
        location = BODY if method in _METHODS_WITH_BODY else QUERY
        tokens = None
    item = {"field": error.field, "in": location, "message": error.message}
    if location == BODY:
        if tokens is None:
            tokens = tuple(t for t in error.field.split(".") if t)
        item["pointer"] = json_pointer(tokens)
    return item
