"""Mail POSTed by a provider (POST /api/v1/inbound/email), on every store: what HTTP adds to
``MailIntake.receive_signed`` (status codes, the one 401 for every refusal, the body's type
and size). What the message becomes is tested in tests/mail/."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.domain.mail import InboundStatus
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.signatures import sign
from helpdesk_core.usecases.mail.mailboxes import CreateMailbox
from tests.conftest import make_settings
from tests.http.conftest import Helpdesk
from tests.mail.support import letter

INBOUND = "/api/v1/inbound/email"
RFC822 = "message/rfc822"


@pytest.fixture
def desk(backend_url: str) -> Iterator[Helpdesk]:
    services = bootstrap(make_settings(database_url=backend_url, mail_max_bytes=64 * 1024))
    yield Helpdesk(services, falcon.testing.TestClient(create_app(services)))
    services.close()


@pytest.fixture
def mailbox(desk: Helpdesk) -> tuple[uuid.UUID, str]:
    """A mailbox and its inbound secret."""
    mailboxes = desk.services.mailboxes
    created = mailboxes.create(
        SYSTEM_OPERATOR, CreateMailbox(name="Support", address="support@support.example.com")
    )
    rotated = mailboxes.rotate_inbound_secret(SYSTEM_OPERATOR, created.id)
    return created.id, rotated.secret


def post(
    desk: Helpdesk,
    mailbox_id: object,
    secret: str,
    body: bytes,
    *,
    at: float | None = None,
    content_type: str = RFC822,
    **headers: str,
) -> falcon.testing.Result:
    message_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time() if at is None else at)
    signed = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        "Content-Type": content_type,
        **headers,
    }
    return desk.client.simulate_post(
        INBOUND, params={"mailbox": str(mailbox_id)}, body=body, headers=signed
    )


def problem(result: falcon.testing.Result, status: int) -> dict[str, Any]:
    assert result.status_code == status, result.text
    assert result.headers["Content-Type"] == "application/problem+json"
    document: dict[str, Any] = result.json
    return document


def test_a_signed_message_is_stored_and_answered_202(
    desk: Helpdesk, mailbox: tuple[uuid.UUID, str]
) -> None:
    mailbox_id, secret = mailbox
    raw = letter(message_id="posted@customer.example")

    first = post(desk, mailbox_id, secret, raw)
    again = post(desk, mailbox_id, secret, raw)

    assert first.status_code == 202, first.text
    assert first.json["duplicate"] is False
    email = first.json["email"]
    assert (email["message_id"], email["via"], email["status"]) == (
        "posted@customer.example",
        "http",
        InboundStatus.PENDING.value,
    )
    assert again.status_code == 202
    assert again.json["duplicate"] is True
    assert again.json["email"]["id"] == email["id"]


@pytest.mark.parametrize(
    "spoil",
    ["wrong secret", "stale", "unknown mailbox", "no uuid", "unsigned", "tampered"],
)
def test_every_refusal_is_the_same_401_and_stores_nothing(
    desk: Helpdesk, mailbox: tuple[uuid.UUID, str], spoil: str
) -> None:
    mailbox_id, secret = mailbox
    raw = letter()
    target: object = mailbox_id
    if spoil == "wrong secret":
        secret = "whsec_" + "A" * 43
    if spoil == "unknown mailbox":
        target = uuid.uuid4()
    if spoil == "no uuid":
        target = "support"
    if spoil == "stale":
        result = post(desk, target, secret, raw, at=time.time() - 600)
    elif spoil == "unsigned":
        result = desk.client.simulate_post(
            INBOUND, params={"mailbox": str(target)}, body=raw, headers={"Content-Type": RFC822}
        )
    elif spoil == "tampered":
        signed = post(desk, target, secret, b"X-Other: 1\r\n" + raw)
        assert signed.status_code == 202  # the signature is over the body it came with
        stamp = str(int(time.time()))
        result = desk.client.simulate_post(
            INBOUND,
            params={"mailbox": str(target)},
            body=raw,
            headers={
                "Content-Type": RFC822,
                "webhook-id": "msg_x",
                "webhook-timestamp": stamp,
                "webhook-signature": sign(secret, "msg_x", int(stamp), b"other"),
            },
        )
    else:
        result = post(desk, target, secret, raw)

    document = problem(result, 401)
    assert document["detail"] == "the request is not signed by the mailbox's secret"
    listed = desk.services.mailboxes.received(SYSTEM_OPERATOR)
    assert len(listed) == (1 if spoil == "tampered" else 0)


def test_a_mailbox_without_a_secret_takes_nothing(desk: Helpdesk) -> None:
    created = desk.services.mailboxes.create(
        SYSTEM_OPERATOR, CreateMailbox(name="Sales", address="sales@support.example.com")
    )

    problem(post(desk, created.id, "whsec_" + "B" * 43, letter()), 401)


def test_a_rotated_secret_replaces_the_old_one(
    desk: Helpdesk, mailbox: tuple[uuid.UUID, str]
) -> None:
    mailbox_id, old = mailbox
    new = desk.services.mailboxes.rotate_inbound_secret(SYSTEM_OPERATOR, mailbox_id).secret

    problem(post(desk, mailbox_id, old, letter()), 401)
    assert post(desk, mailbox_id, new, letter()).status_code == 202


def test_the_body_must_be_a_message_of_at_most_the_limit(
    desk: Helpdesk, mailbox: tuple[uuid.UUID, str]
) -> None:
    mailbox_id, secret = mailbox

    problem(post(desk, mailbox_id, secret, b'{"a": 1}', content_type="application/json"), 415)
    problem(post(desk, mailbox_id, secret, letter(body="x" * 70_000)), 413)
    problem(post(desk, mailbox_id, secret, b"   "), 422)
    # a JSON route keeps its own limit and type
    result = desk.client.simulate_post(
        "/api/v1/auth/login", body=letter(), headers={"Content-Type": RFC822}
    )
    problem(result, 415)


def test_an_administrator_rotates_the_secret_over_http(desk: Helpdesk) -> None:
    admin, customer = desk.staff("admin"), desk.customer()
    created = desk.services.mailboxes.create(
        SYSTEM_OPERATOR, CreateMailbox(name="Sales", address="sales@support.example.com")
    )
    path = f"/api/v1/admin/mailboxes/{created.id}/inbound-secret"

    rotated = desk.client.simulate_post(path, headers=admin.headers)
    refused = desk.client.simulate_post(path, headers=customer.headers)
    missing = desk.client.simulate_post(
        f"/api/v1/admin/mailboxes/{uuid.uuid4()}/inbound-secret", headers=admin.headers
    )

    assert rotated.status_code == 200, rotated.text
    secret = rotated.json["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in rotated.json["mailbox"]
    assert rotated.json["mailbox"]["version"] == created.version + 1
    problem(refused, 403)
    problem(missing, 404)
    assert post(desk, created.id, secret, letter()).status_code == 202
