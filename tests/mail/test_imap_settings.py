"""A mailbox's IMAP settings, as administrators set them (``MailboxImapService``): checked,
the password sealed and never shown, the poll state kept while the same folder is read and
started over when another is, and cleared on demand. What is stored is told on every store
(``desk``), the rules about the input on the in-memory one (``memory_desk``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.memory.mail import MemoryMailer
from adapters.security.secretbox import FernetSecretBox
from entrypoints.bootstrap import IMAP_PASSWORD_PURPOSE, WEBHOOK_SECRET_PURPOSE, bootstrap
from helpdesk_core.documents import document_of, mailbox_imap_document
from helpdesk_core.domain.errors import NotFound, PermissionDenied, ValidationFailed
from helpdesk_core.domain.mail_fetch import ImapSecurity, MailboxImap
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.secretbox import SecretUnreadable
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.mail.imap_settings import SetMailboxImap
from tests.conftest import TEST_SECRET, make_settings
from tests.mail.support import MailDesk
from tests.support.clock import SettableClock

PASSWORD = "imap-CANARY-p@ss word"


@pytest.fixture
def memory_desk(tmp_path: Path) -> Iterator[MailDesk]:
    clock = SettableClock()
    services = bootstrap(
        make_settings(blob_dir=str(tmp_path)), {Clock: clock, Mailer: MemoryMailer()}
    )
    made = MailDesk.build(services, clock)
    assert isinstance(made, MailDesk)
    made.setup_mailbox()
    yield made
    services.close()


def settings(**changes: object) -> SetMailboxImap:
    parts: dict[str, object] = {
        "host": "imap.example.com",
        "username": "support@example.com",
        "password": PASSWORD,
    }
    parts.update(changes)
    return SetMailboxImap(**parts)  # type: ignore[arg-type]


def set_imap(desk: MailDesk, command: SetMailboxImap) -> MailboxImap:
    return desk.services.mailbox_imap.set(SYSTEM_OPERATOR, desk.mailbox.id, command)


def poll_state(desk: MailDesk, uidvalidity: int, last_uid: int) -> None:
    """As if a poll had read the folder up to ``last_uid``, and failed at its end."""
    with desk.services.uow.begin() as tx:
        tx.mail_fetch.set_state(
            desk.mailbox.id,
            uidvalidity=uidvalidity,
            last_uid=last_uid,
            polled_at=desk.clock.now(),
            last_error="timed out",
        )
        tx.commit()


def test_settings_are_stored_with_the_password_sealed_and_shown_without_it(
    desk: MailDesk,
) -> None:
    config = set_imap(desk, settings(move_to="Done"))

    assert desk.services.mailbox_imap.get(SYSTEM_OPERATOR, desk.mailbox.id) == config
    assert (config.host, config.port, config.security) == ("imap.example.com", 993, "tls")
    assert (config.folder, config.move_to, config.uidvalidity, config.last_uid) == (
        "INBOX",
        "Done",
        None,
        0,
    )
    # Sealed for IMAP passwords alone: the webhook secrets' box cannot open it.
    assert "CANARY" not in config.password
    assert FernetSecretBox([TEST_SECRET], IMAP_PASSWORD_PURPOSE).open(config.password) == PASSWORD
    with pytest.raises(SecretUnreadable):
        FernetSecretBox([TEST_SECRET], WEBHOOK_SECRET_PURPOSE).open(config.password)
    assert "password" not in repr(config)

    document = mailbox_imap_document(config)
    assert document_of(config) == document
    assert "password" not in document
    assert "CANARY" not in str(document)
    assert document["mailbox_id"] == str(desk.mailbox.id)
    assert (document["security"], document["port"], document["last_error"]) == ("tls", 993, None)


@pytest.mark.parametrize(
    ("security", "port"), [("tls", 993), ("starttls", 143), ("none", 143), ("NONE", None)]
)
def test_the_port_defaults_to_the_securitys(
    memory_desk: MailDesk, security: str, port: int | None
) -> None:
    desk = memory_desk
    if port is None:
        with pytest.raises(ValidationFailed, match="security"):
            set_imap(desk, settings(security=security))
        return
    config = set_imap(desk, settings(security=security))
    assert (config.security, config.port) == (ImapSecurity(security), port)


def test_every_bad_field_is_named(memory_desk: MailDesk) -> None:
    desk = memory_desk
    command = settings(
        host="not a host!",
        port=70000,
        security="ssl",
        username=" ",
        password="line\nbreak",
        folder="Inbox*",
        move_to="",
    )
    with pytest.raises(ValidationFailed) as refused:
        set_imap(desk, command)
    fields = [error.field for error in refused.value.errors]
    assert sorted(fields) == sorted(
        ["host", "port", "security", "username", "password", "folder", "move_to"]
    )
    assert "CANARY" not in str(refused.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"security": "starttls", "port": 993}, "port"),
        ({"port": True}, "port"),
        ({"host": "-bad-.example.com"}, "host"),
        ({"host": "a" * 64 + ".example.com"}, "host"),
        ({"folder": "Support", "move_to": "support"}, "move_to"),
        ({"folder": "inbox", "move_to": "INBOX"}, "move_to"),
        ({"password": "x" * 1001}, "password"),
        ({"password": ""}, "password"),
    ],
)
def test_settings_are_refused(
    memory_desk: MailDesk, changes: dict[str, object], field: str
) -> None:
    desk = memory_desk
    with pytest.raises(ValidationFailed) as refused:
        set_imap(desk, settings(**changes))
    assert [error.field for error in refused.value.errors] == [field]
    with pytest.raises(NotFound):
        desk.services.mailbox_imap.get(SYSTEM_OPERATOR, desk.mailbox.id)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("IMAP.Example.COM", "imap.example.com"),
        ("[::1]", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_hosts_are_stored_as_they_are_dialed(
    memory_desk: MailDesk, given: str, stored: str
) -> None:
    desk = memory_desk
    assert set_imap(desk, settings(host=given)).host == stored


def test_the_first_settings_need_a_password_and_later_ones_keep_it(desk: MailDesk) -> None:
    with pytest.raises(ValidationFailed, match="password: is required"):
        set_imap(desk, settings(password=None))
    first = set_imap(desk, settings())

    kept = set_imap(desk, settings(password=None, move_to="Done"))

    assert kept.password == first.password
    assert kept.version == first.version + 1


def test_unchanged_settings_store_nothing(desk: MailDesk) -> None:
    first = set_imap(desk, settings())
    assert set_imap(desk, settings(password=None)) == first


def test_the_same_folder_keeps_the_poll_state_and_another_starts_it_over(
    desk: MailDesk,
) -> None:
    set_imap(desk, settings())
    poll_state(desk, uidvalidity=77, last_uid=12)

    moved = set_imap(desk, settings(password="new-password", move_to="Done"))
    assert (moved.uidvalidity, moved.last_uid) == (77, 12)
    assert (moved.polled_at, moved.last_error) == (None, None)  # due at once, error gone

    elsewhere = set_imap(desk, settings(password=None, move_to="Done", folder="Support"))
    assert (elsewhere.uidvalidity, elsewhere.last_uid) == (None, 0)


def test_clearing_forgets_the_settings(desk: MailDesk) -> None:
    set_imap(desk, settings())
    assert desk.services.mailbox_imap.clear(SYSTEM_OPERATOR, desk.mailbox.id)
    assert not desk.services.mailbox_imap.clear(SYSTEM_OPERATOR, desk.mailbox.id)
    with pytest.raises(NotFound, match="no IMAP settings"):
        desk.services.mailbox_imap.get(SYSTEM_OPERATOR, desk.mailbox.id)


def test_an_unknown_mailbox_is_not_found(memory_desk: MailDesk) -> None:
    desk = memory_desk
    service = desk.services.mailbox_imap
    nowhere = uuid.uuid4()
    with pytest.raises(NotFound, match="no such mailbox"):
        service.set(SYSTEM_OPERATOR, nowhere, settings())
    with pytest.raises(NotFound, match="no such mailbox"):
        service.get(SYSTEM_OPERATOR, nowhere)
    with pytest.raises(NotFound, match="no such mailbox"):
        service.clear(SYSTEM_OPERATOR, nowhere)


def test_only_administrators_manage_imap_settings(memory_desk: MailDesk) -> None:
    desk = memory_desk
    service = desk.services.mailbox_imap
    set_imap(desk, settings())
    for who in (desk.lead, desk.agent, desk.ann):
        with pytest.raises(PermissionDenied):
            service.set(who, desk.mailbox.id, settings())
        with pytest.raises(PermissionDenied):
            service.get(who, desk.mailbox.id)
        with pytest.raises(PermissionDenied):
            service.clear(who, desk.mailbox.id)
    assert service.get(desk.admin, desk.mailbox.id).host == "imap.example.com"
