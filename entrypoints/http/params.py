"""Query-string values, parsed strictly: a bad one is a 422 naming the parameter."""

from __future__ import annotations

import enum
import uuid
from typing import TypeVar

import falcon

from entrypoints.http.fields import invalid_input

E = TypeVar("E", bound=enum.Enum)


def bool_param(req: falcon.Request, name: str) -> bool | None:
    raw = req.get_param(name)
    if raw is None:
        return None
    if raw.lower() in {"true", "1"}:
        return True
    if raw.lower() in {"false", "0"}:
        return False
    raise invalid_input(name, "must be true or false")


def uuid_param(req: falcon.Request, name: str) -> uuid.UUID | None:
    raw = req.get_param(name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise invalid_input(name, "must be an id (a UUID string)") from None


def enum_param(req: falcon.Request, name: str, cls: type[E]) -> E | None:
    raw = req.get_param(name)
    if raw is None:
        return None
    try:
        return cls(raw)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in cls)
        raise invalid_input(name, f"must be one of {allowed}") from None


def path_uuid(value: str, name: str = "id") -> uuid.UUID:
    """A UUID from the path; anything else names no resource (404, as falcon would)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise falcon.HTTPNotFound(description=f"No resource: {name} must be a UUID.") from None
