"""Steps for features/productivity/followers.feature, over the real HTTP app.

The scene is the one of steps_identity, the tickets those of steps_tickets, and the mail is
looked at as steps_events looks at it: the worker runs (``drain``) and each look takes what
was mailed since the previous one. People follow through the staff routes
(``/staff/tickets/{id}/followers``); who follows is read as the administrator reads it.
"""

from __future__ import annotations

import falcon.testing
from pytest_bdd import given, parsers, then, when

from tests.bdd.steps_events import Inbox, _new_mail
from tests.bdd.steps_identity import Scene, _names
from tests.bdd.steps_tickets import Tickets, _ok, _token


def _followers(tickets: Tickets, subject: str) -> str:
    return f"/staff/tickets/{tickets.ids[subject]}/followers"


def _following(
    scene: Scene, tickets: Tickets, actor: str, method: str, subject: str, whom: str | None = None
) -> falcon.testing.Result:
    """``actor`` follows (PUT) or unfollows (DELETE) ``subject``, or makes ``whom`` do so."""
    target = "me" if whom is None else scene.person(whom).id
    return scene.call(method, f"{_followers(tickets, subject)}/{target}", _token(scene, actor))


@given(parsers.parse('{name} follows "{subject}"'))
@when(parsers.parse('{name} follows "{subject}"'))
def follows(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    _ok(_following(scene, tickets, name, "PUT", subject))


@when(parsers.parse('{name} unfollows "{subject}"'))
def unfollows(scene: Scene, tickets: Tickets, name: str, subject: str) -> None:
    _ok(_following(scene, tickets, name, "DELETE", subject))


@when(parsers.parse('{name} makes {other} follow "{subject}"'))
def makes_follow(scene: Scene, tickets: Tickets, name: str, other: str, subject: str) -> None:
    _ok(_following(scene, tickets, name, "PUT", subject, other))


@when(parsers.parse('{name} tries to make {other} unfollow "{subject}"'))
def tries_to_make_unfollow(
    scene: Scene, tickets: Tickets, name: str, other: str, subject: str
) -> None:
    _following(scene, tickets, name, "DELETE", subject, other)


@then(parsers.parse('the followers of "{subject}" are "{people}"'))
def followers_are(scene: Scene, tickets: Tickets, subject: str, people: str) -> None:
    listed = _ok(scene.as_admin("GET", _followers(tickets, subject)))["items"]
    shown = [f"{item['user']['display_name']} ({item['reason']})" for item in listed]
    assert shown == _names(people), listed


@then(parsers.parse('nobody follows "{subject}"'))
def nobody_follows(scene: Scene, tickets: Tickets, subject: str) -> None:
    assert _ok(scene.as_admin("GET", _followers(tickets, subject)))["items"] == []


@then(parsers.parse('only {name} is mailed "{text}", once'))
def mailed_once(scene: Scene, inbox: Inbox, name: str, text: str) -> None:
    """What was mailed since the story last looked: one mail, to ``name``, holding ``text``."""
    new = _new_mail(scene, inbox)
    assert [m.to for m in new] == [scene.person(name).email], [(m.to, m.subject) for m in new]
    assert text in new[0].body, new[0].body
