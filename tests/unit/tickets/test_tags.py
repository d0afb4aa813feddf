"""Tags on tickets (``change_tags``) and the tag vocabulary (``TagService``), on the memory
store: names compared regardless of case and spacing and shown as first written; a change is
one version on, a history entry per tag, and ``ticket.tags_changed``; a change that changes
nothing writes nothing; agents make new tags only when the policy lets them; administrators
rename and merge, a rename onto a taken name being a Conflict unless it asks to merge; the
staff list filters by every tag asked for."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.entities import Ticket
from helpdesk_core.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    StaleVersion,
)
from helpdesk_core.domain.principal import SYSTEM_OPERATOR, Principal
from helpdesk_core.domain.tags import TAGS_PER_TICKET_MAX, TagCount
from helpdesk_core.usecases.tags import RenameTag
from helpdesk_core.usecases.tickets import ChangeTags
from tests.unit.tickets.support import Desk, ticket_of


def tag(
    desk: Desk, who: Principal, ticket: Ticket, *add: str, remove: tuple[str, ...] = ()
) -> Ticket:
    return ticket_of(desk.tickets.change_tags(who, ticket.id, ChangeTags(add, remove)))


def vocabulary(desk: Desk) -> dict[str, int]:
    counts: list[TagCount] = list(desk.services.tags.list(desk.admin))
    return {count.tag.name: count.tickets for count in counts}


def tag_id(desk: Desk, name: str) -> uuid.UUID:
    (found,) = (c.tag.id for c in desk.services.tags.list(desk.admin) if c.tag.name == name)
    return found


def test_names_are_one_tag_regardless_of_case_and_spacing_and_show_as_first_written(
    desk: Desk,
) -> None:
    ticket = desk.open(department=desk.billing)
    tagged = tag(desk, desk.agent, ticket, "  Refund  request ", "VIP")
    assert tagged.tags == ("Refund request", "VIP")
    other = tag(desk, desk.agent2, desk.open(department=desk.billing), "refund   REQUEST", "vip")
    assert other.tags == ("Refund request", "VIP")
    assert vocabulary(desk) == {"Refund request": 2, "VIP": 2}
    assert desk.current(ticket).tags == ("Refund request", "VIP")


def test_a_change_is_one_version_a_history_entry_per_tag_and_one_event(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    tagged = tag(desk, desk.agent, ticket, "vip", "refund")
    assert tagged.version == ticket.version + 1
    changed = tag(desk, desk.agent, tagged, "urgent", remove=("VIP",))
    assert changed.tags == ("refund", "urgent")
    assert desk.history(ticket)[-4:] == [
        (desk.agent.user_id, "tag", None, "refund"),
        (desk.agent.user_id, "tag", None, "vip"),
        (desk.agent.user_id, "tag", None, "urgent"),
        (desk.agent.user_id, "tag", "vip", None),
    ]
    events = [e for e in desk.events(ticket) if e.type == "ticket.tags_changed"]
    assert [(e.data["added"], e.data["removed"]) for e in events] == [
        (["refund", "vip"], []),
        (["urgent"], ["vip"]),
    ]
    assert events[-1].data["ticket"]["tags"] == ["refund", "urgent"]
    assert events[-1].actor_id == desk.agent.user_id


def test_a_change_that_changes_nothing_writes_nothing(desk: Desk) -> None:
    ticket = tag(desk, desk.agent, desk.open(department=desk.billing), "vip")
    before = desk.photo()
    again = tag(desk, desk.agent, ticket, "VIP", remove=("never-used",))
    assert again == ticket
    assert desk.photo() == before


def test_a_name_both_added_and_removed_is_removed(desk: Desk) -> None:
    ticket = tag(desk, desk.agent, desk.open(department=desk.billing), "vip")
    assert tag(desk, desk.agent, ticket, "vip", "new", remove=("VIP",)).tags == ("new",)


def test_customers_may_not_tag_and_outside_the_scope_there_is_no_ticket(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    with desk.refuses(PermissionDenied, match="only staff may tag tickets"):
        desk.tickets.change_tags(desk.ann, ticket.id, ChangeTags(("vip",)))
    with desk.refuses(NotFound, match="no such ticket"):
        desk.tickets.change_tags(desk.tech_agent, ticket.id, ChangeTags(("vip",)))


def test_a_bad_name_is_refused_naming_it_and_changes_nothing(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    for names, field in ((("ok", "  "), "add.1"), (("x" * 51,), "add.0"), (("a\nb",), "add.0")):
        with desk.refuses(Exception, field):
            desk.tickets.change_tags(desk.agent, ticket.id, ChangeTags(names))


def test_a_stale_version_is_refused(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    tag(desk, desk.agent, ticket, "vip")
    with desk.refuses(StaleVersion, match="changed since version 1"):
        desk.tickets.change_tags(desk.agent, ticket.id, ChangeTags(("other",)), ticket.version)


def test_a_ticket_carries_at_most_fifty_tags(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    ticket = tag(desk, desk.agent, ticket, *(f"t{i}" for i in range(TAGS_PER_TICKET_MAX)))
    with desk.refuses(Exception, "add", match="at most 50 tags"):
        desk.tickets.change_tags(desk.agent, ticket.id, ChangeTags(("one more",)))


def test_agents_make_new_tags_only_when_the_policy_lets_them(desk: Desk) -> None:
    ticket = desk.open(department=desk.billing)
    tag(desk, desk.lead, ticket, "known")
    tickets: Any = desk.tickets
    tickets._policy = attrs.evolve(tickets._policy, agents_create_tags=False)
    with desk.refuses(Exception, "add.1", match="no tag is named 'brand new'"):
        desk.tickets.change_tags(desk.agent, ticket.id, ChangeTags(("KNOWN", "brand new")))
    assert tag(desk, desk.agent, desk.open(department=desk.billing), "Known").tags == ("known",)
    assert tag(desk, desk.lead, ticket, "brand new").tags == ("brand new", "known")


# ---------------------------------------------------------------- the staff list


def test_the_staff_list_keeps_the_tickets_carrying_every_tag_asked_for(desk: Desk) -> None:
    both = tag(desk, desk.agent, desk.open(department=desk.billing), "vip", "refund")
    vip = tag(desk, desk.agent, desk.open(department=desk.billing), "vip")
    desk.open(department=desk.billing)
    assert {t.id for t in desk.listed(desk.agent, tags=("VIP",))} == {both.id, vip.id}
    assert [t.id for t in desk.listed(desk.agent, tags=("vip", " Refund"))] == [both.id]
    assert desk.listed(desk.agent, tags=("vip", "never used")) == []
    with pytest.raises(PermissionDenied):
        desk.listed(desk.ann, tags=("vip",))


# ---------------------------------------------------------------- rename and merge


def rename(desk: Desk, name: str, new: str, merge: bool = False) -> Any:
    tags = desk.services.tags
    current = tags.get(desk.admin, tag_id(desk, name))
    return tags.rename(desk.admin, current.tag.id, current.tag.version, RenameTag(new, merge))


def test_a_rename_shows_on_every_ticket_without_changing_its_version(desk: Desk) -> None:
    ticket = tag(desk, desk.agent, desk.open(department=desk.billing), "vip", "refund")
    renamed = rename(desk, "vip", "Very important")
    assert (renamed.tag.name, renamed.tag.version, renamed.tickets) == ("Very important", 2, 1)
    now = desk.current(ticket)
    assert (now.tags, now.version) == (("refund", "Very important"), ticket.version)
    assert rename(desk, "Very important", "VERY important").tag.name == "VERY important"


def test_a_rename_onto_a_taken_name_is_a_conflict_unless_it_merges(desk: Desk) -> None:
    one = tag(desk, desk.agent, desk.open(department=desk.billing), "vip", "gold")
    two = tag(desk, desk.agent, desk.open(department=desk.billing), "gold")
    three = tag(desk, desk.agent, desk.open(department=desk.billing), "vip")
    with desk.refuses(Conflict, match="a tag named 'vip' already exists: send merge"):
        rename(desk, "gold", "VIP")
    merged = rename(desk, "gold", "VIP", merge=True)
    assert (merged.tag.name, merged.tickets) == ("vip", 3)
    assert vocabulary(desk) == {"vip": 3}
    assert [desk.current(t).tags for t in (one, two, three)] == [("vip",), ("vip",), ("vip",)]
    assert {t.id for t in desk.listed(desk.agent, tags=("vip",))} == {one.id, two.id, three.id}


def test_only_administrators_rename_and_a_rename_names_its_version(desk: Desk) -> None:
    tag(desk, desk.agent, desk.open(department=desk.billing), "vip")
    tags, vip = desk.services.tags, tag_id(desk, "vip")
    with desk.refuses(PermissionDenied):
        tags.rename(desk.lead, vip, 1, RenameTag("x"))
    with desk.refuses(PreconditionRequired):
        tags.rename(desk.admin, vip, None, RenameTag("x"))
    with desk.refuses(StaleVersion):
        tags.rename(desk.admin, vip, 2, RenameTag("x"))
    with desk.refuses(NotFound):
        tags.rename(desk.admin, uuid.uuid4(), 1, RenameTag("x"))
    with desk.refuses(PermissionDenied):
        tags.list(desk.ann)
    assert tags.rename(SYSTEM_OPERATOR, vip, 1, RenameTag("V")).tag.name == "V"


def test_merge_moves_every_ticket_onto_the_other_tag(desk: Desk) -> None:
    one = tag(desk, desk.agent, desk.open(department=desk.billing), "gold")
    two = tag(desk, desk.agent, desk.open(department=desk.billing), "gold", "vip")
    merged = desk.services.tags.merge(desk.admin, tag_id(desk, "gold"), tag_id(desk, "vip"))
    assert (merged.tag.name, merged.tickets) == ("vip", 2)
    assert vocabulary(desk) == {"vip": 2}
    assert [desk.current(t).tags for t in (one, two)] == [("vip",), ("vip",)]
    with desk.refuses(Exception, "into"):
        desk.services.tags.merge(desk.admin, tag_id(desk, "vip"), tag_id(desk, "vip"))


def test_the_vocabulary_lists_by_prefix_with_counts(desk: Desk) -> None:
    tag(desk, desk.agent, desk.open(department=desk.billing), "Refund", "return", "vip")
    found = desk.services.tags.list(desk.agent, "RE")
    assert [(c.tag.name, c.tickets) for c in found] == [("Refund", 1), ("return", 1)]


def test_a_prefix_no_store_can_hold_is_refused(desk: Desk) -> None:
    with desk.refuses(Exception, "q", match="NUL"):
        desk.services.tags.list(desk.agent, "a\x00b")
