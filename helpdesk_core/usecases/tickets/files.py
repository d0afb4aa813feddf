"""Files the helpdesk stores itself: a mail's attachments (and, as they come, uploads), kept in
the blob store under the SHA-256 of their bytes, and handed out only to those who may see
their ticket.

A stored attachment is an ``AttachmentReference`` with a ``blob_key``; its ``url`` is the API
path that downloads it (``/api/v1/attachments/<id>/content``). Downloading is authorized like
reading the ticket: a ticket out of the caller's scope, an attachment of an internal note read
by a customer, or one that names no stored file are all the same NotFound, so nobody learns
what exists beyond what they may see.
"""

from __future__ import annotations

import uuid

import attrs

from helpdesk_core.domain.blobs import AttachmentLimits
from helpdesk_core.domain.entities import AttachmentReference
from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import clean_filename
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.uow import UnitOfWork
from helpdesk_core.usecases.tickets.commands import FILENAME_MAX
from helpdesk_core.usecases.tickets.scope import can_see

DOWNLOAD_PATH = "/api/v1/attachments/{id}/content"


def download_path(attachment_id: uuid.UUID) -> str:
    return DOWNLOAD_PATH.format(id=attachment_id)


@attrs.frozen
class StoredFile:
    """A file already in the blob store, ready to attach to a ticket or a message."""

    filename: str
    mime_type: str
    size_bytes: int
    blob_key: str


@attrs.frozen
class AttachmentContent:
    """A stored attachment and its bytes."""

    attachment: AttachmentReference
    data: bytes = attrs.field(repr=False)


@attrs.define
class TicketFiles:
    _uow: UnitOfWork
    _blobs: BlobStore
    _limits: AttachmentLimits

    def check(
        self, filename: str, content_type: str, size: int, field: str = "file"
    ) -> tuple[str, str]:
        """The file's name and media type as kept; ValidationFailed (naming ``field``) when
        the name, the type or the size is refused (``HELPDESK_ATTACHMENT_MIME_TYPES``,
        ``HELPDESK_ATTACHMENT_MAX_BYTES``)."""
        name = clean_filename(filename, f"{field}.filename", max_length=FILENAME_MAX)
        mime = _media_type(content_type)
        self._limits.check(name, mime, size, field)
        return name, mime

    def store(
        self, filename: str, content_type: str, data: bytes, field: str = "file"
    ) -> StoredFile:
        """Keep ``data`` in the blob store as a file ``filename`` of ``content_type``, once
        :meth:`check` passes. Storing the same bytes twice stores them once."""
        name, mime = self.check(filename, content_type, len(data), field)
        return StoredFile(name, mime, len(data), self._blobs.put(data))

    def content(self, actor: Principal, attachment_id: uuid.UUID) -> AttachmentContent:
        """The stored attachment and its bytes, for a caller who may see its ticket (and,
        for a message's attachment, the message); NotFound otherwise."""
        with self._uow.begin(read_only=True) as tx:
            attachment = tx.attachments.get(attachment_id)
            if attachment is None or attachment.blob_key is None:
                raise NotFound("no such attachment")
            view = tx.tickets.get(attachment.ticket_id)
            if view is None or not can_see(actor, view.ticket):
                raise NotFound("no such attachment")
            if attachment.message_id is not None:
                visible = tx.messages.list(
                    attachment.ticket_id, include_internal=actor.is_staff, with_attachments=False
                )
                if all(m.message.id != attachment.message_id for m in visible):
                    raise NotFound("no such attachment")
        data = self._blobs.get(attachment.blob_key)
        if data is None:
            raise NotFound("no such attachment")
        return AttachmentContent(attachment, data)


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower() or "application/octet-stream"
