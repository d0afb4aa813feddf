"""Followers (``usecases/tickets/followers.py``): who may follow a ticket and make others follow
it, the assignee who follows without asking, the mentions of internal notes that add
followers, what is recorded and published, and the one mail per person and message that
followers, assignees and mentioned staff receive (``usecases/notifications.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.memory.mail import MemoryMailer
from entrypoints.bootstrap import bootstrap
from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import NotFound, PermissionDenied, ValidationFailed
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.followers import FollowReason
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.values import MessageVisibility, StaffRole
from helpdesk_core.ports.notifications import Mailer, MailMessage
from helpdesk_core.ports.system import Clock
from helpdesk_core.usecases.org import CreateStaff
from tests.conftest import make_settings
from tests.support.clock import SettableClock
from tests.support.events import drain
from tests.unit.tickets.support import PASSWORD, Desk, entry_of

INTERNAL = MessageVisibility.INTERNAL
ASSIGNEE, FOLLOWER = FollowReason.ASSIGNEE, FollowReason.FOLLOWER


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
def desk(mailer: MemoryMailer) -> Iterator[Desk]:
    """The ticket desk (tests/unit/tickets/support.py) whose mail is kept in ``mailer``."""
    clock = SettableClock()
    services = bootstrap(make_settings(), {Clock: clock, Mailer: mailer})
    yield Desk.build(services, clock)
    services.close()


def followers(
    desk: Desk, ticket: Ticket, who: Principal = SYSTEM_OPERATOR
) -> list[tuple[uuid.UUID, FollowReason]]:
    """(user id, reason) of each follower of ``ticket``, in the list's order."""
    return [(f.user_id, f.reason) for f in desk.tickets.followers(who, ticket.id).items]


def email(desk: Desk, who: Principal) -> str:
    return desk.services.org.account(who.user_id).user.email


def mention(desk: Desk, who: Principal) -> str:
    """How a note mentions ``who``: ``@`` and their email's local part (unique on the desk)."""
    return "@" + email(desk, who).partition("@")[0]


def follower_events(desk: Desk, ticket: Ticket) -> list[Event]:
    return [e for e in desk.events(ticket) if e.type == "ticket.followers_changed"]


def new_mail(desk: Desk, mailer: MemoryMailer) -> list[MailMessage]:
    """What the worker mails for what happened so far, taken out of the mailer."""
    drain(desk.services)
    sent = list(mailer.sent)
    mailer.sent.clear()
    return sent


# ---------------------------------------------------------------- following


