"""A stored attachment's bytes: ``GET /api/v1/attachments/{attachment_id}/content``.

Authorized like reading its ticket (``TicketFiles.content``): out of the caller's scope, an
internal note's file for a customer, or a file the helpdesk does not keep are all a 404. The
answer is always a download, never a page: ``Content-Disposition: attachment`` with the file's
name (RFC 6266: an ASCII fallback and the UTF-8 name), the type it was stored with, and
``X-Content-Type-Options: nosniff`` (every answer carries it), so a browser never renders an
HTML or SVG file from the helpdesk's origin.
"""

from __future__ import annotations

from urllib.parse import quote

import falcon

from entrypoints.http.auth import principal
from entrypoints.http.params import path_uuid
from helpdesk_core.usecases.tickets.files import TicketFiles


def content_disposition(filename: str) -> str:
    """``attachment`` with ``filename`` as RFC 6266 wants it: a plain ASCII fallback (its
    other characters and quotes as ``_``) and the exact name percent-encoded in UTF-8."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class AttachmentContent:
    def __init__(self, files: TicketFiles) -> None:
        self._files = files

    def on_get(self, req: falcon.Request, resp: falcon.Response, attachment_id: str) -> None:
        found = self._files.content(principal(req), path_uuid(attachment_id))
        attachment = found.attachment
        resp.content_type = attachment.mime_type or "application/octet-stream"
        resp.set_header("Content-Disposition", content_disposition(attachment.filename))
        resp.data = found.data


def add_attachment_routes(app: falcon.App, prefix: str, files: TicketFiles) -> None:
    app.add_route(f"{prefix}/attachments/{{attachment_id}}/content", AttachmentContent(files))
