"""Tags through the library, on every store: ``Acting`` puts them on tickets and lists,
renames and merges them, returning the read models whose ``helpdesk.document`` is the API's
document; the staff list filters by them. The rules are tested on the use case
(tests/unit/tickets/test_tags.py)."""

from __future__ import annotations

import pytest

import helpdesk
from helpdesk import (
    ChangeTags,
    Conflict,
    CreateDepartment,
    OpenTicket,
    PermissionDenied,
    RenameTag,
    StaffRole,
    TicketQuery,
)
from helpdesk_core.documents import tag_document


def test_staff_tag_tickets_and_administrators_rename_and_merge(desk: helpdesk.Helpdesk) -> None:
    support = desk.system.create_department(CreateDepartment("Support"))
    agent = desk.as_user(
        desk.ensure_staff("agent-1", "agent@example.com", "Agent", StaffRole.AGENT, support.id)
    )
    customer = desk.as_user(desk.ensure_customer("c-1", "ann@example.com", "Ann"))
    one = customer.open_ticket(OpenTicket("Refund", "Twice.", department_id=support.id)).ticket
    two = customer.open_ticket(OpenTicket("Refund", "Again.", department_id=support.id)).ticket

    tagged = agent.change_tags(one.id, ChangeTags(("VIP", "gold")))
    assert helpdesk.document(tagged)["tags"] == ["gold", "VIP"]
    agent.change_tags(two.id, ChangeTags(("Gold",)), version=two.version)
    listed = agent.list_tickets(TicketQuery(tags=("gold", "vip")))
    assert [view.ticket.id for view in listed.items] == [one.id]
    with pytest.raises(PermissionDenied):
        customer.list_tickets(TicketQuery(tags=("gold",)))

    tags = agent.list_tags()
    assert [(c.tag.name, c.tickets) for c in tags] == [("gold", 2), ("VIP", 1)]
    gold, vip = tags
    assert helpdesk.document(gold) == tag_document(gold)
    assert agent.get_tag(vip.tag.id) == vip
    with pytest.raises(PermissionDenied):
        agent.rename_tag(vip.tag.id, 1, RenameTag("V"))
    with pytest.raises(Conflict):
        desk.system.rename_tag(vip.tag.id, 1, RenameTag("GOLD"))
    merged = desk.system.rename_tag(vip.tag.id, 1, RenameTag("GOLD", merge=True))
    assert (merged.tag.id, merged.tickets) == (gold.tag.id, 2)
    assert agent.get_ticket(one.id).ticket.tags == ("gold",)
    renamed = desk.system.rename_tag(gold.tag.id, 1, RenameTag("Gold customer"))
    assert agent.get_ticket(two.id).ticket.tags == ("Gold customer",)
    other = agent.change_tags(two.id, ChangeTags(("other",)))
    assert other.ticket.tags == ("Gold customer", "other")
    (spare,) = agent.list_tags("oth")
    stays = desk.system.merge_tag(spare.tag.id, renamed.tag.id)
    assert (stays.tag.name, stays.tickets) == ("Gold customer", 2)
