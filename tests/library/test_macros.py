"""Macros through the library, on every store: ``Acting`` saves, lists, reads, changes and
deactivates them, returning the ``Macro`` whose ``helpdesk.document`` is the API's document.
The rules are tested on the use case (tests/unit/test_usecases_macros.py)."""

from __future__ import annotations

import pytest

import helpdesk
from helpdesk import (
    CreateDepartment,
    CreateMacro,
    MacroScope,
    NotFound,
    PermissionDenied,
    StaffRole,
    StaleVersion,
    UpdateMacro,
    ValidationFailed,
)
from helpdesk_core.documents import macro_document


def test_staff_save_and_manage_macros(desk: helpdesk.Helpdesk) -> None:
    support = desk.system.create_department(CreateDepartment("Support"))
    agent = desk.as_user(
        desk.ensure_staff("agent-1", "agent@example.com", "Agent", StaffRole.AGENT, support.id)
    )
    lead = desk.as_user(
        desk.ensure_staff("lead-1", "lead@example.com", "Lead", StaffRole.LEAD, support.id)
    )
    actions = [{"action": "add_tags", "value": ["refund"]}, {"action": "assign_to_me"}]
    mine = agent.create_macro(CreateMacro("Mine", actions))
    assert (mine.scope, mine.owner_id, mine.version) == (MacroScope.PERSONAL, agent.user_id, 1)
    document = helpdesk.document(mine)
    assert document == macro_document(mine)
    assert document["actions"] == [
        {"action": "add_tags", "value": ["refund"]},
        {"action": "assign_to_me", "value": None},
    ]
    theirs = lead.create_macro(CreateMacro("department's", actions, MacroScope.DEPARTMENT))
    assert theirs.department_id == support.id
    with pytest.raises(PermissionDenied):
        agent.create_macro(CreateMacro("All", actions, MacroScope.EVERYONE))
    with pytest.raises(ValidationFailed) as failed:
        agent.create_macro(CreateMacro("Bad", [*actions, {"action": "set_status", "value": 1}]))
    assert [e.field for e in failed.value.errors] == ["actions.2.value"]

    assert [m.name for m in agent.list_macros()] == ["department's", "Mine"]
    assert lead.list_macros() == [theirs]
    assert agent.get_macro(theirs.id) == theirs
    with pytest.raises(NotFound):
        lead.get_macro(mine.id)

    with pytest.raises(StaleVersion):
        agent.update_macro(mine.id, 5, UpdateMacro(name="Renamed"))
    renamed = agent.update_macro(mine.id, 1, UpdateMacro(name="Renamed"))
    assert (renamed.name, renamed.version, renamed.steps) == ("Renamed", 2, mine.steps)
    with pytest.raises(PermissionDenied):
        agent.deactivate_macro(theirs.id)
    gone = lead.deactivate_macro(theirs.id, version=1)
    assert (gone.is_active, gone.version) == (False, 2)
    assert agent.list_macros() == [renamed]
    with pytest.raises(NotFound):
        agent.get_macro(theirs.id)
