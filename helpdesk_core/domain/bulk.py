"""What a bulk action answers: each ticket's outcome (``usecases/tickets/macros.py`` does the
work, ``documents.bulk_result_document`` renders it)."""

from __future__ import annotations

import re
import uuid

import attrs

from helpdesk_core.domain.errors import DomainError, FieldError, ValidationFailed
from helpdesk_core.domain.views import TicketView


@attrs.frozen
class BulkError:
    """Why one ticket of a bulk action was left as it was: the kind of refusal (``code``:
    ``not_found``, ``stale_version``, ``permission_denied``, ``conflict``,
    ``validation_failed``), what it says, and for a validation the fields it names."""

    code: str
    detail: str
    errors: tuple[FieldError, ...] = ()


@attrs.frozen
class BulkItem:
    """One ticket's outcome: ``ticket`` as it stands after the change (or, in a dry run, would
    stand; after a replay, as it stands now), or the ``error`` that left it unchanged."""

    ticket_id: uuid.UUID
    ok: bool
    ticket: TicketView | None = None
    error: BulkError | None = None


@attrs.frozen
class BulkResult:
    """Every ticket's outcome, in the order they were named. ``replayed``: the answer of an
    earlier request with the same Idempotency-Key."""

    items: tuple[BulkItem, ...]
    dry_run: bool = False
    replayed: bool = False


def error_of(exc: DomainError) -> BulkError:
    """``exc`` as an outcome: its class as a code (``StaleVersion``: ``stale_version``)."""
    code = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()
    errors = exc.errors if isinstance(exc, ValidationFailed) else ()
    return BulkError(code, exc.detail, tuple(errors))
