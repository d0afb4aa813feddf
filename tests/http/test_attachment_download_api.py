"""Stored attachments over HTTP (GET /api/v1/attachments/{id}/content), on every store: the
file only for those who may see its ticket (and its message), always as a download.

The files come the way they really come: in a received mail, processed by the worker."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import falcon.testing
import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.domain.mail import InboundVia
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox
from tests.conftest import make_settings
from tests.http.conftest import Helpdesk, Person

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def desk(backend_url: str) -> Iterator[Helpdesk]:
    services = bootstrap(make_settings(database_url=backend_url))
    yield Helpdesk(services, falcon.testing.TestClient(create_app(services)))
    services.close()


def mail_with_file(sender: str, filename: str = "Rechnung März.pdf") -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = sender, "support@support.example.com"
    message["Subject"], message["Message-ID"] = "Invoice", f"<{filename}.{sender}>"
    message.set_content("The invoice is attached.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename=filename)
    return message.as_bytes()


def delivered(desk: Helpdesk, raw: bytes) -> dict[str, Any]:
    """The ticket the mail opened, as its requester reads it over HTTP... by id."""
    services = desk.services
    mailbox = services.mailboxes.create(
        SYSTEM_OPERATOR,
        CreateMailbox(name="Support", address="support@support.example.com"),
    )
    services.mail_intake.receive(mailbox.id, raw, InboundVia.PIPE)
    assert services.new_worker("w").process_mail() == 1
    [email] = services.mailboxes.received(SYSTEM_OPERATOR)
    return {"ticket_id": str(email.ticket_id)}


def test_only_who_may_see_the_ticket_downloads_its_file(desk: Helpdesk) -> None:
    ann = desk.customer("ann")
    opened = delivered(desk, mail_with_file(ann.email))
    detail = desk.client.simulate_get(f"/api/v1/tickets/{opened['ticket_id']}", headers=ann.headers)
    assert detail.status_code == 200, detail.text
    [attachment] = detail.json["attachments"]
    assert attachment["url"] == f"/api/v1/attachments/{attachment['id']}/content"
    assert attachment["checksum"].startswith("sha256:")
    stranger: Person = desk.customer("bob")
    admin = desk.staff("admin")

    own = desk.client.simulate_get(attachment["url"], headers=ann.headers)
    staff = desk.client.simulate_get(attachment["url"], headers=admin.headers)
    other = desk.client.simulate_get(attachment["url"], headers=stranger.headers)
    anonymous = desk.client.simulate_get(attachment["url"])
    head = desk.client.simulate_head(attachment["url"], headers=ann.headers)

    assert own.status_code == 200
    assert own.content == PDF
    assert own.headers["Content-Type"] == "application/pdf"
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    assert own.headers["Content-Disposition"] == (
        "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
    )
    assert staff.content == PDF
    assert other.status_code == 404
    assert anonymous.status_code == 401
    assert head.status_code == 200
    assert head.content == b""


def test_an_unknown_or_referenced_attachment_is_a_404(desk: Helpdesk) -> None:
    ann = desk.customer("ann")
    unknown = desk.client.simulate_get(
        "/api/v1/attachments/6f1c0a44-0d7e-4a5e-9c39-6b2a4f0b1e11/content", headers=ann.headers
    )
    opened = desk.client.simulate_post(
        "/api/v1/tickets",
        json={
            "subject": "Link",
            "description": "See the file.",
            "attachments": [
                {
                    "url": "https://files.example.com/a.pdf",
                    "filename": "a.pdf",
                    "mime_type": "application/pdf",
                    "size_bytes": 10,
                }
            ],
        },
        headers=ann.headers,
    )
    [reference] = opened.json["attachments"]
    elsewhere = desk.client.simulate_get(
        f"/api/v1/attachments/{reference['id']}/content", headers=ann.headers
    )

    assert unknown.status_code == 404
    assert elsewhere.status_code == 404
    assert desk.client.simulate_get(
        "/api/v1/attachments/not-an-id/content", headers=ann.headers
    ).status_code in {404, 422}


def form(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = "helpdesk-test-boundary"
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for filename, kind, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f"filename*=UTF-8''{quote(filename)}\r\nContent-Type: {kind}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_files_uploaded_with_a_message_are_kept_and_guarded(desk: Helpdesk) -> None:
    ann, bob = desk.customer("ann"), desk.customer("bob")
    department = desk.department()
    agent = desk.staff("agent", department)
    opened = desk.client.simulate_post(
        "/api/v1/tickets",
        json={"subject": "Upload", "description": "Files follow.", "department_id": department},
        headers=ann.headers,
    )
    ticket_id = opened.json["id"]
    body, content_type = form(
        {"body": "Here is the scan."}, [("scan März.pdf", "application/pdf", PDF)]
    )

    reply = desk.client.simulate_post(
        f"/api/v1/tickets/{ticket_id}/messages",
        body=body,
        headers={**ann.headers, "Content-Type": content_type},
    )
    assert reply.status_code == 201, reply.text
    [attachment] = reply.json["attachments"]
    assert (attachment["filename"], attachment["mime_type"], attachment["size_bytes"]) == (
        "scan März.pdf",
        "application/pdf",
        len(PDF),
    )
    note_body, note_type = form(
        {"body": "Internal copy.", "visibility": "internal"}, [("note.pdf", "application/pdf", PDF)]
    )
    note = desk.client.simulate_post(
        f"/api/v1/staff/tickets/{ticket_id}/messages",
        body=note_body,
        headers={**agent.headers, "Content-Type": note_type},
    )
    assert note.status_code == 201, note.text
    [internal] = note.json["attachments"]

    assert desk.client.simulate_get(attachment["url"], headers=ann.headers).content == PDF
    assert desk.client.simulate_get(attachment["url"], headers=agent.headers).content == PDF
    assert desk.client.simulate_get(attachment["url"], headers=bob.headers).status_code == 404
    assert desk.client.simulate_get(internal["url"], headers=agent.headers).content == PDF
    assert desk.client.simulate_get(internal["url"], headers=ann.headers).status_code == 404


@pytest.mark.parametrize(
    ("fields", "files", "field"),
    [
        ({"body": "x", "extra": "y"}, [], "extra"),
        ({}, [], "body"),
        ({"body": "x"}, [("run.exe", "application/x-msdownload", b"MZ")], "files.0"),
    ],
)
def test_a_bad_form_is_a_422_naming_the_field_and_stores_nothing(
    desk: Helpdesk, fields: dict[str, str], files: list[tuple[str, str, bytes]], field: str
) -> None:
    ann = desk.customer("ann")
    opened = desk.client.simulate_post(
        "/api/v1/tickets", json={"subject": "Upload", "description": "x"}, headers=ann.headers
    )
    body, content_type = form(fields, files)

    refused = desk.client.simulate_post(
        f"/api/v1/tickets/{opened.json['id']}/messages",
        body=body,
        headers={**ann.headers, "Content-Type": content_type},
    )

    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json["errors"]] == [field]
    detail = desk.client.simulate_get(f"/api/v1/tickets/{opened.json['id']}", headers=ann.headers)
    assert detail.json["messages"] == []


def test_a_form_is_taken_only_on_the_message_routes(desk: Helpdesk) -> None:
    ann = desk.customer("ann")
    body, content_type = form({"subject": "x", "description": "y"}, [])

    refused = desk.client.simulate_post(
        "/api/v1/tickets", body=body, headers={**ann.headers, "Content-Type": content_type}
    )

    assert refused.status_code == 415
