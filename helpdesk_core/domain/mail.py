"""The email channel's values and rules: mailboxes, a parsed inbound message, and what the
helpdesk decides from it before any store is asked (automatic mail, bounces, reply addresses,
the subject tag).

Parsing bytes into an :class:`InboundMail` is an adapter's work (``adapters/mail/parsing.py``,
the ``MailParser`` port); everything here is pure and sees only the parsed values.
"""

from __future__ import annotations

import enum
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from helpdesk_core.domain.errors import FieldError, ValidationFailed
from helpdesk_core.domain.values import clean_text, normalize_email, storable

MAILBOX_NAME_MAX = 100
REOPEN_DAYS_MAX = 3650
REOPEN_DAYS_DEFAULT = 14


class UnknownSenders(enum.StrEnum):
    """What a mailbox does with mail from an address no account has: make a customer
    account for it, or hold the mail for an administrator to review."""

    CREATE = "create"
    HOLD = "hold"


def _aware(_instance: Any, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{attribute.name} must be timezone-aware")


@attrs.frozen
class Mailbox:
    """An address the helpdesk receives mail at: new mail becomes a ticket of
    ``department_id`` (None: unrouted), unknown senders are ``unknown_senders``, and a
    resolved ticket may be reopened by mail for ``reopen_days`` after it was last changed
    (later mail opens a new ticket that names it)."""

    id: uuid.UUID
    name: str
    address: str
    department_id: uuid.UUID | None
    unknown_senders: UnknownSenders
    reopen_days: int
    created_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    is_active: bool = True
    version: int = 1
    inbound_secret: str | None = attrs.field(default=None, repr=False)  # sealed

    @classmethod
    def create(
        cls,
        id: uuid.UUID,
        now: datetime,
        *,
        name: str,
        address: str,
        department_id: uuid.UUID | None = None,
        unknown_senders: str = UnknownSenders.CREATE.value,
        reopen_days: int = REOPEN_DAYS_DEFAULT,
    ) -> Mailbox:
        """A new active mailbox; ValidationFailed names every offending field."""
        parts = _checked_mailbox(
            name=name, address=address, unknown_senders=unknown_senders, reopen_days=reopen_days
        )
        return cls(id=id, department_id=department_id, created_at=now, updated_at=now, **parts)

    def revised(self, now: datetime, **parts: Any) -> Mailbox:
        """This mailbox with the parts given (None keeps one; ``department_id`` is replaced
        when the key is present, so None unroutes), one version on."""
        department = parts.pop("department_id", self.department_id)
        active = parts.pop("active", None)
        given = {name: value for name, value in parts.items() if value is not None}
        return attrs.evolve(
            self,
            **_checked_mailbox(**given),
            department_id=department,
            is_active=self.is_active if active is None else bool(active),
            updated_at=now,
            version=self.version + 1,
        )


def _checked_mailbox(**parts: Any) -> dict[str, Any]:
    errors: list[FieldError] = []
    checked: dict[str, Any] = {}
    for name, value in parts.items():
        try:
            if name == "name":
                checked[name] = clean_text(value, "name", max_length=MAILBOX_NAME_MAX)
            elif name == "address":
                checked[name] = normalize_email(value, "address")
            elif name == "unknown_senders":
                checked[name] = _unknown_senders(value)
            elif name == "reopen_days":
                checked[name] = _reopen_days(value)
            else:
                raise ValueError(f"unknown mailbox part {name!r}")
        except ValidationFailed as failure:
            errors.extend(failure.errors or (FieldError(name, failure.detail),))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), tuple(errors))
    return checked


def _unknown_senders(value: Any) -> UnknownSenders:
    try:
        return UnknownSenders(value)
    except ValueError:
        raise ValidationFailed.field("unknown_senders", "must be 'create' or 'hold'") from None


def _reopen_days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= REOPEN_DAYS_MAX:
        raise ValidationFailed.field(
            "reopen_days", f"must be a whole number from 0 to {REOPEN_DAYS_MAX}"
        )
    return value


