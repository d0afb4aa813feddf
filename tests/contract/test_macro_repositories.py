"""The macros' repository on every store: memory, SQLite, PostgreSQL.

A macro is stored with the holder its scope names and its steps as the API writes them, and
read back equal, every kind of action included; lists answer every macro, active or not, by
id; an update names the version it read and never touches the scope, the holder or the
creation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from helpdesk_core.domain.entities import Department, User
from helpdesk_core.domain.errors import Conflict, StaleVersion
from helpdesk_core.domain.macros import Macro, MacroScope, parse_steps
from helpdesk_core.ports.uow import UnitOfWork
from tests.contract.test_repositories import add_all, make_department, make_user

T0 = datetime(2026, 3, 2, 8, 30, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
IDS = [str(uuid.uuid4()) for _ in range(5)]
# One step of every action, as a client sends them.
EVERY_ACTION: list[dict[str, Any]] = [
    {"action": "set_status", "value": "pending"},
    {"action": "set_priority", "value": "urgent"},
    {"action": "set_department", "value": IDS[0]},
    {"action": "set_team", "value": IDS[1]},
    {"action": "set_team", "value": None},
    {"action": "assign_to_me"},
    {"action": "assign_agent", "value": IDS[2]},
    {"action": "assign_team", "value": IDS[3]},
    {"action": "unassign", "value": None},
    {"action": "add_tags", "value": ["Refund", " VIP  customer "]},
    {"action": "remove_tags", "value": ["waiting"]},
    {"action": "add_note", "value": "Ünïcode ✓ — refund sent for #{{ ticket.number }}"},
    {
        "action": "reply",
        "value": 'Hi {{ customer.first_name | default("there") }},\n\nit is on its way.',
    },
    {"action": "reply_canned", "value": IDS[4]},
    {"action": "follow"},
    {"action": "unfollow"},
]


@attrs.frozen
class Org:
    ann: User
    bob: User
    sales: Department


@pytest.fixture
def org(uow: UnitOfWork) -> Org:
    made = Org(make_user(), make_user(), make_department("Sales"))
    add_all(uow, made.ann, made.bob, made.sales)
    return made


def macro(
    scope: MacroScope = MacroScope.EVERYONE,
    name: str = "Refund",
    actions: list[dict[str, Any]] | None = None,
    **changes: Any,
) -> Macro:
    return Macro(
        id=changes.pop("id", uuid.uuid4()),
        name=name,
        scope=scope,
        steps=parse_steps(actions or [{"action": "set_status", "value": "resolved"}]),
        created_at=changes.pop("created_at", T0),
        updated_at=changes.pop("updated_at", T0),
        **changes,
    )


def store(uow: UnitOfWork, *macros: Macro) -> None:
    with uow.begin() as tx:
        for each in macros:
            tx.macros.add(each)
        tx.commit()


def stored(uow: UnitOfWork, macro_id: uuid.UUID) -> Macro | None:
    with uow.begin(read_only=True) as tx:
        return tx.macros.get(macro_id)


def listed(uow: UnitOfWork) -> list[Macro]:
    with uow.begin(read_only=True) as tx:
        return list(tx.macros.list())


# ---------------------------------------------------------------- round trip


def test_every_action_and_scope_round_trips(uow: UnitOfWork, org: Org) -> None:
    made = [
        macro(
            MacroScope.PERSONAL,
            "Mine",
            EVERY_ACTION,
            owner_id=org.ann.id,
            created_by=org.ann.id,
            created_at=datetime(2026, 3, 2, 10, 30, 0, 654321, tzinfo=PLUS_TWO),
            updated_at=T0 + timedelta(days=1, microseconds=7),
            is_active=False,
            version=4,
        ),
        macro(MacroScope.DEPARTMENT, "Sales'", department_id=org.sales.id),
        macro(MacroScope.EVERYONE, "Everyone's"),
    ]
    store(uow, *made)
    for each in made:
        loaded = stored(uow, each.id)
        assert loaded == each
        assert loaded is not None
        assert loaded.created_at.utcoffset() == loaded.updated_at.utcoffset() == timedelta(0)
    mine = stored(uow, made[0].id)
    assert mine is not None
    assert mine.created_at == datetime(2026, 3, 2, 8, 30, 0, 654321, tzinfo=UTC)
    assert [step.as_json() for step in mine.steps] == [
        {"action": a["action"], "value": a.get("value")} for a in EVERY_ACTION[:9]
    ] + [
        {"action": "add_tags", "value": ["Refund", "VIP customer"]},
        *({"action": a["action"], "value": a.get("value")} for a in EVERY_ACTION[10:]),
    ]


def test_unknown_macros_are_none_and_an_empty_store_lists_none(uow: UnitOfWork) -> None:
    with uow.begin(read_only=True) as tx:
        assert tx.macros.get(uuid.uuid4()) is None
        assert list(tx.macros.list()) == []


@pytest.mark.parametrize(
    ("scope", "change", "message"),
    [
        (MacroScope.PERSONAL, {"owner_id": uuid.uuid4()}, "no such user"),
        (MacroScope.DEPARTMENT, {"department_id": uuid.uuid4()}, "no such department"),
        (MacroScope.EVERYONE, {"created_by": uuid.uuid4()}, "no such user"),
    ],
)
def test_a_macro_of_nobody_is_refused_and_the_transaction_goes_on(
    uow: UnitOfWork, org: Org, scope: MacroScope, change: dict[str, Any], message: str
) -> None:
    kept = macro(name="Kept")
    with uow.begin() as tx:
        with pytest.raises(Conflict, match=message):
            tx.macros.add(macro(scope, **change))
        tx.macros.add(kept)
        tx.commit()
    assert listed(uow) == [kept]


def test_an_id_is_stored_once(uow: UnitOfWork, org: Org) -> None:
    first = macro()
    store(uow, first)
    with uow.begin() as tx, pytest.raises(Conflict, match="a macro with this id already exists"):
        tx.macros.add(attrs.evolve(first, name="Another"))
    assert listed(uow) == [first]


def test_a_list_answers_every_macro_active_or_not_by_id(uow: UnitOfWork, org: Org) -> None:
    ids = sorted(uuid.uuid4() for _ in range(4))
    made = [
        macro(MacroScope.EVERYONE, "b", id=ids[2]),
        macro(MacroScope.PERSONAL, "a", id=ids[0], owner_id=org.bob.id),
        macro(MacroScope.DEPARTMENT, "c", id=ids[3], department_id=org.sales.id),
        macro(MacroScope.EVERYONE, "retired", id=ids[1], is_active=False),
    ]
    store(uow, *made)
    assert [m.id for m in listed(uow)] == ids
    assert sorted(listed(uow), key=lambda m: m.id) == sorted(made, key=lambda m: m.id)


def test_a_rolled_back_macro_is_not_stored(uow: UnitOfWork, org: Org) -> None:
    dropped = macro()
    with uow.begin() as tx:
        tx.macros.add(dropped)
    assert stored(uow, dropped.id) is None


# ---------------------------------------------------------------- updates


def test_an_update_changes_name_steps_and_state_and_keeps_the_scope_and_creation(
    uow: UnitOfWork, org: Org
) -> None:
    original = macro(MacroScope.PERSONAL, owner_id=org.ann.id, created_by=org.ann.id)
    store(uow, original)
    changed = attrs.evolve(
        original,
        name="Refund sent",
        steps=parse_steps([{"action": "add_tags", "value": ["refund"]}, {"action": "follow"}]),
        is_active=False,
        updated_at=T0 + timedelta(hours=1),
        version=2,
    )
    # Whatever else it carries, an update writes only what an editor changes.
    sneaky = attrs.evolve(changed, created_by=org.bob.id, created_at=T0 + timedelta(days=3))
    with uow.begin() as tx:
        tx.macros.update(sneaky)
        tx.commit()
    assert stored(uow, original.id) == changed


def test_an_update_of_a_version_no_longer_stored_is_stale_and_changes_nothing(
    uow: UnitOfWork, org: Org
) -> None:
    original = macro()
    store(uow, original)
    first = attrs.evolve(original, name="First", version=2)
    with uow.begin() as tx:
        tx.macros.update(first)
        tx.commit()
    with uow.begin() as tx, pytest.raises(StaleVersion):
        tx.macros.update(attrs.evolve(original, name="Second", version=2))
    with uow.begin() as tx, pytest.raises(StaleVersion):
        tx.macros.update(attrs.evolve(first, id=uuid.uuid4(), version=2))
    assert stored(uow, original.id) == first
