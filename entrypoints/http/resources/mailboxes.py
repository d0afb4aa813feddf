"""Mailboxes and the mail received at them: /api/v1/admin/mailboxes and
/api/v1/admin/received-mail (administrators).

Mailboxes are created, listed (filtered by ``active``, by name a page at a time), read and
changed (PATCH with If-Match, ``active: false`` deactivating as for calendars,
``department_id: null`` leaving new mail unrouted). Each answer carrying a mailbox renders it
through ``mailbox_document`` with its version as the ETag, the shape ``helpdesk mailboxes ...
--json`` prints too. A change without If-Match is a 428; one of another version a 412, and so
is an If-Match that names no version at all. The body is checked first, whatever the
If-Match, so a body that could never apply is always a 422.

``.../{id}/imap`` is where the worker fetches the mailbox's mail (GET, PUT, DELETE): the
settings whole, as ``mailbox_imap_document`` renders them (the shape ``helpdesk mailboxes imap
--json`` prints), never the password, which a PUT may leave out to keep the stored one. A PUT
only stores the settings (sealed password and all); it never connects to the server, which the
worker's next poll does. GET and DELETE of a mailbox without settings are a 404.

``GET .../received-mail`` lists the latest received messages, newest first, of one mailbox or
all, in one status or any (``status=held`` is what an administrator reviews): at most
``limit`` (1 to 200), no cursor, as ``{"items": [...]}`` of ``inbound_email_document``, the
shape ``helpdesk mail received --json`` prints.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import NOT_NULL, structure
from entrypoints.http.fields import invalid_input
from entrypoints.http.pagination import Part, is_id, is_text, page_request, paginate
from entrypoints.http.params import bool_param, enum_param, path_uuid, uuid_param
from entrypoints.http.resources.calendars import if_match
from helpdesk_core.documents import (
    inbound_email_document,
    mailbox_document,
    mailbox_imap_document,
)
from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.mail import REOPEN_DAYS_DEFAULT, InboundStatus, Mailbox, UnknownSenders
from helpdesk_core.domain.mail_fetch import FOLDER_DEFAULT, ImapSecurity
from helpdesk_core.domain.values import name_key
from helpdesk_core.usecases.mail.imap_settings import MailboxImapService, SetMailboxImap
from helpdesk_core.usecases.mail.mailboxes import (
    RECEIVED_LIMIT_MAX,
    CreateMailbox,
    MailboxService,
    UpdateMailbox,
)

BY_NAME: tuple[Part, ...] = (is_text, is_id)  # the list's cursor: (name key, id)
RECEIVED_LIMIT_DEFAULT = 50


@attrs.frozen
class MailboxBody:
    """A new mailbox; what is left out takes the core's default (``department_id`` null or
    left out: new mail is unrouted)."""

    name: str
    address: str
    department_id: uuid.UUID | None = None
    unknown_senders: UnknownSenders = UnknownSenders.CREATE
    reopen_days: int = REOPEN_DAYS_DEFAULT


@attrs.frozen
class MailboxPatch:
    """The parts to replace; null keeps a part, but for ``department_id``, which it clears
    (``unknown_senders`` takes no null: left out, it is kept)."""

    name: str | None = None
    address: str | None = None
    department_id: uuid.UUID | None = None
    unknown_senders: UnknownSenders | None = attrs.field(default=None, metadata=NOT_NULL)
    reopen_days: int | None = None
    active: bool | None = None


@attrs.frozen
class ImapBody:
    """The IMAP settings, whole (PUT): what is left out takes its default (``port`` null or
    left out: 993 for ``tls``, 143 otherwise; ``move_to`` null: mark seen), but for
    ``password``, which is kept when left out (and never null)."""

    host: str
    username: str
    password: str | None = attrs.field(default=None, metadata=NOT_NULL, repr=False)
    port: int | None = None
    security: ImapSecurity = ImapSecurity.TLS
    folder: str = FOLDER_DEFAULT
    move_to: str | None = None


def etag(mailbox: Mailbox) -> str:
    return f'"{mailbox.version}"'


def received_limit(req: falcon.Request) -> int:
    """``limit`` of the received-mail list: a whole number (the use case checks its range)."""
    raw = req.get_param("limit")
    if raw is None:
        return RECEIVED_LIMIT_DEFAULT
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise invalid_input("limit", f"must be a whole number from 1 to {RECEIVED_LIMIT_MAX}")
    return int(raw)


@attrs.define
class MailboxResources:
    """Everything the mailbox resources share."""

    mailboxes: MailboxService
    converter: cattrs.Converter
    page_default: int
    page_max: int
    imap: MailboxImapService

    def body(self, req: falcon.Request, cls: type[Any]) -> Any:
        return structure(self.converter, req.get_media(), cls)

    def answer(self, resp: falcon.Response, mailbox: Mailbox) -> None:
        resp.media = mailbox_document(mailbox)
        resp.etag = etag(mailbox)


class Mailboxes:
    def __init__(self, shared: MailboxResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = page_request(req, self._s.page_default, self._s.page_max, BY_NAME)
        items = self._s.mailboxes.list(principal(req), bool_param(req, "active"))
        resp.media = paginate(
            items, lambda m: (name_key(m.name), str(m.id)), page, mailbox_document
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = principal(req)
        body: MailboxBody = self._s.body(req, MailboxBody)
        command = CreateMailbox(
            name=body.name,
            address=body.address,
            department_id=body.department_id,
            unknown_senders=body.unknown_senders.value,
            reopen_days=body.reopen_days,
        )
        mailbox = self._s.mailboxes.create(actor, command)
        self._s.answer(resp, mailbox)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{mailbox.id}"


class MailboxItem:
    def __init__(self, shared: MailboxResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, mailbox_id: str) -> None:
        self._s.answer(resp, self._s.mailboxes.get(principal(req), path_uuid(mailbox_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, mailbox_id: str) -> None:
        actor = principal(req)
        media = req.get_media()
        patch: MailboxPatch = self._s.body(req, MailboxPatch)
        command = UpdateMailbox(
            name=patch.name,
            address=patch.address,
            department_id=patch.department_id,
            unknown_senders=None if patch.unknown_senders is None else patch.unknown_senders.value,
            reopen_days=patch.reopen_days,
            active=patch.active,
            change_department="department_id" in media,
        )
        updated = self._s.mailboxes.update(actor, path_uuid(mailbox_id), if_match(req), command)
        self._s.answer(resp, updated)


class ReceivedMail:
    """GET: the latest received messages, newest first (``mailbox_id``, ``status``, ``limit``)."""

    def __init__(self, shared: MailboxResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        actor = principal(req)
        found = self._s.mailboxes.received(
            actor,
            mailbox_id=uuid_param(req, "mailbox_id"),
            status=enum_param(req, "status", InboundStatus),
            limit=received_limit(req),
        )
        resp.media = {"items": [inbound_email_document(email) for email in found]}


class InboundSecret:
    """POST: a new secret for mail POSTed to the mailbox, shown in this answer only."""

    def __init__(self, shared: MailboxResources) -> None:
        self._s = shared

    def on_post(self, req: falcon.Request, resp: falcon.Response, mailbox_id: str) -> None:
        rotated = self._s.mailboxes.rotate_inbound_secret(principal(req), path_uuid(mailbox_id))
        resp.media = {"mailbox": mailbox_document(rotated.mailbox), "secret": rotated.secret}


class MailboxImapSettings:
    """GET, PUT and DELETE: where the worker fetches the mailbox's mail (never the password)."""

    def __init__(self, shared: MailboxResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, mailbox_id: str) -> None:
        config = self._s.imap.get(principal(req), path_uuid(mailbox_id))
        resp.media = mailbox_imap_document(config)

    def on_put(self, req: falcon.Request, resp: falcon.Response, mailbox_id: str) -> None:
        actor = principal(req)
        body: ImapBody = self._s.body(req, ImapBody)
        command = SetMailboxImap(
            host=body.host,
            username=body.username,
            password=body.password,
            port=body.port,
            security=body.security.value,
            folder=body.folder,
            move_to=body.move_to,
        )
        config = self._s.imap.set(actor, path_uuid(mailbox_id), command)
        resp.media = mailbox_imap_document(config)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, mailbox_id: str) -> None:
        if not self._s.imap.clear(principal(req), path_uuid(mailbox_id)):
            raise NotFound("the mailbox has no IMAP settings")
        resp.status = falcon.HTTP_204


def add_mailbox_routes(app: falcon.App, prefix: str, shared: MailboxResources) -> None:
    app.add_route(f"{prefix}/admin/mailboxes", Mailboxes(shared))
    app.add_route(f"{prefix}/admin/mailboxes/{{mailbox_id}}", MailboxItem(shared))
    app.add_route(f"{prefix}/admin/mailboxes/{{mailbox_id}}/inbound-secret", InboundSecret(shared))
    app.add_route(f"{prefix}/admin/mailboxes/{{mailbox_id}}/imap", MailboxImapSettings(shared))
    app.add_route(f"{prefix}/admin/received-mail", ReceivedMail(shared))
