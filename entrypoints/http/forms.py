"""A message with files: the ``multipart/form-data`` form of the message routes.

Text fields carry what the JSON body would (``body``, and for staff ``visibility``); every file
part is named ``files`` and becomes an ``Upload`` the helpdesk keeps (``TicketFiles``). A field
the route does not know, a field given twice, a file under another name or text that is not
UTF-8 is a 422 naming it, as in a JSON body; a form that does not parse is a 400.
"""

from __future__ import annotations

from collections.abc import Iterable

import falcon

from entrypoints.http.fields import invalid_body
from helpdesk_core.usecases.tickets.commands import Upload

FILES_FIELD = "files"


def is_form(req: falcon.Request) -> bool:
    return (req.content_type or "").split(";")[0].strip().lower() == "multipart/form-data"


def message_form(req: falcon.Request, known: Iterable[str]) -> tuple[dict[str, str], list[Upload]]:
    """The text fields (``known`` ones only) and the files of a multipart message."""
    allowed = set(known)
    fields: dict[str, str] = {}
    uploads: list[Upload] = []
    form = req.get_media()
    for part in form:
        name = part.name or ""
        if part.filename is not None:
            if name != FILES_FIELD:
                raise invalid_body([name], "is not a known field (files go in 'files')")
            content_type = part.content_type or "application/octet-stream"
            uploads.append(Upload(part.filename, content_type, part.stream.read()))
            continue
        if name not in allowed:
            raise invalid_body([name], "is not a known field")
        if name in fields:
            raise invalid_body([name], "is given more than once")
        try:
            fields[name] = part.stream.read().decode("utf-8")
        except UnicodeDecodeError:
            raise invalid_body([name], "must be UTF-8 text") from None
    if "body" not in fields:
        raise invalid_body(["body"], "is required")
    return fields, uploads
