"""Received mail POSTed whole by a provider: ``POST /api/v1/inbound/email?mailbox=<id>``.

The body is the message itself (``message/rfc822``, up to ``HELPDESK_MAIL_MAX_BYTES``), signed
with the mailbox's inbound secret as the helpdesk signs its webhooks (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``: Standard Webhooks). No access token: the
signature is the credential, and every way it can fail (no such mailbox, no secret, a bad or
stale signature, a mailbox id that is no id) is the same 401, so nothing tells a stranger which
mailboxes exist. A stored message answers 202 with its row (``duplicate``: it had arrived
before and nothing new was recorded); the worker processes it later.
"""

from __future__ import annotations

import uuid

import falcon

from helpdesk_core.documents import inbound_email_document
from helpdesk_core.domain.errors import AuthenticationFailed
from helpdesk_core.usecases.mail.intake import MailIntake

_REFUSED = "the request is not signed by the mailbox's secret"


class InboundEmail:
    public = frozenset({"on_post"})

    def __init__(self, intake: MailIntake) -> None:
        self._intake = intake

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            mailbox_id = uuid.UUID(req.get_param("mailbox") or "")
        except ValueError:
            raise AuthenticationFailed(_REFUSED, "unknown_mailbox") from None
        headers = [req.get_header(name) for name in _SIGNED_BY]
        if any(value is None for value in headers):
            raise AuthenticationFailed(_REFUSED, "unsigned")
        message_id, timestamp, signatures = (str(value) for value in headers)
        raw = req.bounded_stream.read()
        received = self._intake.receive_signed(mailbox_id, raw, message_id, timestamp, signatures)
        resp.status = falcon.HTTP_202
        resp.media = {
            "email": inbound_email_document(received.email),
            "duplicate": received.duplicate,
        }


_SIGNED_BY = ("webhook-id", "webhook-timestamp", "webhook-signature")


def add_inbound_routes(app: falcon.App, prefix: str, intake: MailIntake) -> None:
    app.add_route(f"{prefix}/inbound/email", InboundEmail(intake))
