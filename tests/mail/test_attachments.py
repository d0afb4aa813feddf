"""A received mail's files (usecases/tickets/files.py, processing.py), on every store: kept in
the blob store and downloadable only by those who may see the ticket and the message."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from helpdesk_core.domain.errors import NotFound
from helpdesk_core.domain.values import MessageVisibility
from tests.mail.support import SUPPORT, MailDesk, letter

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def with_files(
    sender: str, *files: tuple[str, str, bytes], in_reply_to: str | None = None
) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, SUPPORT, "Files"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    message.set_content("Please see the files.")
    for name, kind, data in files:
        maintype, _, subtype = kind.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def test_a_mails_files_are_kept_and_read_back(desk: MailDesk) -> None:
    email = desk.deliver(
        with_files(
            "ann@customer.example",
            ("Rechnung März.pdf", "application/pdf", PDF),
            ("photo.png", "image/png", PNG),
        )
    )
    ticket = desk.ticket(email.ticket_id)

    detail = desk.tickets.get_ticket(desk.admin, ticket.id)
    files = sorted(detail.attachments, key=lambda a: a.filename)

    assert [(f.filename, f.mime_type, f.size_bytes) for f in files] == [
        ("Rechnung März.pdf", "application/pdf", len(PDF)),
        ("photo.png", "image/png", len(PNG)),
    ]
    for attachment, data in zip(files, (PDF, PNG), strict=True):
        assert attachment.url == f"/api/v1/attachments/{attachment.id}/content"
        assert attachment.checksum == f"sha256:{attachment.blob_key}"
        assert desk.services.files.content(desk.admin, attachment.id).data == data


def test_a_file_of_a_type_not_allowed_is_not_kept_and_the_message_says_so(
    desk: MailDesk,
) -> None:
    email = desk.deliver(
        with_files(
            "ann@customer.example",
            ("setup.exe", "application/x-msdownload", b"MZ\x90\x00"),
            ("ok.pdf", "application/pdf", PDF),
        )
    )
    ticket = desk.ticket(email.ticket_id)

    detail = desk.tickets.get_ticket(desk.admin, ticket.id)

    assert [a.filename for a in detail.attachments] == ["ok.pdf"]
    assert "[not kept: setup.exe: type application/x-msdownload is not allowed]" in (
        ticket.description
    )


def test_files_are_downloaded_only_by_those_who_may_see_them(desk: MailDesk) -> None:
    ann_email = desk.services.customers.get(desk.admin, desk.ann.user_id).email
    opened = desk.deliver(with_files(ann_email, ("ann.pdf", "application/pdf", PDF)))
    ticket = desk.ticket(opened.ticket_id)
    desk.change(desk.admin, ticket, department_id=desk.billing)
    ours = "ticket-1.abc@support.example.com"
    desk.record_sent(ours, ticket)
    with desk.services.uow.begin(read_only=True) as tx:
        lead_email = tx.users.get(desk.lead.user_id).email  # type: ignore[union-attr]
    desk.deliver(with_files(lead_email, ("internal.pdf", "application/pdf", PDF), in_reply_to=ours))
    every = {a.filename: a for a in desk.tickets.get_ticket(desk.admin, ticket.id).attachments}
    note = next(m for m in desk.messages(ticket) if m.visibility is MessageVisibility.INTERNAL)
    assert every["internal.pdf"].message_id == note.id

    files = desk.services.files
    assert files.content(desk.ann, every["ann.pdf"].id).data == PDF
    assert files.content(desk.agent, every["internal.pdf"].id).data == PDF
    with pytest.raises(NotFound):
        files.content(desk.ann, every["internal.pdf"].id)  # a customer never reads a note
    with pytest.raises(NotFound):
        files.content(desk.bob, every["ann.pdf"].id)  # another customer's ticket
    with pytest.raises(NotFound):
        files.content(desk.tech_agent, every["ann.pdf"].id)  # another department's


def test_a_plain_mail_has_no_files(desk: MailDesk) -> None:
    email = desk.deliver(letter())

    assert desk.tickets.get_ticket(desk.admin, email.ticket_id).attachments == ()  # type: ignore[arg-type]
