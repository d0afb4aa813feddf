"""Attachments (``validate_attachments`` and the use cases that take them): how many, and for
each an http(s) URL, a file name with something visible left, an allowed type, a size within
the limit and, when sent, a checksum that looks like one. Every refused attachment is named
with each of its faults; what is kept is cleaned; a refused request stores nothing."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.values import MessageVisibility
from helpdesk_core.usecases.tickets import (
    AttachmentInput,
    OpenTicket,
    PostMessage,
    TicketPolicy,
    validate_attachments,
)
from tests.unit.tickets.support import PDF, Desk

POLICY = TicketPolicy()  # 10 attachments of at most 25 MiB: png, jpeg, pdf, plain text
MAX_BYTES = POLICY.attachment_max_bytes


def refusal(*items: AttachmentInput, policy: TicketPolicy = POLICY) -> dict[str, str]:
    """field -> message of every error validating ``items`` raises."""
    with pytest.raises(ValidationFailed) as caught:
        validate_attachments(items, policy)
    return {error.field: error.message for error in caught.value.errors}


def with_(**change: Any) -> AttachmentInput:
    return attrs.evolve(PDF, **change)


# ---------------------------------------------------------------- what is kept


def test_a_valid_attachment_is_kept_cleaned() -> None:
    sent = AttachmentInput(
        url="  https://files.example.com/a/Invoice.pdf ",
        filename="../reports/Invoice.pdf",
        mime_type="Application/PDF; name=Invoice.pdf",
        size_bytes=10,
        checksum="sha256:" + "ab" * 32,
    )
    assert validate_attachments([sent], POLICY) == [
        AttachmentInput(
            url="https://files.example.com/a/Invoice.pdf",
            filename="Invoice.pdf",
            mime_type="application/pdf",
            size_bytes=10,
            checksum="sha256:" + "ab" * 32,
        )
    ]


def test_no_attachment_is_fine() -> None:
    assert validate_attachments([], POLICY) == []


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\report.pdf", "report.pdf"),
        ("reports\uff0finvoice.pdf", "invoice.pdf"),  # FULLWIDTH SOLIDUS
        ("reports\u2215invoice.pdf", "invoice.pdf"),  # DIVISION SLASH
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # the override is dropped, not obeyed
        ("../../etc/\x07pass wd.pdf", "pass wd.pdf"),
        (".hidden", "hidden"),
    ],
)
def test_a_file_name_keeps_its_last_segment_and_nothing_invisible(sent: str, kept: str) -> None:
    [cleaned] = validate_attachments([with_(filename=sent)], POLICY)
    assert cleaned.filename == kept


# ---------------------------------------------------------------- how many


def test_at_most_the_policys_number_of_attachments() -> None:
    assert len(validate_attachments([PDF] * 10, POLICY)) == 10
    assert refusal(*[PDF] * 11) == {"attachments": "at most 10 attachments"}
    assert refusal(PDF, PDF, PDF, policy=TicketPolicy(max_attachments=2)) == {
        "attachments": "at most 2 attachments"
    }


# ---------------------------------------------------------------- each field


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.com/x.pdf",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "/relative/x.pdf",
        "https:///x.pdf",  # no host
        "https://[::1/x.pdf",  # a broken IPv6 address
        "https://files.example.com/a b.pdf",
        "https://files.example.com/a\r\nX: y",
        "https://files.example.com/a\x00.pdf",
        "https://files.example.com/" + "a" * 2048,
        "",
    ],
    ids=repr,
)
def test_the_url_must_be_an_absolute_http_url(url: str) -> None:
    assert refusal(PDF, with_(url=url)) == {"attachments.1.url": "must be an http(s) URL"}


@pytest.mark.parametrize(
    "url",
    ["http://files.example.com/x", "https://[2001:db8::1]:8443/x?y=1#z", "HTTPS://F.EXAMPLE/"],
)
def test_http_and_https_urls_are_taken(url: str) -> None:
    assert validate_attachments([with_(url=url)], POLICY)[0].url == url


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("../..", "must name a file"),
        ("", "must name a file"),
        ("\u202e\u200b", "must name a file"),  # nothing visible
        ("\u2215..\uff0f..", "must name a file"),  # dots behind look-alike slashes
        ("x" * 256, "must be at most 255 characters"),
        ("a\udce9.pdf", "must be valid Unicode text"),
    ],
    ids=repr,
)
def test_the_file_name_must_name_a_file(filename: str, message: str) -> None:
    assert refusal(PDF, with_(filename=filename)) == {"attachments.1.filename": message}


@pytest.mark.parametrize(
    ("mime_type", "message"),
    [
        ("application/x-msdownload", "application/x-msdownload is not allowed"),
        ("text/html", "text/html is not allowed"),
        ("", "this type is not allowed"),
    ],
)
def test_the_type_must_be_one_the_policy_allows(mime_type: str, message: str) -> None:
    assert refusal(PDF, with_(mime_type=mime_type)) == {"attachments.1.mime_type": message}


def test_types_are_compared_without_case_or_parameters() -> None:
    policy = TicketPolicy(attachment_mime_types=("Image/PNG",))
    [kept] = validate_attachments([with_(mime_type=" IMAGE/png ; x=1")], policy)
    assert kept.mime_type == "image/png"
    assert refusal(PDF, policy=policy) == {
        "attachments.0.mime_type": "application/pdf is not allowed"
    }


def test_the_size_is_from_zero_to_the_policys_limit() -> None:
    for size in (0, MAX_BYTES):
        assert validate_attachments([with_(size_bytes=size)], POLICY)[0].size_bytes == size
    assert refusal(with_(size_bytes=-1)) == {"attachments.0.size_bytes": "must not be negative"}
    assert refusal(with_(size_bytes=MAX_BYTES + 1)) == {
        "attachments.0.size_bytes": f"must be at most {MAX_BYTES} bytes"
    }
    small = TicketPolicy(attachment_max_bytes=100)
    assert refusal(with_(size_bytes=101), policy=small) == {
        "attachments.0.size_bytes": "must be at most 100 bytes"
    }


@pytest.mark.parametrize(
    "checksum", [None, "sha256:" + "0f" * 32, "md5:" + "a" * 32, "c2hhMjU2OmFiY2Q=", "abcdefgh"]
)
def test_a_checksum_is_optional_and_taken_when_it_looks_like_one(checksum: str | None) -> None:
    assert validate_attachments([with_(checksum=checksum)], POLICY)[0].checksum == checksum


@pytest.mark.parametrize(
    "checksum", ["not a checksum!", "sha256:***", "short", "a" * 129, "SHA256:abcdefgh"]
)
def test_a_checksum_that_does_not_look_like_one_is_refused(checksum: str) -> None:
    assert refusal(with_(checksum=checksum)) == {
        "attachments.0.checksum": "must look like sha256:<hex>"
    }


def test_every_fault_of_every_attachment_is_named_at_once() -> None:
    bad_link = with_(url="ftp://x/y", mime_type="text/html")
    bad_file = with_(size_bytes=-5, checksum="***")
    with pytest.raises(ValidationFailed) as caught:
        validate_attachments([bad_link, PDF, bad_file], POLICY)
    fields = [error.field for error in caught.value.errors]
    assert fields == [
        "attachments.0.url",
        "attachments.0.mime_type",
        "attachments.2.size_bytes",
        "attachments.2.checksum",
    ]
    assert all(field in caught.value.detail for field in fields)


def test_the_errors_are_named_after_the_field_asked_for() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_attachments([with_(url="ftp://x/y")], POLICY, field="files")
    assert [error.field for error in caught.value.errors] == ["files.0.url"]


# ---------------------------------------------------------------- through the use cases


def test_a_ticket_with_a_refused_attachment_is_not_opened(desk: Desk) -> None:
    command = OpenTicket("Printer", "It jams.", attachments=(PDF, with_(mime_type="text/html")))
    with desk.refuses(ValidationFailed, "attachments.1.mime_type"):
        desk.tickets.open_ticket(desk.ann, command)


@pytest.mark.parametrize(
    ("attachments", "field"),
    [((with_(url="javascript:alert(1)"),), "attachments.0.url"), ((PDF,) * 11, "attachments")],
)
def test_a_message_with_refused_attachments_is_not_posted(
    desk: Desk, attachments: tuple[AttachmentInput, ...], field: str
) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(ValidationFailed, field):
        desk.tickets.post_message(
            desk.ann, ticket.id, PostMessage("Files", attachments=attachments)
        )


def test_a_ticket_keeps_its_attachments_cleaned(desk: Desk) -> None:
    sent = with_(
        url=" https://files.example.com/x.pdf ", filename="a/b.pdf", mime_type="APPLICATION/PDF"
    )
    command = OpenTicket("Printer", "It jams.", attachments=(sent,))
    [kept] = desk.tickets.open_ticket(desk.ann, command).attachments
    assert (kept.url, kept.filename, kept.mime_type) == (
        "https://files.example.com/x.pdf",
        "b.pdf",
        "application/pdf",
    )


def test_a_messages_attachments_belong_to_the_message_and_are_recorded(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    message = desk.reply(desk.ann, ticket, "Here", attachments=(PDF,))
    [attachment] = message.attachments
    assert (attachment.ticket_id, attachment.message_id) == (ticket.id, message.id)
    assert attachment.uploaded_by == desk.ann.user_id
    assert desk.tickets.get_ticket(desk.ann, ticket.id).attachments == (attachment,)
    assert desk.fields_recorded(ticket) == ["ticket", "message", "attachment"]
    assert desk.history(ticket)[-1][3] == "invoice.pdf"
    [event] = [e for e in desk.events(ticket) if e.type == "ticket.message_added"]
    assert [a["filename"] for a in event.data["message"]["attachments"]] == ["invoice.pdf"]


def test_an_internal_notes_attachments_are_for_staff_only(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing, attachments=(PDF,))
    note = desk.reply(
        desk.agent, ticket, "Log", MessageVisibility.INTERNAL, (with_(filename="log.txt"),)
    )
    [public] = desk.tickets.get_ticket(desk.ann, ticket.id).attachments
    assert public.filename == "invoice.pdf"
    staff_sees = desk.tickets.get_ticket(desk.agent, ticket.id).attachments
    assert {a.filename for a in staff_sees} == {"invoice.pdf", "log.txt"}
    assert note.attachments[0].filename == "log.txt"
