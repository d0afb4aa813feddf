"""Steps for features/tickets, over the real HTTP app.

The scene (the helpdesk, its people, departments and teams) is the one of steps_identity;
this module adds what the ticket stories establish: the tickets by subject, the version of
each ticket each staff member last looked at, and the batches of tickets opened at once.
Customers talk through the customer routes, staff through the staff routes, as clients do;
"the ticket ... is ..." is checked through the administrator, who sees every ticket.
"""

from __future__ import annotations

from typing import Any

import attrs
import falcon.testing
import pytest
from pytest_bdd import given, parsers, then, when

from tests.bdd.steps_identity import ADMINISTRATOR, Scene, _names, _problem, add_staff

STAFF_ROLES = frozenset({"agent", "lead", "admin"})


@attrs.define
class Tickets:
    """What the ticket stories have established so far."""

    ids: dict[str, str] = attrs.Factory(dict)  # subject -> ticket id
    seen: dict[tuple[str, str], str] = attrs.Factory(dict)  # (person, subject) -> ETag
    roles: dict[str, str] = attrs.Factory(dict)  # person -> role, once asked
    batch: list[str] = attrs.Factory(list)  # the subjects of the last tickets opened at once


@pytest.fixture
def tickets() -> Tickets:
    return Tickets()


# ------------------------------------------------------------------ helpers


def _token(scene: Scene, name: str) -> str:
    """A session of ``name``'s, logging them in on their desk if they hold none yet."""
    person = scene.person(name)
    if not person.sessions:
        scene.session(person, "desk")
    return next(iter(person.sessions.values()))


def _role(scene: Scene, tickets: Tickets, name: str) -> str:
    if name not in tickets.roles:
        me = scene.call("GET", "/me", _token(scene, name))
        assert me.status_code == 200, me.text
        tickets.roles[name] = me.json["role"]
    return tickets.roles[name]


def _is_staff(scene: Scene, tickets: Tickets, name: str) -> bool:
    return _role(scene, tickets, name) in STAFF_ROLES


