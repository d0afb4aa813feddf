"""Steps for features/mail, over the real HTTP app: mailboxes through the admin API, what they
received through ``/admin/received-mail``, and tickets through the staff routes.

Mail arrives as a mail server hands it in (intake, the way ``helpdesk mail ingest`` stores it)
and "the helpdesk reads its mail" is a worker's mail pass, run to the end. "A stranger" is an
address no account has; Ann writes as ``Ann <ann@example.com>``. Mails are named, never shown
by Message-ID: "Ann's first mail", ... in the order she wrote them (or by what they are about,
"Ann's mail "Printer offline""), and "the helpdesk's first mail", ... for the mails carrying
staff replies, in the order the worker sent them (steps needing them run the worker first).
An answer is written as a mail program writes it: to the Reply-To, ``Re:`` the subject,
In-Reply-To and References naming the thread, the quoted mail below the new text.
"""

from __future__ import annotations

import re
import uuid
from email.utils import parseaddr
from typing import Any

import attrs
import pytest
from pytest_bdd import given, parsers, then, when

from adapters.mail.mailers import build_email
from helpdesk_core.domain.entities import NO_PASSWORD
from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.mail import InboundVia, Outcome
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.notifications import MailMessage
from tests.bdd.steps_identity import Scene, _names, _problem
from tests.bdd.steps_tickets import Tickets, _as_admin, _look, _ok, _token
from tests.bdd.steps_tickets import _change as _change_ticket
from tests.mail.support import letter
from tests.support.events import drain

STRANGER = "stranger@elsewhere.example.org"
UNKNOWN_SENDERS = {"holding": "hold", "making customers of": "create"}
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_NTH = "(?:" + "|".join(ORDINALS) + ")"
_MAIL = rf"(?P<mail>(?:the helpdesk|\w+)'s {_NTH} mail)"  # "Ann's first mail"
OUT_OF_OFFICE = "I am out of the office until Monday."


@attrs.define
class Post:
    """What the mail stories established: mailboxes by name, the mails people wrote (by name
    and by what they are about) and the helpdesk's mails that carry staff replies."""

    mailboxes: dict[str, str] = attrs.Factory(dict)  # name -> id
    written: dict[str, str] = attrs.Factory(dict)  # "Ann's first mail" -> its Message-ID
    raw: dict[str, bytes] = attrs.Factory(dict)  # "Ann's first mail" -> its bytes
    about: dict[tuple[str, str], str] = attrs.Factory(dict)  # (person, label) -> mail name
    stored: dict[str, uuid.UUID] = attrs.Factory(dict)  # mail name -> its received row
    sent: list[MailMessage] = attrs.Factory(list)  # the helpdesk's first, second, ... mail
    rewritten: dict[str, str] = attrs.Factory(dict)  # our Message-ID -> what a provider made


@pytest.fixture
def post() -> Post:
    return Post()


def _mailbox(scene: Scene, post: Post, name: str) -> dict[str, Any]:
    found: dict[str, Any] = _ok(scene.as_admin("GET", f"/admin/mailboxes/{post.mailboxes[name]}"))
    return found


def _set_up(scene: Scene, post: Post, body: dict[str, Any]) -> None:
    mailbox = _ok(scene.as_admin("POST", "/admin/mailboxes", json=body), 201)
    post.mailboxes[body["name"]] = mailbox["id"]


def _change(scene: Scene, post: Post, name: str, change: dict[str, Any]) -> None:
    """PATCH the mailbox with the ETag it has now."""
    path = f"/admin/mailboxes/{post.mailboxes[name]}"
    current = scene.as_admin("GET", path)
    assert current.status_code == 200, current.text
    token = scene.administrator().sessions["desk"]
    answer = scene.client.simulate_patch(
        f"/api/v1{path}",
        json=change,
        headers={"Authorization": f"Bearer {token}", "If-Match": current.headers["etag"]},
    )
    assert answer.status_code == 200, answer.text


def _mail(address: str, subject: str) -> bytes:
    return letter(sender=f"A Stranger <{STRANGER}>", to=address, subject=subject, body="Hello?")


def _write(scene: Scene, address: str, subject: str) -> None:
    """A stranger's message to ``address``, stored as a mail server hands it in."""
    mailboxes = _ok(scene.as_admin("GET", "/admin/mailboxes"))["items"]
    mailbox = next(m for m in mailboxes if m["address"] == address.lower())
    raw = _mail(address, subject)
    scene.services.mail_intake.receive(uuid.UUID(mailbox["id"]), raw, InboundVia.PIPE)


