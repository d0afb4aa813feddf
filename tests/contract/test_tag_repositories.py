"""Tags on every store: one tag per key (a second add of a key answers the first tag), the
tags of a ticket and the names it shows, counts, rename (a taken key is Conflict, a stale
version StaleVersion) and merge, each showing on the tickets at once; and the ticket list's
``tags`` filter (every tag asked for, by the names the tickets show)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.tags import Tag, shown
from helpdesk_core.ports.tickets import TicketQuery
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_ticket_repositories import (
    PLUS_TWO,
    T0,
    Org,
    open_ticket,
    org,
    services,
    uow,
)

__all__ = ["org", "services", "uow"]  # the fixtures this module's tests take


def new_tag(name: str) -> Tag:
    return Tag(id=uuid.uuid4(), name=name, created_at=T0, updated_at=T0.astimezone(PLUS_TWO))


def add(uow: UnitOfWork, *names: str) -> list[Tag]:
    with uow.begin() as tx:
        tags = [tx.tags.add(new_tag(name)) for name in names]
        tx.commit()
    return tags


def put_on(uow: UnitOfWork, ticket_id: uuid.UUID, *tags: Tag) -> None:
    """The tags on the ticket, and its names, as the tagging use case writes them."""
    with uow.begin() as tx:
        tx.tags.attach(ticket_id, [t.id for t in tags], T0)
        tx.tickets.set_tags(ticket_id, shown(tx.tags.of_ticket(ticket_id)))
        tx.commit()


def names_of(uow: UnitOfWork, ticket_id: uuid.UUID) -> tuple[str, ...]:
    with uow.begin(read_only=True) as tx:
        view = tx.tickets.get(ticket_id)
    assert view is not None
    return view.ticket.tags


def test_a_key_is_one_tag_and_a_tag_reads_back_in_utc(uow: UnitOfWork) -> None:
    (vip,) = add(uow, "VIP")
    with uow.begin() as tx:
        again = tx.tags.add(new_tag("vip"))
        tx.commit()
    assert again == vip
    assert (vip.name, vip.version, vip.updated_at) == ("VIP", 1, T0)
    with uow.begin(read_only=True) as tx:
        assert tx.tags.get(vip.id) == vip
        assert tx.tags.get(uuid.uuid4()) is None
        assert tx.tags.by_keys({"vip", "other"}) == {"vip": vip}
        assert tx.tags.by_keys(set()) == {}


def test_a_new_ticket_carries_no_tag_and_an_update_keeps_its_names(
    uow: UnitOfWork, org: Org
) -> None:
    ticket = open_ticket(uow, org.carl)
    assert names_of(uow, ticket.id) == ()
    vip, gold = add(uow, "vip", "Gold")
    put_on(uow, ticket.id, vip, gold)
    assert names_of(uow, ticket.id) == ("Gold", "vip")
    with uow.begin() as tx:
        tx.tickets.update(ticket.changed(T0 + timedelta(minutes=1), tags=("ignored",)))
        tx.commit()
    assert names_of(uow, ticket.id) == ("Gold", "vip")
    with uow.begin(read_only=True) as tx:
        assert [t.name for t in tx.tags.of_ticket(ticket.id)] == ["Gold", "vip"]


def test_attach_twice_detach_and_counts_in_key_order(uow: UnitOfWork, org: Org) -> None:
    one, two = open_ticket(uow, org.carl), open_ticket(uow, org.dora)
    zeta, alpha, beta = add(uow, "zeta", "Alpha", "beta")
    put_on(uow, one.id, zeta, alpha)
    put_on(uow, one.id, zeta)
    put_on(uow, two.id, zeta)
    with uow.begin(read_only=True) as tx:
        listed = [(c.tag.name, c.tickets) for c in tx.tags.list()]
        assert listed == [("Alpha", 1), ("beta", 0), ("zeta", 2)]
        assert [c.tag.name for c in tx.tags.list("Be")] == ["beta"]
        assert tx.tags.carried(zeta.id) == 2
    with uow.begin() as tx:
        tx.tags.detach(one.id, [zeta.id, beta.id])
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert [t.name for t in tx.tags.of_ticket(one.id)] == ["Alpha"]
        assert tx.tags.carried(zeta.id) == 1


def test_a_rename_shows_on_the_tickets_and_a_taken_key_or_stale_version_is_refused(
    uow: UnitOfWork, org: Org
) -> None:
    ticket = open_ticket(uow, org.carl)
    vip, gold = add(uow, "vip", "gold")
    put_on(uow, ticket.id, vip, gold)
    renamed = Tag(vip.id, "Very important", vip.created_at, T0 + timedelta(hours=1), 2)
    with uow.begin() as tx:
        tx.tags.rename(renamed)
        tx.commit()
    assert names_of(uow, ticket.id) == ("gold", "Very important")
    with uow.begin() as tx, pytest.raises(Conflict, match="a tag named 'gold' already exists"):
        tx.tags.rename(Tag(vip.id, "GOLD", T0, T0, 3))
    with uow.begin() as tx, pytest.raises(StaleVersion):
        tx.tags.rename(Tag(vip.id, "Other", T0, T0, 2))
    with uow.begin(read_only=True) as tx:
        assert tx.tags.get(vip.id) == renamed


def test_a_merge_moves_the_tickets_and_takes_the_tag_away(uow: UnitOfWork, org: Org) -> None:
    one, two, three = (open_ticket(uow, org.carl) for _ in range(3))
    gold, vip = add(uow, "gold", "vip")
    put_on(uow, one.id, gold)
    put_on(uow, two.id, gold, vip)
    put_on(uow, three.id, vip)
    with uow.begin() as tx, pytest.raises(StaleVersion):
        tx.tags.merge(Tag(gold.id, gold.name, T0, T0, 2), vip)
    with uow.begin() as tx:
        assert tx.tags.merge(gold, vip) == 2
        tx.commit()
    with uow.begin(read_only=True) as tx:
        assert tx.tags.get(gold.id) is None
        assert [(c.tag.name, c.tickets) for c in tx.tags.list()] == [("vip", 3)]
    assert [names_of(uow, t.id) for t in (one, two, three)] == [("vip",), ("vip",), ("vip",)]


def test_the_list_keeps_the_tickets_carrying_every_tag(uow: UnitOfWork, org: Org) -> None:
    both, vip_only, none = (open_ticket(uow, org.carl) for _ in range(3))
    vip, gold = add(uow, "vip", "gold")
    put_on(uow, both.id, vip, gold)
    put_on(uow, vip_only.id, vip)
    with uow.begin(read_only=True) as tx:

        def listed(*tags: Tag) -> set[uuid.UUID]:
            page = tx.tickets.list(TicketQuery(tags=tuple(t.name for t in tags)))
            return {view.ticket.id for view in page.items}

        assert listed(vip) == {both.id, vip_only.id}
        assert listed(vip, gold) == {both.id}
        assert listed() == {both.id, vip_only.id, none.id}
        assert [v.ticket.tags for v in tx.tickets.list(TicketQuery(tags=(gold.name,))).items] == [
            ("gold", "vip")
        ]