def _ok(answer: falcon.testing.Result, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json


def _as_admin(scene: Scene, tickets: Tickets, subject: str) -> dict[str, Any]:
    """The ticket as the administrator sees it (every ticket, internal notes included)."""
    detail: dict[str, Any] = _ok(scene.as_admin("GET", f"/staff/tickets/{tickets.ids[subject]}"))
    return detail


def _open(scene: Scene, tickets: Tickets, name: str, subject: str, department: str) -> None:
    body = {
        "subject": subject,
        "description": f"{subject}: please help.",
        "department_id": scene.departments[department],
    }
    ticket = _ok(scene.call("POST", "/tickets", _token(scene, name), json=body), 201)
    tickets.ids[subject] = ticket["id"]


def _reply(
    scene: Scene, tickets: Tickets, name: str, text: str, subject: str, internal: bool = False
) -> falcon.testing.Result:
    ticket_id = tickets.ids[subject]
    if _is_staff(scene, tickets, name):
        body = {"body": text, "visibility": "internal" if internal else "public"}
        path = f"/staff/tickets/{ticket_id}/messages"
    else:
        body, path = {"body": text}, f"/tickets/{ticket_id}/messages"
    return scene.call("POST", path, _token(scene, name), json=body)


def _look(scene: Scene, tickets: Tickets, name: str, subject: str) -> dict[str, Any]:
    answer = scene.call("GET", f"/staff/tickets/{tickets.ids[subject]}", _token(scene, name))
    detail: dict[str, Any] = _ok(answer)
    tickets.seen[(name, subject)] = answer.headers["etag"]
    return detail


def _change(
    scene: Scene, tickets: Tickets, name: str, subject: str, change: dict[str, Any]
) -> falcon.testing.Result:
    """Change the version of the ticket ``name`` last looked at; on success they see the
    new version."""
    answer = scene.client.simulate_patch(
        f"/api/v1/staff/tickets/{tickets.ids[subject]}",
        json=change,
        headers={
            "Authorization": f"Bearer {_token(scene, name)}",
            "If-Match": tickets.seen[(name, subject)],
        },
    )
    scene.answers.append(answer)
    if answer.status_code == 200:
        tickets.seen[(name, subject)] = answer.headers["etag"]
    return answer


def _assign(
    scene: Scene, tickets: Tickets, name: str, subject: str, body: dict[str, Any]
) -> falcon.testing.Result:
    path = f"/staff/tickets/{tickets.ids[subject]}/assign"
    return scene.call("POST", path, _token(scene, name), json=body)


def _visible_to(scene: Scene, name: str, path: str) -> falcon.testing.Result:
    return scene.call("GET", path, _token(scene, name))


# ------------------------------------------------------------------ the cast


@given(parsers.parse('{name} is an agent in the team "{team}" of "{department}"'))
def agent_in_team(scene: Scene, name: str, team: str, department: str) -> None:
    add_staff(scene, ADMINISTRATOR, name, "agent", department, team)


@given(parsers.parse('"{department}" assigns new tickets automatically'))
def auto_assigning(scene: Scene, department: str) -> None:
    answer = scene.as_admin(
        "PATCH", f"/admin/departments/{scene.departments[department]}", json={"auto_assign": True}
    )
    assert _ok(answer)["auto_assign"] is True


# ------------------------------------------------------------------ opening


@given(parsers.parse('{name} has opened a ticket "{subject}" for "{department}"'))
@when(parsers.parse('{name} opens a ticket "{subject}" for "{department}"'))
def opens(scene: Scene, tickets: Tickets, name: str, subject: str, department: str) -> None:
    _open(scene, tickets, name, subject, department)


@given(parsers.parse('{name} has opened {count:d} tickets for "{department}"'))
@when(parsers.parse('{name} opens {count:d} tickets for "{department}"'))
def opens_many(scene: Scene, tickets: Tickets, name: str, count: int, department: str) -> None:
    tickets.batch = [f"Question {n} from {name}" for n in range(1, count + 1)]
    for subject in tickets.batch:
        _open(scene, tickets, name, subject, department)


@then(parsers.parse('{name}\'s tickets are "{subjects}"'))
def own_tickets(scene: Scene, name: str, subjects: str) -> None:
    listed = _ok(_visible_to(scene, name, "/tickets"))
    assert [t["subject"] for t in listed["items"]] == _names(subjects)


@then(parsers.parse("{name} has no tickets"))
def no_tickets(scene: Scene, name: str) -> None:
    assert _ok(_visible_to(scene, name, "/tickets"))["items"] == []


@given(parsers.parse('the ticket "{subject}" is {status:w}'))
@then(parsers.parse('the ticket "{subject}" is {status:w}'))
def ticket_status(scene: Scene, tickets: Tickets, subject: str, status: str) -> None:
    assert _as_admin(scene, tickets, subject)["status"] == status


@then(parsers.parse('the ticket "{subject}" has the priority "{priority}"'))
def ticket_priority(scene: Scene, tickets: Tickets, subject: str, priority: str) -> None:
    assert _as_admin(scene, tickets, subject)["priority"] == priority


# ------------------------------------------------------------------ the conversation


@given(parsers.parse('{name} has replied "{text}" to "{subject}"'))
@when(parsers.parse('{name} replies "{text}" to "{subject}"'))
def replies(scene: Scene, tickets: Tickets, name: str, text: str, subject: str) -> None:
    _ok(_reply(scene, tickets, name, text, subject), 201)


@when(parsers.parse('{name} tries to reply "{text}" to "{subject}"'))
def tries_to_reply(scene: Scene, tickets: Tickets, name: str, text: str, subject: str) -> None:
    _reply(scene, tickets, name, text, subject)


@then(parsers.parse("{name} is told to reopen the ticket first"))
def told_to_reopen(scene: Scene, name: str) -> None:
    body = _problem(scene.last, 409)
    assert "reopen" in body["detail"], body


@when(parsers.parse('{name} leaves the internal note "{text}" on "{subject}"'))
def leaves_note(scene: Scene, tickets: Tickets, name: str, text: str, subject: str) -> None:
    _ok(_reply(scene, tickets, name, text, subject, internal=True), 201)


@given(parsers.parse('{name} has asked {customer} for the invoice number on "{subject}"'))
def asked_customer(scene: Scene, tickets: Tickets, name: str, customer: str, subject: str) -> None:
    question = f"{customer}, could you tell us the invoice number?"
    _ok(_reply(scene, tickets, name, question, subject), 201)
    _look(scene, tickets, name, subject)
    _ok(_change(scene, tickets, name, subject, {"status": "pending"}))


@then(parsers.parse('{name} reads this conversation on "{subject}":'))
def reads_conversation(
    scene: Scene, tickets: Tickets, name: str, subject: str, datatable: list[list[str]]
) -> None:
    ticket_id = tickets.ids[subject]
    expected = [tuple(row) for row in datatable[1:]]
    detail = _ok(_visible_to(scene, name, f"/tickets/{ticket_id}"))
    messages = _ok(_visible_to(scene, name, f"/tickets/{ticket_id}/messages"))["items"]
    for conversation in (detail["messages"], messages):
        assert [(m["author"]["display_name"], m["body"]) for m in conversation] == expected


@then(parsers.parse('nothing {name} can read mentions "{words}"'))
def nothing_mentions(scene: Scene, tickets: Tickets, name: str, words: str) -> None:
    paths = ["/tickets"]
    for ticket_id in tickets.ids.values():
        paths += [f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/messages"]
    for path in paths:
        answer = _visible_to(scene, name, path)
        assert answer.status_code in {200, 404}, answer.text
        assert words not in answer.text, path


@then(parsers.parse('{name} reads the internal note "{text}" on "{subject}"'))
def reads_note(scene: Scene, tickets: Tickets, name: str, text: str, subject: str) -> None:
    detail = _look(scene, tickets, name, subject)
    notes = [m["body"] for m in detail["messages"] if m["visibility"] == "internal"]
    assert notes == [text]


# ------------------------------------------------------------------ the lifecycle


@when(parsers.parse('{name} closes "{subject}"'))
def closes(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    path = f"/tickets/{tickets.ids[subject]}/close"
    _ok(scene.call("POST", path, _token(scene, name)))


@when(parsers.parse('{name} reopens "{subject}"'))
def reopens(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    path = f"/tickets/{tickets.ids[subject]}/reopen"
    _ok(scene.call("POST", path, _token(scene, name)))


@then(parsers.parse('{name} cannot find the ticket "{subject}"'))
def cannot_find(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    ticket_id = tickets.ids[subject]
    for path in (f"/tickets/{ticket_id}", f"/tickets/{ticket_id}/messages"):
        _problem(_visible_to(scene, name, path), 404)
    listed = _ok(_visible_to(scene, name, "/tickets"))["items"]
    assert ticket_id not in {t["id"] for t in listed}


def _by_number(scene: Scene, tickets: Tickets, name: str, number: int) -> falcon.testing.Result:
    """``name`` asks for ticket ``number`` as the tables show it: staff on the staff route."""
    prefix = "/staff" if _is_staff(scene, tickets, name) else ""
    return _visible_to(scene, name, f"{prefix}/tickets/by-number/{number}")


@then(parsers.parse('{name} finds the ticket "{subject}" by its number'))
def finds_by_number(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    number = _as_admin(scene, tickets, subject)["number"]
    found = _ok(_by_number(scene, tickets, name, number))
    assert (found["id"], found["number"], found["subject"]) == (
        tickets.ids[subject],
        number,
        subject,
    )


@then(parsers.parse('{name} cannot find the ticket "{subject}" by its number'))
def cannot_find_by_number(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    number = _as_admin(scene, tickets, subject)["number"]
    refused = _problem(_by_number(scene, tickets, name, number), 404)
    unknown = _problem(_by_number(scene, tickets, name, number + 1000), 404)
    assert refused["detail"] == unknown["detail"]  # as if the ticket did not exist


@then(parsers.parse('{name} cannot reply to the ticket "{subject}" either'))
def cannot_reply(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    before = _as_admin(scene, tickets, subject)
    _problem(_reply(scene, tickets, name, "Let me in.", subject), 404)
    assert _as_admin(scene, tickets, subject) == before


# ------------------------------------------------------------------ the queue


def _queue(scene: Scene, name: str, **params: str) -> list[str]:
    answer = scene.call("GET", "/staff/tickets", _token(scene, name), params=params or None)
    return [t["subject"] for t in _ok(answer)["items"]]


@then(parsers.parse('{name}\'s queue holds "{subjects}"'))
def queue_holds(scene: Scene, name: str, subjects: str) -> None:
    assert _queue(scene, name) == _names(subjects)


@then(parsers.parse('{name}\'s queue of {status:w} tickets holds "{subjects}"'))
def queue_by_status(scene: Scene, name: str, status: str, subjects: str) -> None:
    assert _queue(scene, name, status=status) == _names(subjects)


@then(parsers.parse('searching {name}\'s queue for "{words}" finds "{subjects}"'))
def search_finds(scene: Scene, name: str, words: str, subjects: str) -> None:
    assert _queue(scene, name, q=words) == _names(subjects)


@then(parsers.parse('searching {name}\'s queue for "{words}" finds nothing'))
def search_finds_nothing(scene: Scene, name: str, words: str) -> None:
    assert _queue(scene, name, q=words) == []


# ------------------------------------------------------------------ changes and history


@given(parsers.parse('{name} has looked at "{subject}"'))
def has_looked(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    _look(scene, tickets, name, subject)


@when(parsers.parse('{name} sets the {field:w} of "{subject}" to "{value}"'))
def sets(scene: Scene, tickets: Tickets, name: str, field: str, subject: str, value: str) -> None:
    _ok(_change(scene, tickets, name, subject, {field: value}))


@when(parsers.parse('{name} tries to set the {field:w} of "{subject}" to "{value}"'))
def tries_to_set(
    scene: Scene, tickets: Tickets, name: str, field: str, subject: str, value: str
) -> None:
    _change(scene, tickets, name, subject, {field: value})


@then(parsers.parse("{name} is told the ticket changed since {whose:w} looked at it"))
def told_stale(scene: Scene, name: str) -> None:
    body = _problem(scene.last, 412)
    assert "changed" in body["detail"], body


def _history(scene: Scene, tickets: Tickets, subject: str) -> list[dict[str, Any]]:
    path = f"/staff/tickets/{tickets.ids[subject]}/history"
    items: list[dict[str, Any]] = _ok(scene.as_admin("GET", path))["items"]
    return items


@then(parsers.parse('nothing {name} tried is in the history of "{subject}"'))
def nothing_in_history(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    person = scene.person(name)
    assert all((e["actor"] or {}).get("id") != person.id for e in _history(scene, tickets, subject))


@then(parsers.parse('the history of "{subject}" reads:'))
def history_reads(scene: Scene, tickets: Tickets, subject: str, datatable: list[list[str]]) -> None:
    def said(entry: dict[str, Any], which: str) -> str:
        """A value as the story tells it: people, teams and departments by the name the
        history names them with (``old_name``/``new_name``), messages by their kind."""
        value = entry[f"{which}_value"]
        if value is None:
            return ""
        if entry["field"] == "message":
            return {"internal": "internal note", "public": "reply"}[value.split(":")[0]]
        name: str | None = entry[f"{which}_name"]
        return name if name is not None else value

    told = [
        (e["actor"]["display_name"], e["field"], said(e, "old"), said(e, "new"))
        for e in _history(scene, tickets, subject)
    ]
    assert told == [tuple(row) for row in datatable[1:]]


# ------------------------------------------------------------------ assignment


@when(parsers.parse('{name} takes "{subject}"'))
def takes(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    _ok(_assign(scene, tickets, name, subject, {"mode": "self"}))


@when(parsers.parse('{name} assigns "{subject}" to {agent}'))
def assigns(scene: Scene, tickets: Tickets, name: str, subject: str, agent: str) -> None:
    body = {"mode": "agent", "agent_id": scene.person(agent).id}
    _ok(_assign(scene, tickets, name, subject, body))


@when(parsers.parse('{name} tries to assign "{subject}" to {agent}'))
def tries_to_assign(scene: Scene, tickets: Tickets, name: str, subject: str, agent: str) -> None:
    _assign(scene, tickets, name, subject, {"mode": "agent", "agent_id": scene.person(agent).id})


@then(parsers.parse("{name} is told only leads and administrators may do that"))
def only_leads(scene: Scene, name: str) -> None:
    body = _problem(scene.last, 403)
    assert "only leads and administrators" in body["detail"], body


@when(parsers.parse('{name} hands "{subject}" to the team "{team}"'))
def hands_to_team(scene: Scene, tickets: Tickets, name: str, subject: str, team: str) -> None:
    body = {"mode": "team", "team_id": scene.teams[team]}
    _ok(_assign(scene, tickets, name, subject, body))


@when(parsers.parse("{name} has those tickets assigned automatically"))
def assigned_automatically(scene: Scene, tickets: Tickets, name: str) -> None:
    for subject in tickets.batch:
        _ok(_assign(scene, tickets, name, subject, {"mode": "auto"}))


@then(parsers.parse('"{subject}" is assigned to {name}'))
def assigned_to(scene: Scene, tickets: Tickets, subject: str, name: str) -> None:
    assignee = _as_admin(scene, tickets, subject)["assignee"]
    if name == "nobody":
        assert assignee is None
    else:
        assert assignee is not None
        assert assignee["id"] == scene.person(name).id


@then(parsers.parse('"{subject}" is waiting in the team "{team}"'))
def in_team(scene: Scene, tickets: Tickets, subject: str, team: str) -> None:
    assert _as_admin(scene, tickets, subject)["team"] == {"id": scene.teams[team], "name": team}


@then("every one of those tickets is already assigned")
def all_assigned(scene: Scene, tickets: Tickets) -> None:
    assert all(_as_admin(scene, tickets, s)["assignee"] for s in tickets.batch)


def _assigned_count(scene: Scene, name: str) -> int:
    answer = scene.as_admin("GET", "/staff/tickets", params={"assignee_id": scene.person(name).id})
    return len(_ok(answer)["items"])


@then(parsers.parse("{names} are assigned {count:d} tickets each"))
def each_assigned(scene: Scene, names: str, count: int) -> None:
    people = [n.strip() for n in names.replace(" and ", ", ").split(",")]
    assert {n: _assigned_count(scene, n) for n in people} == dict.fromkeys(people, count)


@then(parsers.parse("{name} is assigned {count:d} tickets"))
def is_assigned(scene: Scene, name: str, count: int) -> None:
    assert _assigned_count(scene, name) == count


@then(parsers.parse("{name} is assigned no tickets"))
def is_assigned_none(scene: Scene, name: str) -> None:
    assert _assigned_count(scene, name) == 0


# ------------------------------------------------------------------ routing


def _route(scene: Scene, tickets: Tickets, name: str, subject: str, department: str | None) -> Any:
    department_id = scene.departments[department] if department else None
    return _change(scene, tickets, name, subject, {"department_id": department_id})


@when(parsers.parse('{name} moves "{subject}" to "{department}"'))
def moves(scene: Scene, tickets: Tickets, name: str, subject: str, department: str) -> None:
    _ok(_route(scene, tickets, name, subject, department))


@when(parsers.parse('{name} tries to move "{subject}" to "{department}"'))
def tries_to_move(scene: Scene, tickets: Tickets, name: str, subject: str, department: str) -> None:
    _route(scene, tickets, name, subject, department)


@when(parsers.parse('{name} unroutes "{subject}"'))
def unroutes(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    _ok(_route(scene, tickets, name, subject, None))


@when(parsers.parse('{name} tries to unroute "{subject}"'))
def tries_to_unroute(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    _route(scene, tickets, name, subject, None)


@then(parsers.parse('"{subject}" is in the department "{department}"'))
def in_department(scene: Scene, tickets: Tickets, subject: str, department: str) -> None:
    expected = {"id": scene.departments[department], "name": department}
    assert _as_admin(scene, tickets, subject)["department"] == expected


@then(parsers.parse('"{subject}" is in no department'))
def in_no_department(scene: Scene, tickets: Tickets, subject: str) -> None:
    assert _as_admin(scene, tickets, subject)["department"] is None