def _read_mail(scene: Scene, tickets: Tickets) -> None:
    """A worker's mail pass until nothing is pending; each ticket the mail opened is known
    by its subject from then on (the first of a subject keeps it)."""
    worker = scene.services.new_worker("mail-reader")
    while worker.process_mail():
        pass
    received = scene.services.mailboxes.received(SYSTEM_OPERATOR, limit=200)
    for email in reversed(received):  # oldest first
        if email.outcome is Outcome.TICKET_CREATED and email.ticket_id is not None:
            ticket = _ok(scene.as_admin("GET", f"/staff/tickets/{email.ticket_id}"))
            if str(email.ticket_id) not in tickets.ids.values():
                tickets.ids.setdefault(ticket["subject"], str(email.ticket_id))


def _received(scene: Scene, query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _ok(scene.as_admin("GET", f"/admin/received-mail?{query}"))[
        "items"
    ]
    return items


# ------------------------------------------------------------------ setting up


@given(parsers.parse('the mailbox "{name}" at "{address}" for "{department}"'))
def a_routed_mailbox(scene: Scene, post: Post, name: str, address: str, department: str) -> None:
    body = {"name": name, "address": address, "department_id": scene.departments[department]}
    _set_up(scene, post, body)


@given(parsers.re(r'the mailbox "(?P<name>[^"]+)" at "(?P<address>[^"]+)"$'))
def a_mailbox(scene: Scene, post: Post, name: str, address: str) -> None:
    _set_up(scene, post, {"name": name, "address": address})


@when(
    parsers.re(
        r'the administrator sets up the mailbox "(?P<name>[^"]+)" at "(?P<address>[^"]+)" '
        r'for "(?P<department>[^"]+)", (?P<mode>holding|making customers of) mail from '
        r"unknown senders"
    )
)
def sets_up(scene: Scene, post: Post, name: str, address: str, department: str, mode: str) -> None:
    body = {
        "name": name,
        "address": address,
        "department_id": scene.departments[department],
        "unknown_senders": UNKNOWN_SENDERS[mode],
    }
    _set_up(scene, post, body)


@when(parsers.parse('{person} tries to set up the mailbox "{name}" at "{address}"'))
def someone_tries_to_set_up(scene: Scene, person: str, name: str, address: str) -> None:
    body = {"name": name, "address": address}
    scene.call("POST", "/admin/mailboxes", _token(scene, person), json=body)


@when(parsers.parse('the administrator deactivates the mailbox "{name}"'))
def deactivates(scene: Scene, post: Post, name: str) -> None:
    _change(scene, post, name, {"active": False})


@when(parsers.parse('the administrator stops sending the new mail of "{name}" to a department'))
def unroutes(scene: Scene, post: Post, name: str) -> None:
    _change(scene, post, name, {"department_id": None})


# ------------------------------------------------------------------ what a mailbox is


@then(parsers.parse('new mail to "{name}" goes to "{department}"'))
def goes_to(scene: Scene, post: Post, name: str, department: str) -> None:
    assert _mailbox(scene, post, name)["department_id"] == scene.departments[department]


@then(parsers.parse('new mail to "{name}" goes to no department'))
def goes_nowhere(scene: Scene, post: Post, name: str) -> None:
    assert _mailbox(scene, post, name)["department_id"] is None


@then(parsers.parse('a reply to "{name}" reopens a resolved ticket for {days:d} days'))
def reopens_for(scene: Scene, post: Post, name: str, days: int) -> None:
    assert _mailbox(scene, post, name)["reopen_days"] == days


@then("the administrator is told that address is taken")
def address_taken(scene: Scene) -> None:
    body = _problem(scene.last, 409)
    assert "address" in body["detail"], body


@then(parsers.parse('the administrator sees the mailboxes "{names}"'))
def sees_mailboxes(scene: Scene, names: str) -> None:
    items = _ok(scene.as_admin("GET", "/admin/mailboxes"))["items"]
    assert [m["name"] for m in items] == _names(names)


@then("the administrator sees no mailboxes")
def sees_no_mailboxes(scene: Scene) -> None:
    assert _ok(scene.as_admin("GET", "/admin/mailboxes"))["items"] == []


@then("the administrator sees no active mailboxes")
def sees_no_active_mailboxes(scene: Scene) -> None:
    assert _ok(scene.as_admin("GET", "/admin/mailboxes?active=true"))["items"] == []
    assert _ok(scene.as_admin("GET", "/admin/mailboxes?active=false"))["items"] != []


# ------------------------------------------------------------------ mail arriving


@when(parsers.parse('a stranger writes to "{address}" about "{subject}"'))
def stranger_writes(scene: Scene, address: str, subject: str) -> None:
    _write(scene, address, subject)


@given(parsers.parse('a stranger has written to "{address}" about "{subject}"'))
def stranger_has_written(scene: Scene, tickets: Tickets, address: str, subject: str) -> None:
    _write(scene, address, subject)
    _read_mail(scene, tickets)


@when("the helpdesk reads its mail")
def reads_mail(scene: Scene, tickets: Tickets) -> None:
    _read_mail(scene, tickets)


@then(parsers.parse('mail to "{address}" is turned away'))
def turned_away(scene: Scene, address: str) -> None:
    mailboxes = _ok(scene.as_admin("GET", "/admin/mailboxes"))["items"]
    mailbox = next(m for m in mailboxes if m["address"] == address.lower())
    with pytest.raises(NotFound):
        scene.services.mail_intake.receive(
            uuid.UUID(mailbox["id"]), _mail(address, "Anyone there?"), InboundVia.PIPE
        )


@then(parsers.parse('the administrator finds "{subject}" from the stranger held for review'))
def held_for_review(scene: Scene, subject: str) -> None:
    held = [(m["subject"], m["sender"]) for m in _received(scene, "status=held")]
    assert held == [(subject, STRANGER)]


@then(parsers.parse('no ticket "{subject}" was opened'))
def no_ticket(scene: Scene, subject: str) -> None:
    tickets = _ok(scene.as_admin("GET", "/staff/tickets?limit=100"))["items"]
    assert subject not in [t["subject"] for t in tickets]


@then(parsers.parse('what "{name}" received is still listed: "{subjects}"'))
def still_listed(scene: Scene, post: Post, name: str, subjects: str) -> None:
    received = _received(scene, f"mailbox_id={post.mailboxes[name]}")
    assert [m["subject"] for m in received] == _names(subjects)


# ------------------------------------------------------------------ people's mail


def _next(post: Post, name: str) -> tuple[str, str]:
    """The name and a fresh Message-ID of the next mail ``name`` writes."""
    count = sum(1 for mail in post.written if mail.startswith(f"{name}'s "))
    return f"{name}'s {ORDINALS[count]} mail", f"{name.lower()}.{uuid.uuid4().hex[:12]}@example.com"


def _from(scene: Scene, name: str) -> str:
    return f"{name} <{scene.person(name).email}>"


def _hand_in(
    scene: Scene, post: Post, name: str, label: str, mailbox_address: str, **parts: Any
) -> None:
    """The next mail of ``name``, about ``label``, handed in at a mailbox (``letter``'s parts)."""
    mail, message_id = _next(post, name)
    raw = letter(sender=_from(scene, name), message_id=message_id, **parts)
    mailbox = scene.services.mail_intake.mailbox(mailbox_address)
    received = scene.services.mail_intake.receive(mailbox.id, raw, InboundVia.PIPE)
    post.written[mail], post.raw[mail] = message_id, raw
    post.about[(name, label)] = mail
    post.stored[mail] = received.email.id


def _sent(scene: Scene, post: Post) -> list[MailMessage]:
    """Run the worker; the helpdesk's mails carrying staff replies, in the order sent."""
    drain(scene.services)
    for mail in scene.mailbox.sent:
        if (mail.message_id or "").startswith("ticket-") and mail not in post.sent:
            post.sent.append(mail)
    return post.sent


def _ours(scene: Scene, post: Post, mail: str) -> MailMessage:
    """``the helpdesk's second mail``, sent by now."""
    nth = ORDINALS.index(mail.split()[-2])
    sent = _sent(scene, post)
    assert len(sent) > nth, f"the helpdesk sent {len(sent)} replies, not {mail!r}"
    return sent[nth]


def _as_received(post: Post, message_id: str | None) -> str:
    """A Message-ID of ours as its recipient got it (a provider may have rewritten it)."""
    assert message_id is not None
    return post.rewritten.get(message_id, message_id)


def _answer(scene: Scene, post: Post, name: str, mail: str, text: str, **changes: Any) -> None:
    """``name`` answers the helpdesk's ``mail`` as a mail program does; ``changes``: another
    ``subject``, ``headers``, ``to_all`` with whom it is ``adding``."""
    original = _ours(scene, post, mail)
    own = scene.person(name).email
    to = [original.reply_to or parseaddr(original.sender or "")[1]]
    cc: list[str] = []
    if changes.get("to_all"):
        to += [original.to] if original.to != own else []
        cc = [address for address in original.cc if address != own]
        cc += [_from(scene, changes["adding"])]
    ours = _as_received(post, original.message_id)
    thread = [_as_received(post, ref) for ref in original.references] + [ours]
    quoted = original.body.splitlines()[0]
    _hand_in(
        scene,
        post,
        name,
        text,
        parseaddr(original.sender or "")[1],
        to=", ".join(to),
        cc=", ".join(cc) or None,
        subject=changes.get("subject") or f"Re: {original.subject}",
        body=f"{text}\n\nOn Mon, 7 Dec 2026 at 10:00, {original.sender} wrote:\n> {quoted}\n",
        in_reply_to=ours,
        references=" ".join(f"<{ref}>" for ref in thread),
        headers=changes.get("headers"),
    )


def _bounce(original: MailMessage, failed: str) -> bytes:
    """The delivery report a mail server sends back to ``original``'s envelope sender."""
    return (
        f"From: MAILER-DAEMON@mx.example.net\r\nTo: {original.envelope_from}\r\n"
        f"Return-Path: <>\r\nMessage-ID: <{uuid.uuid4().hex}@mx.example.net>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
        'boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n'
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--B\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{original.message_id}>\r\n"
        "--B--\r\n"
    ).encode()


def _hand_in_raw(scene: Scene, post: Post, mail: str, raw: bytes, address: str) -> None:
    intake = scene.services.mail_intake
    post.stored[mail] = intake.receive(intake.mailbox(address).id, raw, InboundVia.PIPE).email.id


_WRITES = (
    r'(?P<name>\w+) (?P<verb>has mailed|mails) "(?P<address>[^"]+)" about "(?P<subject>[^"]+)"'
    r'(?:, copying (?P<copying>\w+))?(?:, tagged with the number of "(?P<other>[^"]+)")?'
)


@given(parsers.re(_WRITES))
@when(parsers.re(_WRITES))
def mails(
    scene: Scene,
    post: Post,
    tickets: Tickets,
    name: str,
    verb: str,
    address: str,
    subject: str,
    copying: str | None,
    other: str | None,
) -> None:
    """A new mail (read by the helpdesk too when it "has mailed"); its subject tagged
    with the number of the ticket ``other`` names, if any."""
    tag = f"[#{_as_admin(scene, tickets, other)['number']}] " if other else ""
    cc = _from(scene, copying) if copying else None
    body = f"Hello,\n\n{subject}.\n\n{name}"
    _hand_in(
        scene, post, name, subject, address, to=address, cc=cc, subject=tag + subject, body=body
    )
    if verb == "has mailed":
        _read_mail(scene, tickets)


@when(parsers.re(r'(?P<name>\w+)\'s mail "(?P<label>[^"]+)" is delivered again'))
def delivered_again(scene: Scene, post: Post, name: str, label: str) -> None:
    """Delivered once more, this time fetched by the IMAP poller (intake does not care)."""
    mail = post.about[(name, label)]
    mailbox_id = uuid.UUID(_row(scene, post.stored[mail])["mailbox_id"])
    scene.services.mail_intake.receive(mailbox_id, post.raw[mail], InboundVia.IMAP)


@given(parsers.re(rf"the mail service that sent {_MAIL} gave it a Message-ID of its own"))
def rewritten(scene: Scene, post: Post, mail: str) -> None:
    """As some providers do to every mail they send (FreeScout#5620)."""
    ours = str(_ours(scene, post, mail).message_id)
    post.rewritten[ours] = f"{uuid.uuid4().hex}@eu.mail-provider.example"


@when(
    parsers.re(
        rf'(?P<name>\w+) answers {_MAIL} with "(?P<text>[^"]+)"'
        r'(?:, under the subject "(?P<subject>[^"]+)")?'
    )
)
def answers(scene: Scene, post: Post, name: str, mail: str, text: str, subject: str | None) -> None:
    _answer(scene, post, name, mail, text, subject=subject)


@when(
    parsers.re(
        rf'(?P<name>\w+) answers {_MAIL} to all with "(?P<text>[^"]+)", adding (?P<adding>\w+)'
    )
)
def answers_all(scene: Scene, post: Post, name: str, mail: str, text: str, adding: str) -> None:
    _answer(scene, post, name, mail, text, to_all=True, adding=adding)


@when(parsers.re(rf"(?P<name>\w+)'s mail program answers {_MAIL} with an out-of-office reply"))
def out_of_office(scene: Scene, post: Post, name: str, mail: str) -> None:
    original = _ours(scene, post, mail)
    headers = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
    subject = f"Automatic reply: {original.subject}"
    _answer(scene, post, name, mail, OUT_OF_OFFICE, subject=subject, headers=headers)


@when(parsers.re(rf"{_MAIL} bounces for (?P<name>\w+)"))
def bounces(scene: Scene, post: Post, mail: str, name: str) -> None:
    original = _ours(scene, post, mail)
    raw = _bounce(original, scene.person(name).email)
    _hand_in_raw(scene, post, f"the bounce of {mail}", raw, parseaddr(original.sender or "")[1])


@when(parsers.re(rf'{_MAIL} comes back to "(?P<address>[^"]+)"'))
def comes_back(scene: Scene, post: Post, mail: str, address: str) -> None:
    """Exactly as the helpdesk put it on the wire (a forwarding rule sent it back)."""
    original = _ours(scene, post, mail)
    raw = build_email(original, scene.services.settings.mail_from).as_bytes()
    _hand_in_raw(scene, post, mail, raw, address)


@given(parsers.parse('{name} has resolved "{subject}"'))
@when(parsers.parse('{name} resolves "{subject}"'))
def resolves(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    _look(scene, tickets, name, subject)
    _ok(_change_ticket(scene, tickets, name, subject, {"status": "resolved"}))


# ------------------------------------------------------------------ what became of it


def _email_of(scene: Scene, person: dict[str, str]) -> str:
    with scene.services.uow.begin(read_only=True) as tx:
        user = tx.users.get(uuid.UUID(person["id"]))
    assert user is not None
    return user.email


def _participants(scene: Scene, tickets: Tickets, subject: str) -> list[str]:
    with scene.services.uow.begin(read_only=True) as tx:
        found = tx.participants.of_ticket(uuid.UUID(tickets.ids[subject]))
        return [p.address for p in found]


def _row(scene: Scene, email_id: uuid.UUID) -> dict[str, Any]:
    rows = _received(scene, "limit=200")
    return next(row for row in rows if row["id"] == str(email_id))


@then(parsers.parse('"{subject}" came in by mail from {name}'))
def came_by_mail(scene: Scene, tickets: Tickets, subject: str, name: str) -> None:
    ticket = _as_admin(scene, tickets, subject)
    assert ticket["source"] == "email", ticket
    assert _email_of(scene, ticket["requester"]) == scene.person(name).email


@then(parsers.parse("{name} has a customer account, without a password yet"))
def account_without_password(scene: Scene, name: str) -> None:
    with scene.services.uow.begin(read_only=True) as tx:
        user = tx.users.get_by_email(scene.person(name).email)
        staff = tx.staff.get(user.id) if user is not None else None
    assert user is not None
    assert (user.display_name, user.password_hash, staff) == (name, NO_PASSWORD, None)


@then(parsers.parse('the conversation on "{subject}" reads:'))
def conversation_reads(
    scene: Scene, tickets: Tickets, subject: str, datatable: list[list[str]]
) -> None:
    """Every message, internal ones too, as (author, its first line, its kind)."""

    def kind(message: dict[str, Any]) -> str:
        internal = message["visibility"] == "internal"
        prefix = "automatic " if message["automatic"] else "internal " if internal else ""
        return prefix + ("note" if internal else "reply")

    messages = _as_admin(scene, tickets, subject)["messages"]
    told = [(m["author"]["display_name"], m["body"].splitlines()[0], kind(m)) for m in messages]
    assert told == [tuple(row) for row in datatable[1:]]


@then(parsers.parse('nothing was added to "{subject}"'))
def nothing_added(scene: Scene, tickets: Tickets, subject: str) -> None:
    assert _as_admin(scene, tickets, subject)["messages"] == []
    assert _participants(scene, tickets, subject) == []


@then(parsers.parse('the requester of "{subject}" is {name}'))
def requester_is(scene: Scene, tickets: Tickets, subject: str, name: str) -> None:
    requester = _as_admin(scene, tickets, subject)["requester"]
    assert _email_of(scene, requester) == scene.person(name).email


@then(parsers.parse('the participants of "{subject}" are {names}'))
def participants_are(scene: Scene, tickets: Tickets, subject: str, names: str) -> None:
    people = _names(names.replace(" and ", ", "))
    assert _participants(scene, tickets, subject) == [scene.person(n).email for n in people]


@then(parsers.parse('the administrator finds "{subject}" received once'))
def received_once(scene: Scene, subject: str) -> None:
    rows = [row for row in _received(scene, "limit=200") if row["subject"] == subject]
    assert [row["status"] for row in rows] == ["processed"], rows


@then(parsers.re(rf"the administrator finds {_MAIL} ignored as the helpdesk's own"))
def ignored_as_own(scene: Scene, post: Post, mail: str) -> None:
    row = _row(scene, post.stored[mail])
    assert (row["status"], row["outcome"]) == ("ignored", "loop"), row


@then(parsers.parse("mail to {name} is known to bounce"))
def known_to_bounce(scene: Scene, name: str) -> None:
    with scene.services.uow.begin(read_only=True) as tx:
        bounce = tx.mail_threads.bounce_of(scene.person(name).email)
    assert bounce is not None
    assert bounce.status == "5.1.1"


@then(parsers.parse('{name}\'s mail "{label}" opened a new ticket that names "{subject}"'))
def opened_follow_up(
    scene: Scene, post: Post, tickets: Tickets, name: str, label: str, subject: str
) -> None:
    row = _row(scene, post.stored[post.about[(name, label)]])
    assert row["outcome"] == "ticket_created", row
    assert row["ticket_id"] != tickets.ids[subject]
    old = _as_admin(scene, tickets, subject)
    new = _ok(scene.as_admin("GET", f"/staff/tickets/{row['ticket_id']}"))
    assert new["description"].startswith(f"Follow-up to #{old['number']}."), new
    assert (new["subject"], new["requester"]) == (old["subject"], old["requester"])


def _expected(
    scene: Scene, post: Post, value: str, reply: dict[str, Any], sent: MailMessage
) -> str | None:
    """A header value as the table says it: ``(none)``, mails by name (Message-IDs in angle
    brackets), or text with ``<signature>`` (the ticket's) and ``<the reply's id>``."""
    if value == "(none)":
        return None
    names = _names(value)
    if all(re.fullmatch(rf"(?:the helpdesk|\w+)'s {_NTH} mail", name) for name in names):
        ids = [post.written.get(name) or _ours(scene, post, name).message_id for name in names]
        return " ".join(f"<{message_id}>" for message_id in ids)
    with scene.services.uow.begin(read_only=True) as tx:
        view = tx.tickets.get(uuid.UUID(reply["ticket_id"]))
    assert view is not None
    mailbox = parseaddr(sent.sender or "")[1]
    address = scene.services.mail.reply_address(mailbox, view.ticket)
    signature = address.partition("@")[0].rpartition("-")[2]
    return value.replace("<signature>", signature).replace("<the reply's id>", reply["id"])


@then(parsers.re(rf'{_MAIL} is (?P<name>\w+)\'s reply "(?P<text>[^"]+)", with these headers:'))
def mail_with_headers(
    scene: Scene, post: Post, mail: str, name: str, text: str, datatable: list[list[str]]
) -> None:
    """The mail as the SMTP mailer puts it on the wire (Return-Path: its envelope sender)."""
    sent = _ours(scene, post, mail)
    number = int((sent.message_id or "").removeprefix("ticket-").partition(".")[0])
    ticket = _ok(scene.as_admin("GET", f"/staff/tickets/by-number/{number}"))
    reply = next(m for m in ticket["messages"] if m["body"] == text)
    assert reply["author"]["display_name"] == name, reply
    assert sent.body.startswith(f"{text}\n"), sent.body
    wire = build_email(sent, scene.services.settings.mail_from)
    for header, value in datatable[1:]:
        actual = sent.envelope_from if header == "Return-Path" else wire[header]
        expected = _expected(scene, post, value, reply, sent)
        assert (header, None if actual is None else str(actual)) == (header, expected)


@then(parsers.re(rf"the helpdesk has mailed nothing after its (?P<nth>{_NTH}) mail"))
def nothing_after(scene: Scene, post: Post, nth: str) -> None:
    last = _ours(scene, post, f"the helpdesk's {nth} mail")
    sent = scene.mailbox.sent
    after = sent[sent.index(last) + 1 :]
    assert after == [], [(m.to, m.subject) for m in after]