def test_a_staff_member_follows_a_ticket_they_see(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.clock.current += timedelta(minutes=3)
    listed = desk.tickets.follow(desk.agent, ticket.id)
    assert [(f.user_id, f.reason, f.since) for f in listed.items] == [
        (desk.agent.user_id, FOLLOWER, desk.clock.current)
    ]
    assert followers(desk, ticket, desk.lead) == [(desk.agent.user_id, FOLLOWER)]
    assert desk.history(ticket)[-1] == (
        desk.agent.user_id,
        "follower",
        None,
        str(desk.agent.user_id),
    )
    (event,) = follower_events(desk, ticket)
    assert event.actor_id == desk.agent.user_id
    assert (event.data["added"], event.data["removed"]) == ([str(desk.agent.user_id)], [])
    assert event.data["ticket"]["id"] == str(ticket.id)
    assert desk.current(ticket).version == ticket.version  # following changes no ticket


def test_following_twice_records_nothing_more(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.agent, ticket.id)
    before = desk.photo()
    again = desk.tickets.follow(desk.agent, ticket.id)
    assert [f.user_id for f in again.items] == [desk.agent.user_id]
    assert desk.photo() == before


def test_unfollowing_removes_the_follower_and_records_it_once(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.agent, ticket.id)
    assert desk.tickets.unfollow(desk.agent, ticket.id).items == ()
    assert desk.history(ticket)[-1] == (
        desk.agent.user_id,
        "follower",
        str(desk.agent.user_id),
        None,
    )
    _, removed = follower_events(desk, ticket)
    assert (removed.data["added"], removed.data["removed"]) == ([], [str(desk.agent.user_id)])
    before = desk.photo()
    assert desk.tickets.unfollow(desk.agent, ticket.id).items == ()
    assert desk.photo() == before


def test_the_history_names_the_follower(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.lead, ticket.id, desk.agent.user_id)
    entry = desk.tickets.history(desk.lead, ticket.id)[-1]
    assert (entry_of(entry).field, entry.new_name, entry.actor_name) == (
        "follower",
        "Agent",
        "Lead",
    )


@pytest.mark.parametrize("who", ["tech_agent", "tech_lead"])
def test_a_ticket_outside_the_scope_is_not_found(desk: Desk, who: str) -> None:
    ticket = desk.open(department=desk.billing)
    actor = getattr(desk, who)
    for call in (desk.tickets.follow, desk.tickets.unfollow, desk.tickets.followers):
        with desk.refuses(NotFound, match="no such ticket"):
            call(actor, ticket.id)
    with desk.refuses(NotFound, match="no such ticket"):
        desk.tickets.follow(desk.agent, uuid.uuid4())


def test_customers_follow_nothing(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    for call in (desk.tickets.follow, desk.tickets.unfollow, desk.tickets.followers):
        with desk.refuses(PermissionDenied, match="only staff"):
            call(desk.ann, ticket.id)


def test_everyone_on_the_staff_follows_an_unrouted_ticket(desk: Desk) -> None:
    ticket = desk.open()
    desk.tickets.follow(desk.tech_agent, ticket.id)
    desk.tickets.follow(desk.agent, ticket.id)
    assert {u for u, _ in followers(desk, ticket)} == {desk.tech_agent.user_id, desk.agent.user_id}


# ---------------------------------------------------------------- others as followers


def test_leads_and_administrators_add_and_remove_others(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.lead, ticket.id, desk.agent.user_id)
    desk.clock.current += timedelta(seconds=1)
    desk.tickets.follow(desk.admin, ticket.id, desk.agent2.user_id)
    assert followers(desk, ticket) == [
        (desk.agent.user_id, FOLLOWER),
        (desk.agent2.user_id, FOLLOWER),
    ]
    assert [h[0] for h in desk.history(ticket)[-2:]] == [desk.lead.user_id, desk.admin.user_id]
    desk.tickets.unfollow(desk.lead, ticket.id, desk.agent2.user_id)
    assert followers(desk, ticket) == [(desk.agent.user_id, FOLLOWER)]


def test_an_agent_names_only_themselves(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.lead, ticket.id, desk.agent2.user_id)
    with desk.refuses(PermissionDenied, match="only leads and administrators"):
        desk.tickets.follow(desk.agent, ticket.id, desk.agent2.user_id)
    with desk.refuses(PermissionDenied, match="only leads and administrators"):
        desk.tickets.unfollow(desk.agent, ticket.id, desk.agent2.user_id)
    desk.tickets.follow(desk.agent, ticket.id, desk.agent.user_id)  # themselves, by id
    assert {u for u, _ in followers(desk, ticket)} == {desk.agent.user_id, desk.agent2.user_id}


def test_only_active_staff_who_see_the_ticket_are_added(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    gone = desk.staff(StaffRole.AGENT, desk.billing)
    desk.deactivate(gone)
    cases = {
        desk.tech_agent.user_id: "does not work in the ticket's department",
        gone.user_id: "no such active staff member",
        desk.ann.user_id: "no such active staff member",
        uuid.uuid4(): "no such active staff member",
    }
    for user_id, says in cases.items():
        with desk.refuses(ValidationFailed, "user_id", match=says):
            desk.tickets.follow(desk.lead, ticket.id, user_id)
    with desk.refuses(ValidationFailed, "user_id", match="system operator"):
        desk.tickets.follow(SYSTEM_OPERATOR, ticket.id)
    desk.tickets.follow(desk.lead, ticket.id, desk.admin.user_id)  # an administrator sees all


def test_a_follower_who_left_is_still_removed(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.agent2, ticket.id)
    desk.deactivate(desk.agent2)
    desk.tickets.unfollow(desk.lead, ticket.id, desk.agent2.user_id)
    assert followers(desk, ticket) == []


# ---------------------------------------------------------------- the assignee


def test_the_assignee_follows_without_a_row(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.agent2, ticket.id)
    desk.assign(desk.lead, ticket, "agent", desk.agent)
    first = desk.tickets.followers(desk.agent2, ticket.id).items[0]
    assert (first.user_id, first.reason, first.since) == (
        desk.agent.user_id,
        ASSIGNEE,
        None,
    )
    assert followers(desk, ticket) == [
        (desk.agent.user_id, ASSIGNEE),
        (desk.agent2.user_id, FOLLOWER),
    ]
    assert len(follower_events(desk, ticket)) == 1  # agent2's: assigning adds no row


def test_an_assignee_who_also_follows_is_listed_once(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.assign(desk.lead, ticket, "agent", desk.agent)
    listed = desk.tickets.follow(desk.agent, ticket.id).items
    assert [(f.user_id, f.reason, f.since) for f in listed] == [
        (desk.agent.user_id, ASSIGNEE, desk.clock.current)
    ]
    # The row outlives the assignment: once someone else has the ticket, they still follow.
    desk.assign(desk.lead, ticket, "agent", desk.agent2)
    assert followers(desk, ticket) == [
        (desk.agent2.user_id, ASSIGNEE),
        (desk.agent.user_id, FOLLOWER),
    ]


def test_an_assignee_follows_until_the_ticket_is_theirs_no_more(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.assign(desk.lead, ticket, "agent", desk.agent)
    before = desk.photo()
    assert followers(desk, ticket) == [(desk.agent.user_id, ASSIGNEE)]
    desk.tickets.unfollow(desk.agent, ticket.id)  # no row: nothing to remove
    assert desk.photo() == before
    assert followers(desk, ticket) == [(desk.agent.user_id, ASSIGNEE)]


# ---------------------------------------------------------------- mentions


def test_a_mention_in_a_note_makes_a_follower(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    note = desk.reply(desk.agent, ticket, f"{mention(desk, desk.lead)}, a refund?", INTERNAL)
    assert followers(desk, ticket) == [(desk.lead.user_id, FOLLOWER)]
    added, changed = desk.events(ticket)[-2:]
    assert added.type == "ticket.message_added"
    assert added.data["mentions"] == [str(desk.lead.user_id)]
    assert (changed.type, changed.actor_id) == ("ticket.followers_changed", desk.agent.user_id)
    assert changed.data["added"] == [str(desk.lead.user_id)]
    assert desk.history(ticket)[-2:] == [
        (desk.agent.user_id, "message", None, f"internal:{note.id}"),
        (desk.agent.user_id, "follower", None, str(desk.lead.user_id)),
    ]


def test_a_full_address_mentions_and_a_follower_is_mentioned_without_a_change(
    desk: Desk,
) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.lead, ticket.id)
    changes = len(follower_events(desk, ticket))
    desk.reply(desk.agent, ticket, f"Over to @{email(desk, desk.lead).upper()}.", INTERNAL)
    assert desk.events(ticket)[-1].data["mentions"] == [str(desk.lead.user_id)]
    assert len(follower_events(desk, ticket)) == changes  # already a follower


def test_a_public_reply_mentions_nobody(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.reply(desk.agent, ticket, f"{mention(desk, desk.lead)} will call you.")
    assert desk.events(ticket)[-2].data["mentions"] == []  # then the status it opened
    assert followers(desk, ticket) == []


def test_only_active_staff_who_see_the_ticket_are_mentioned(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    desk.deactivate(desk.agent2)
    customer = email(desk, desk.ann)
    body = (
        f"{mention(desk, desk.tech_agent)} {mention(desk, desk.agent2)} @{customer} "
        f"{mention(desk, desk.admin)} @nobody"
    )
    desk.reply(desk.agent, ticket, body, INTERNAL)
    assert desk.events(ticket)[-2].data["mentions"] == [str(desk.admin.user_id)]
    assert followers(desk, ticket) == [(desk.admin.user_id, FOLLOWER)]


def test_a_local_part_two_staff_members_share_mentions_neither(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    twins = [
        desk.services.org.create_staff(
            SYSTEM_OPERATOR,
            CreateStaff(f"twin@{where}.example.com", "Twin", PASSWORD, StaffRole.AGENT, home),
        ).user.id
        for where, home in (("one", desk.billing), ("two", desk.tech))
    ]
    desk.reply(desk.agent, ticket, "@twin, or rather @twin@one.example.com", INTERNAL)
    assert desk.events(ticket)[-2].data["mentions"] == [str(twins[0])]


# ---------------------------------------------------------------- notification


def test_an_assignee_who_follows_and_is_mentioned_gets_one_mail_for_the_note(
    desk: Desk, mailer: MemoryMailer
) -> None:
    """The issue's own line: one notification per person per event, whatever the reasons."""
    ticket = desk.open(department=desk.billing)
    desk.assign(desk.lead, ticket, "agent", desk.agent)
    desk.tickets.follow(desk.agent, ticket.id)
    new_mail(desk, mailer)
    desk.reply(desk.lead, ticket, f"{mention(desk, desk.agent)} refund it, please.", INTERNAL)
    (mail,) = new_mail(desk, mailer)
    assert mail.to == email(desk, desk.agent)
    assert mail.subject == f"[#{ticket.number}] Note from Lead: Charged twice"
    assert "refund it, please" in mail.body
    assert "because you were mentioned in it" in mail.body
    assert mail.headers["Auto-Submitted"] == "auto-generated"


def test_followers_are_told_when_the_customer_answers(desk: Desk, mailer: MemoryMailer) -> None:
    ticket = desk.open(department=desk.billing)
    desk.assign(desk.lead, ticket, "agent", desk.agent)
    desk.tickets.follow(desk.agent2, ticket.id)
    new_mail(desk, mailer)
    desk.reply(desk.ann, ticket, "The invoice number is 1042.")
    mails = new_mail(desk, mailer)
    assert sorted(m.to for m in mails) == sorted(email(desk, p) for p in (desk.agent, desk.agent2))
    for mail in mails:
        assert mail.subject == f"[#{ticket.number}] Reply from Ann: Charged twice"
        assert "The invoice number is 1042." in mail.body
    assert {m.to: m.body.rsplit("because ", 1)[1] for m in mails} == {
        email(desk, desk.agent): "the ticket is assigned to you.\n",
        email(desk, desk.agent2): "you follow the ticket.\n",
    }


def test_the_author_and_the_requester_are_not_told_by_this_mail(
    desk: Desk, mailer: MemoryMailer
) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.agent, ticket.id)
    desk.tickets.follow(desk.agent2, ticket.id)
    new_mail(desk, mailer)
    desk.reply(desk.agent, ticket, "Refunded.")
    mails = new_mail(desk, mailer)
    # Ann receives the reply itself (usecases/mail/outbound.py); agent2 is told; the author not.
    assert sorted(m.to for m in mails) == sorted([email(desk, desk.ann), email(desk, desk.agent2)])
    desk.reply(desk.agent, ticket, "SECRET: double-billed by the batch job.", INTERNAL)
    (note,) = new_mail(desk, mailer)
    assert note.to == email(desk, desk.agent2)
    assert "SECRET" in note.body  # staff read notes; the customer was not mailed one


def test_followers_who_left_or_moved_are_not_told(desk: Desk, mailer: MemoryMailer) -> None:
    ticket = desk.open(department=desk.billing)
    desk.tickets.follow(desk.agent, ticket.id)
    desk.tickets.follow(desk.agent2, ticket.id)
    desk.tickets.follow(desk.admin, ticket.id)
    desk.deactivate(desk.agent)
    desk.move_staff(desk.agent2, desk.tech)
    new_mail(desk, mailer)
    desk.reply(desk.ann, ticket, "Hello?")
    assert [m.to for m in new_mail(desk, mailer)] == [email(desk, desk.admin)]


def test_a_note_nobody_follows_mails_nobody(desk: Desk, mailer: MemoryMailer) -> None:
    ticket = desk.open(department=desk.billing)
    new_mail(desk, mailer)
    desk.reply(desk.agent, ticket, "Just for me.", INTERNAL)
    assert new_mail(desk, mailer) == []