# ---------------------------------------------------------------- a parsed message


@attrs.frozen
class MailAddress:
    """One address of a header, normalized (lower-case domain, as ``normalize_email``), with
    the display name it came with (may be empty)."""

    address: str
    name: str = ""


@attrs.frozen
class MailAttachment:
    """A file a message carries: its (RFC 2231-decoded, path-free) name, its type, its bytes;
    ``inline`` with its ``content_id`` when the HTML shows it (an image in the body)."""

    filename: str
    content_type: str
    data: bytes = attrs.field(repr=False)
    inline: bool = False
    content_id: str | None = None


@attrs.frozen
class DeliveryReport:
    """What a delivery status notification (RFC 3464) says: the recipients it is about, the
    action (``failed``, ``delayed``, ...), the status code (``5.1.1``) and the remote
    server's words."""

    recipients: tuple[str, ...]
    action: str
    status: str
    diagnostic: str = ""
    original_message_id: str | None = None  # of the message that bounced, when it came along

    @property
    def permanent(self) -> bool:
        """A permanent failure (a 5.x.x status, or action ``failed``)."""
        return self.action == "failed" or self.status.startswith("5")


@attrs.frozen
class InboundMail:
    """A received message as the parser found it.

    ``message_id``, ``in_reply_to`` and ``references`` are bare ids (no angle brackets);
    ``return_path`` is None when the header is absent and ``""`` for the null sender
    (``<>``). ``text`` is the whole text (from the HTML when there is no text part),
    ``new_text`` what the sender wrote this time, without quoted history and signature;
    ``html`` is the sanitized HTML (None when the message has none). ``headers`` holds the
    values of the headers in :data:`AUTOMATIC_HEADERS` and :data:`LOOP_HEADER` that the
    message has, under lower-case names. ``recipients`` are the envelope addresses the
    message was delivered to when a header tells them (Delivered-To, X-Original-To), which
    may name a reply address that To and Cc do not.
    """

    message_id: str | None
    sender: MailAddress | None
    subject: str
    text: str = attrs.field(repr=False)
    new_text: str = attrs.field(repr=False)
    html: str | None = attrs.field(default=None, repr=False)
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    to: tuple[MailAddress, ...] = ()
    cc: tuple[MailAddress, ...] = ()
    reply_to: tuple[MailAddress, ...] = ()
    recipients: tuple[str, ...] = ()
    return_path: str | None = None
    date: datetime | None = attrs.field(default=None, validator=_aware)
    headers: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    attachments: tuple[MailAttachment, ...] = ()
    report: DeliveryReport | None = None

    def addressed_to(self) -> tuple[str, ...]:
        """Every address the message went to: envelope recipients, To, Cc, in that order,
        each once."""
        seen: dict[str, None] = {}
        for address in (*self.recipients, *(a.address for a in (*self.to, *self.cc))):
            seen.setdefault(address, None)
        return tuple(seen)

    def thread_ids(self) -> tuple[str, ...]:
        """The ids this message answers, in the order to try them: In-Reply-To, then
        References from the newest (last) to the oldest; for a delivery report, first the
        message that bounced."""
        seen: dict[str, None] = {}
        bounced = self.report.original_message_id if self.report else None
        for mid in (
            *((bounced,) if bounced else ()),
            *self.in_reply_to,
            *reversed(self.references),
        ):
            seen.setdefault(mid, None)
        return tuple(seen)


def content_hash(raw: bytes) -> str:
    """The SHA-256 of a message's bytes, hex: its identity when it has no Message-ID."""
    return hashlib.sha256(raw).hexdigest()


MESSAGE_ID_MAX = 900


def usable_message_id(message_id: str | None) -> str | None:
    """``message_id`` if it can be stored and matched as it is: not empty, at most
    :data:`MESSAGE_ID_MAX` characters, one line of storable text (a hostile header may
    hold anything); else None, and the message is known by its bytes."""
    if not message_id or len(message_id) > MESSAGE_ID_MAX or not storable(message_id):
        return None
    if any(ch.isspace() for ch in message_id):
        return None
    return message_id


