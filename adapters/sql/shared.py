"""Helpers every SQL repository module uses: refusals as Conflict, existence checks, id chunks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from helpdesk_core.domain.errors import Conflict

# Ids per IN (...) list: far below every driver's limit on bound parameters.
CHUNK = 500


@contextmanager
def refused_as_conflict(
    connection: sa.Connection,
    explain: Callable[[], str],
    constraints: Mapping[str, str] | None = None,
) -> Iterator[None]:
    """Run the block in a savepoint; a broken constraint becomes ``Conflict(explain())``.

    On PostgreSQL a savepoint costs two round trips. Where ``constraints`` maps the name of
    every constraint the block can break to its explanation, none is taken: the refusal is
    explained from the name PostgreSQL reports, and PostgreSQL keeps the transaction from
    doing anything but end (it is aborted), so nothing half-done can be committed.
    """
    if constraints is not None and connection.dialect.name == "postgresql":
        try:
            yield
        except sa.exc.IntegrityError as exc:
            name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
            raise Conflict(constraints.get(name) or explain_unknown(name)) from exc
        return
    try:
        with connection.begin_nested():
            yield
    except sa.exc.IntegrityError as exc:
        raise Conflict(explain()) from exc


def explain_unknown(constraint: str) -> str:
    return f"the change breaks a rule of the store ({constraint or 'unnamed'})"


def exists(connection: sa.Connection, column: sa.Column[Any], value: object) -> bool:
    """Whether any row has ``value`` in ``column``."""
    query = sa.select(sa.literal(1)).where(column == value).limit(1)
    return connection.execute(query).first() is not None


def chunks(ids: Iterable[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    """The distinct ``ids``, in order, in lists of at most ``CHUNK``."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]
