"""Steps for features/identity/customer_accounts.feature, over the real HTTP app.

The scene and its people are those of steps_identity; tickets are opened with the steps of
steps_tickets. The administrator works through /api/v1/admin/customers.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, then, when

from tests.bdd.steps_identity import ADMINISTRATOR, Scene
from tests.bdd.steps_tickets import Tickets, _ok

CUSTOMERS = "/admin/customers"


def _customer_id(scene: Scene, name: str) -> str:
    person = scene.person(name)
    if person.id is None:  # not logged in yet: look the account up by email
        found = _ok(scene.as_admin("GET", CUSTOMERS, params={"email": person.email}))
        person.id = next(c["id"] for c in found["items"] if c["email"] == person.email)
    return person.id


@then(parsers.parse("{name} can still log in from the same address"))
def still_logs_in(scene: Scene, name: str) -> None:
    person = scene.person(name)
    answer = scene.log_in(person.email, person.password)
    assert answer.status_code == 200, answer.text


@when(parsers.parse("the administrator unlocks {name}'s account"))
def unlocks(scene: Scene, name: str) -> None:
    answer = scene.as_admin("POST", f"{CUSTOMERS}/{_customer_id(scene, name)}/unlock")
    assert answer.status_code == 204, answer.text


@then(parsers.parse("{name} can log in again"))
def logs_in_again(scene: Scene, name: str) -> None:
    scene.session(scene.person(name), "again")


@when(parsers.parse('the administrator looks for customers whose email contains "{text}"'))
def looks_for(scene: Scene, text: str) -> None:
    answer = scene.as_admin("GET", CUSTOMERS, params={"email": text})
    assert answer.status_code == 200, answer.text


@then(parsers.parse("the administrator finds {first} and {second}"))
def finds(scene: Scene, first: str, second: str) -> None:
    found = [c["email"] for c in scene.last.json["items"]]
    assert found == [scene.person(first).email, scene.person(second).email]


@then("no staff member is among the customers")
def no_staff(scene: Scene) -> None:
    everyone = _ok(scene.as_admin("GET", CUSTOMERS, params={"limit": "100"}))["items"]
    assert scene.person(ADMINISTRATOR).email not in {c["email"] for c in everyone}


@when(parsers.parse("the administrator deactivates {name}'s customer account"))
def deactivates_customer(scene: Scene, name: str) -> None:
    path = f"{CUSTOMERS}/{_customer_id(scene, name)}"
    assert _ok(scene.as_admin("PATCH", path, json={"active": False}))["active"] is False


@when(parsers.parse("the administrator reactivates {name}'s customer account"))
def reactivates_customer(scene: Scene, name: str) -> None:
    path = f"{CUSTOMERS}/{_customer_id(scene, name)}"
    assert _ok(scene.as_admin("PATCH", path, json={"active": True}))["active"] is True


@when(parsers.parse("the administrator erases {name}'s personal data"))
def erases(scene: Scene, name: str) -> None:
    erased = _ok(scene.as_admin("POST", f"{CUSTOMERS}/{_customer_id(scene, name)}/erase"))
    assert erased["erased"] is True


@then(parsers.parse("nobody can find {name}'s name or email address any more"))
def nothing_left(scene: Scene, name: str) -> None:
    person = scene.person(name)
    everyone = _ok(scene.as_admin("GET", CUSTOMERS, params={"limit": "100"}))["items"]
    shown = " ".join(f"{c['email']} {c['display_name']}" for c in everyone)
    assert person.email not in shown
    assert person.name not in shown
    one = _ok(scene.as_admin("GET", f"{CUSTOMERS}/{person.id}"))
    assert (one["display_name"], one["active"]) == ("Erased customer", False)


@then(parsers.parse('the ticket "{subject}" can still be read, from an erased customer'))
def ticket_readable(scene: Scene, tickets: Tickets, subject: str) -> None:
    detail = _ok(scene.as_admin("GET", f"/staff/tickets/{tickets.ids[subject]}"))
    assert detail["subject"] == subject
    assert detail["requester"]["display_name"] == "Erased customer"


@then(parsers.parse('the history of "{subject}" records the erasure'))
def history_records(scene: Scene, tickets: Tickets, subject: str) -> None:
    path = f"/staff/tickets/{tickets.ids[subject]}/history"
    last = _ok(scene.as_admin("GET", path))["items"][-1]
    assert (last["field"], last["old_value"], last["new_value"]) == ("requester", None, "erased")
    assert last["actor"]["display_name"] == scene.person(ADMINISTRATOR).name


@then(parsers.parse('a "{event_type}" event is recorded, without {name}\'s name or email address'))
def event_recorded(scene: Scene, event_type: str, name: str) -> None:
    person = scene.person(name)
    outbox: dict[Any, Any] = scene.services.uow.state.outbox  # type: ignore[attr-defined]
    events = [r.entry.event for r in outbox.values() if r.entry.event.type == event_type]
    assert len(events) == 1
    payload = repr(events[0].data)
    assert person.email not in payload
    assert person.name not in payload