def dedupe_key(message_id: str | None, raw: bytes) -> str:
    """The key that makes the same message arriving twice one message: its Message-ID when
    it has a usable one, else the hash of its bytes."""
    usable = usable_message_id(message_id)
    return f"mid:{usable}" if usable else f"sha256:{content_hash(raw)}"


# ---------------------------------------------------------------- automatic mail

AUTOMATIC_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "x-loop",
)
LOOP_HEADER_NAME = "X-Helpdesk-Loop"
"""Every mail the helpdesk sends carries this header (its mailbox's address, or
``notification``): a message that comes back with it is the helpdesk's own."""
LOOP_HEADER = LOOP_HEADER_NAME.lower()  # as InboundMail.headers names it

_NO_REPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|postmaster|bounces?)(?:[-+.].*)?$",
    re.IGNORECASE,
)


def automatic_reason(mail: InboundMail) -> str | None:
    """Why ``mail`` was written by a program rather than a person (None: a person wrote it).

    Automatic mail is stored on its ticket and flagged, but changes no status and no clock,
    and nothing answers it: an out-of-office reply to our reply must not reopen, re-time or
    answer back (that is how mail loops start)."""
    headers = mail.headers
    submitted = headers.get("auto-submitted", "").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress", "list-id"):
        if name in headers:
            return f"{_header_name(name)} present"
    if mail.return_path == "":
        return "empty Return-Path"
    if mail.sender is not None and _NO_REPLY.match(mail.sender.address.partition("@")[0]):
        return f"no-reply sender {mail.sender.address}"
    return None


def _header_name(name: str) -> str:
    return "-".join(
        part.upper() if part in {"id", "x"} else part.title() for part in name.split("-")
    )


# ---------------------------------------------------------------- reply addresses

REPLY_TOKEN_PURPOSE = "mail-reply"  # noqa: S105 - a salt label, no secret
_TOKEN_SIGNATURE_LENGTH = 12
_REPLY_TOKEN = re.compile(r"^t(?P<number>[1-9][0-9]{0,17})-(?P<signature>[a-z0-9]{12})$")


def token_signature(derived: str) -> str:
    """The short, case-free form of a derived secret (``TokenSigner.derive``) a reply token
    carries: mail systems may change the case of an address's local part."""
    digest = hashlib.sha256(derived.encode()).hexdigest()
    return digest[:_TOKEN_SIGNATURE_LENGTH]


def reply_token(number: int, signature: str) -> str:
    """``t<number>-<signature>``: what follows the ``+`` of a ticket's reply address."""
    return f"t{number}-{signature}"


def reply_address(mailbox_address: str, token: str) -> str:
    """``support+<token>@example.com`` for the mailbox ``support@example.com``."""
    local, _, domain = mailbox_address.partition("@")
    return f"{local}+{token}@{domain}"


@attrs.frozen
class ReplyToken:
    """A token found in an address: the ticket number it names and its signature, still to
    be checked against the ticket's (:func:`token_signature` of each key's derivation)."""

    number: int
    signature: str


def reply_tokens_in(addresses: Iterable[str], mailbox_address: str) -> tuple[ReplyToken, ...]:
    """The well-formed tokens in the ``+`` part of ``addresses`` of the mailbox's own
    local part and domain, in the order given."""
    local, _, domain = mailbox_address.lower().partition("@")
    found = []
    for address in addresses:
        their_local, _, their_domain = address.lower().partition("@")
        base, plus, tag = their_local.partition("+")
        if not plus or base != local or their_domain != domain:
            continue
        match = _REPLY_TOKEN.match(tag)
        if match:
            found.append(ReplyToken(int(match["number"]), match["signature"]))
    return tuple(found)


# ---------------------------------------------------------------- the subject tag

_SUBJECT_TAG = re.compile(r"\[#(?P<number>[1-9][0-9]{0,17})\]")
_REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|fw|fwd|aw|wg|sv|vs|antw|r|rif|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)


def subject_tag(number: int) -> str:
    return f"[#{number}]"


