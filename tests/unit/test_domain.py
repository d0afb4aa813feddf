"""Invariants of the seed entities and value objects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core.domain.entities import (
    TRANSITIONS,
    PasswordResetToken,
    Session,
    StaffMember,
    Ticket,
    User,
    check_transition,
)
from helpdesk_core.domain.errors import Conflict, ValidationFailed
from helpdesk_core.domain.values import (
    StaffRole,
    TicketPriority,
    TicketStatus,
    clean_body,
    clean_text,
    name_key,
    normalize_email,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def ticket(**changes: object) -> Ticket:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "number": 1,
        "subject": "Printer on fire",
        "description": "It is on fire.",
        "requester_id": uuid.uuid4(),
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(changes)
    return Ticket(**values)  # type: ignore[arg-type]


def test_a_new_ticket_is_new_normal_and_unassigned() -> None:
    t = ticket()
    assert (t.status, t.priority, t.assignee_id, t.closed_at, t.version) == (
        TicketStatus.NEW,
        TicketPriority.NORMAL,
        None,
        None,
        1,
    )


def test_closing_sets_closed_at_and_reopening_clears_it() -> None:
    later = NOW + timedelta(hours=1)
    closed = ticket().with_status(TicketStatus.CLOSED, later)
    assert closed.closed_at == later
    assert closed.version == 2
    reopened = closed.with_status(TicketStatus.OPEN, later + timedelta(hours=1))
    assert reopened.closed_at is None
    assert reopened.version == 3


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (TicketStatus.CLOSED, TicketStatus.PENDING),
        (TicketStatus.RESOLVED, TicketStatus.PENDING),
        (TicketStatus.OPEN, TicketStatus.NEW),
        (TicketStatus.OPEN, TicketStatus.OPEN),
    ],
)
def test_an_illegal_transition_names_both_states(
    current: TicketStatus, target: TicketStatus
) -> None:
    with pytest.raises(Conflict, match=f"from {current.value} to {target.value}"):
        check_transition(current, target)


def test_no_status_can_move_back_to_new_and_every_status_can_be_left() -> None:
    for current, targets in TRANSITIONS.items():
        assert TicketStatus.NEW not in targets
        assert targets, current
        assert current not in targets


def test_a_ticket_with_a_team_needs_a_department() -> None:
    with pytest.raises(ValueError, match="department"):
        ticket(team_id=uuid.uuid4())


def test_closed_at_is_set_exactly_when_closed() -> None:
    with pytest.raises(ValueError, match="closed_at"):
        ticket(status=TicketStatus.CLOSED)
    with pytest.raises(ValueError, match="closed_at"):
        ticket(closed_at=NOW)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ticket(created_at=datetime(2026, 1, 1))


def test_a_staff_member_in_a_team_needs_a_department() -> None:
    with pytest.raises(ValueError, match="department"):
        StaffMember(
            user_id=uuid.uuid4(),
            role=StaffRole.AGENT,
            created_at=NOW,
            updated_at=NOW,
            team_id=uuid.uuid4(),
        )


def test_password_hashes_and_reset_tokens_stay_out_of_reprs() -> None:
    user = User(
        id=uuid.uuid4(),
        email="a@example.com",
        display_name="A",
        password_hash="$argon2id$secret-hash",
        created_at=NOW,
        updated_at=NOW,
    )
    token = PasswordResetToken(
        id=uuid.uuid4(),
        user_id=user.id,
        token_hash="deadbeef-hash",
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )
    assert "secret-hash" not in repr(user)
    assert "deadbeef-hash" not in repr(token)


def test_sessions_and_reset_tokens_expire_and_end() -> None:
    session = Session(
        id=uuid.uuid4(), user_id=uuid.uuid4(), created_at=NOW, expires_at=NOW + timedelta(minutes=5)
    )
    assert session.is_valid(NOW)
    assert not session.is_valid(NOW + timedelta(minutes=5))
    token = PasswordResetToken(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        token_hash="h",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        used_at=NOW,
    )
    assert not token.is_usable(NOW)


@pytest.mark.parametrize("raw", ["Ann@Example.COM", "  ann@example.com "])
def test_emails_are_normalized(raw: str) -> None:
    assert normalize_email(raw) == "ann@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ann",
        "ann@",
        "@example.com",
        "a b@example.com",
        "ann@example",
        "a@@example.com",
        "x" * 250 + "@example.com",
    ],
)
def test_invalid_emails_name_the_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_email(raw, field="requester.email")
    assert [e.field for e in caught.value.errors] == ["requester.email"]


def test_text_is_trimmed_and_bounded() -> None:
    assert clean_text("  hello  ", "subject", max_length=9) == "hello"
    with pytest.raises(ValidationFailed, match="at most 5"):
        clean_text("toolong", "subject", max_length=5)
    with pytest.raises(ValidationFailed, match="at most 5"):  # the limit counts what is sent
        clean_text("  hello  ", "subject", max_length=5)
    with pytest.raises(ValidationFailed, match="empty"):
        clean_text("   ", "subject", max_length=5)
    with pytest.raises(ValidationFailed, match="control"):
        clean_text("a\x00b", "subject", max_length=5)


@given(
    st.text(
        alphabet=st.one_of(
            st.characters(max_codepoint=0x80),  # controls, DEL, white space
            st.characters(min_codepoint=0xD7FE, max_codepoint=0xE001, exclude_categories=()),
            st.characters(),
        ),
        max_size=30,
    )
)
def test_a_body_is_refused_for_exactly_the_controls_and_surrogates(raw: str) -> None:
    """Reference: each character on its own (tab, line feed and carriage return pass; C0,
    DEL and C1 do not)."""
    text = raw.strip()
    control = any((ord(ch) < 32 and ch not in "\n\r\t") or 0x7F <= ord(ch) <= 0x9F for ch in text)
    surrogate = any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    if not text:
        return
    if control or surrogate:
        with pytest.raises(ValidationFailed, match="control" if control else "Unicode"):
            clean_body(raw, "body", max_length=100)
    else:
        assert clean_body(raw, "body", max_length=100) == text


def test_names_differing_in_case_or_spacing_share_a_key() -> None:
    assert name_key("  Billing   Team ") == name_key("billing team") == "billing team"
    assert name_key("Billing") != name_key("Billings")


@given(st.text(max_size=40))
def test_name_keys_ignore_surrounding_and_repeated_space(name: str) -> None:
    assert name_key(f"  {name}\t ") == name_key(name)
    assert name_key(name.replace(" ", "  ")) == name_key(name)
    assert name_key(name) == name_key(name_key(name))
