"""What the ticket use cases are asked to do (commands), their knobs (``TicketPolicy``) and
the rules of the text and attachments they carry."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence

import attrs

from helpdesk_core.domain.errors import FieldError, ValidationFailed
from helpdesk_core.domain.values import (
    MessageVisibility,
    TicketPriority,
    TicketStatus,
    clean_body,
    clean_filename,
    clean_text,
    is_web_url,
)

SUBJECT_MAX = 200
BODY_MAX = 20_000
FILENAME_MAX = 255
TICKET_NUMBER_MAX = 2**63 - 1  # numbers are 64-bit in every store: none lies beyond
_CHECKSUM = re.compile(r"^(?:[a-z0-9-]{2,16}:)?[A-Za-z0-9+/=_-]{8,128}$")


@attrs.frozen
class TicketPolicy:
    """The knobs of the ticket capability, from configuration."""

    attachment_max_bytes: int = 25 * 1024 * 1024
    attachment_mime_types: tuple[str, ...] = (
        "image/png",
        "image/jpeg",
        "application/pdf",
        "text/plain",
    )
    max_attachments: int = 10
    agents_create_tags: bool = True  # else only leads and administrators make new tags


@attrs.frozen
class AttachmentInput:
    """An attachment as a client describes it; validated into an AttachmentReference."""

    url: str
    filename: str
    mime_type: str
    size_bytes: int
    checksum: str | None = None


@attrs.frozen
class OpenTicket:
    subject: str
    description: str
    priority: TicketPriority = TicketPriority.NORMAL
    department_id: uuid.UUID | None = None
    attachments: tuple[AttachmentInput, ...] = ()


@attrs.frozen
class ChangeTags:
    """Tags to put on a ticket and to take off it, by name (a name both added and removed is
    removed)."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@attrs.frozen
class Upload:
    """A file sent with a message (``multipart/form-data``): the helpdesk keeps it."""

    filename: str
    content_type: str
    data: bytes = attrs.field(repr=False)


@attrs.frozen
class PostMessage:
    body: str
    visibility: MessageVisibility = MessageVisibility.PUBLIC
    attachments: tuple[AttachmentInput, ...] = ()
    uploads: tuple[Upload, ...] = ()


@attrs.frozen
class ChangeTicket:
    """A staff change; ``department_id``/``team_id`` apply only when their flag is set."""

    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    change_department: bool = False
    change_team: bool = False


@attrs.frozen
class Assign:
    """How to assign: ``self``, ``agent`` (agent_id), ``team`` (team_id) or ``auto``."""

    mode: str
    agent_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


def validate_attachments(
    inputs: Sequence[AttachmentInput], policy: TicketPolicy, field: str = "attachments"
) -> list[AttachmentInput]:
    """Clean attachments, or ValidationFailed naming each refused one and why."""
    if len(inputs) > policy.max_attachments:
        raise ValidationFailed.field(field, f"at most {policy.max_attachments} attachments")
    errors: list[FieldError] = []
    cleaned: list[AttachmentInput] = []
    allowed = {m.lower() for m in policy.attachment_mime_types}
    for i, item in enumerate(inputs):
        where = f"{field}.{i}"
        before = len(errors)
        url = item.url.strip()
        if not is_web_url(url):
            errors.append(FieldError(f"{where}.url", "must be an http(s) URL"))
        filename = ""
        try:  # the text rules of a file name: values.clean_filename
            filename = clean_filename(item.filename, f"{where}.filename", max_length=FILENAME_MAX)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        mime = item.mime_type.split(";")[0].strip().lower()
        if mime not in allowed:
            errors.append(FieldError(f"{where}.mime_type", f"{mime or 'this type'} is not allowed"))
        if item.size_bytes < 0:
            errors.append(FieldError(f"{where}.size_bytes", "must not be negative"))
        elif item.size_bytes > policy.attachment_max_bytes:
            errors.append(
                FieldError(
                    f"{where}.size_bytes", f"must be at most {policy.attachment_max_bytes} bytes"
                )
            )
        if item.checksum is not None and not _CHECKSUM.match(item.checksum):
            errors.append(FieldError(f"{where}.checksum", "must look like sha256:<hex>"))
        if len(errors) == before:
            cleaned.append(attrs.evolve(item, url=url, filename=filename, mime_type=mime))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), tuple(errors))
    return cleaned


def fingerprint(command: OpenTicket) -> str:
    """What an Idempotency-Key's first request was, to tell a replay from another request."""
    payload = json.dumps(attrs.asdict(command), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def subject_text(value: str, field: str = "subject") -> str:
    """One line of text (a subject): no line breaks, controls or invisible formatting."""
    return clean_text(value, field, max_length=SUBJECT_MAX)


def body_text(value: str, field: str) -> str:
    """Prose (a description, a message's body): line breaks allowed, other controls not."""
    return clean_body(value, field, max_length=BODY_MAX)