def tagged_subject(subject: str, number: int) -> str:
    """``subject`` with the ticket's tag in front, once."""
    tag = subject_tag(number)
    return subject if tag in subject else f"{tag} {subject}"


def tagged_number(subject: str) -> int | None:
    """The ticket number of the first ``[#1234]`` in ``subject``, or None."""
    match = _SUBJECT_TAG.search(subject)
    return int(match["number"]) if match else None


def ticket_subject(subject: str) -> str:
    """A mail's subject as a new ticket's: without reply prefixes and ticket tags, or
    ``(no subject)``."""
    bare = _SUBJECT_TAG.sub("", _REPLY_PREFIX.sub("", subject)).strip()
    return " ".join(bare.split()) or "(no subject)"


# ---------------------------------------------------------------- what is stored


class InboundStatus(enum.StrEnum):
    """Where a received message stands: stored and waiting for the worker, processed onto a
    ticket, ignored (the helpdesk's own mail, a flood), held for review (an unknown sender
    of a mailbox that holds them), or failed (the processing raised; kept for a person)."""

    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"
    HELD = "held"
    FAILED = "failed"


class InboundVia(enum.StrEnum):
    """How a message reached the helpdesk."""

    PIPE = "pipe"  # helpdesk mail ingest, from an MTA
    IMAP = "imap"  # the worker's poller
    HTTP = "http"  # POST /api/v1/inbound/email
    LIBRARY = "library"  # a program embedding the helpdesk


class Outcome(enum.StrEnum):
    """What processing made of a message."""

    TICKET_CREATED = "ticket_created"
    REPLY_ADDED = "reply_added"
    REOPENED = "reopened"
    AUTOMATIC = "automatic"  # stored on its ticket, flagged, nothing else
    BOUNCE = "bounce"
    LOOP = "loop"  # the helpdesk's own mail came back
    FLOOD = "flood"
    UNKNOWN_SENDER = "unknown_sender"
    NO_SENDER = "no_sender"
    UNREADABLE = "unreadable"


@attrs.frozen
class InboundEmail:
    """A received message as stored the moment it arrived: its bytes are in the blob store
    under ``raw_key``; ``dedupe_key`` (:func:`dedupe_key`) is unique, so the same message
    arriving twice, by any way, is stored and processed once. The processing fields are
    filled when the worker is done with it."""

    id: uuid.UUID
    mailbox_id: uuid.UUID
    dedupe_key: str
    message_id: str | None
    raw_key: str
    size: int
    via: InboundVia
    received_at: datetime = attrs.field(validator=_aware)
    status: InboundStatus = InboundStatus.PENDING
    outcome: Outcome | None = None
    sender: str | None = None
    subject: str = ""
    ticket_id: uuid.UUID | None = None
    ticket_message_id: uuid.UUID | None = None
    detail: str = ""
    processed_at: datetime | None = attrs.field(default=None, validator=_aware)

    def done(
        self,
        status: InboundStatus,
        outcome: Outcome,
        now: datetime,
        *,
        detail: str = "",
        ticket_id: uuid.UUID | None = None,
        ticket_message_id: uuid.UUID | None = None,
    ) -> InboundEmail:
        return attrs.evolve(
            self,
            status=status,
            outcome=outcome,
            processed_at=now,
            detail=detail[:500],
            ticket_id=ticket_id,
            ticket_message_id=ticket_message_id,
        )


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


@attrs.frozen
class Participant:
    """Someone besides the requester on a ticket's mail thread (a Cc, a colleague who
    answered): they receive its public replies by mail and may answer by mail. Never the
    requester, whoever writes."""

    ticket_id: uuid.UUID
    address: str
    added_at: datetime = attrs.field(validator=_aware)
    user_id: uuid.UUID | None = None


@attrs.frozen
class Bounce:
    """An address mail to which came back undeliverable: when, why, and how often."""

    address: str
    status: str
    diagnostic: str
    bounced_at: datetime = attrs.field(validator=_aware)
    count: int = 1
