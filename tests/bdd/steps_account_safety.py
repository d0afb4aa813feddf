"""Steps for features/identity/account_safety.feature (issue 20), over the real HTTP app."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from entrypoints.http.resources.auth import REGISTER_ANSWER
from tests.bdd.steps_identity import NEW_PASSWORD, WRONG_PASSWORD, Scene, _problem
from tests.support.events import drain

OTHER_PASSWORD = "somebody else's CANARY password 3"


@when(parsers.parse("somebody registers with {name}'s address and another password"))
def registers_taken_address(scene: Scene, name: str) -> None:
    body = {"email": scene.person(name).email, "password": OTHER_PASSWORD, "display_name": "Eve"}
    scene.call("POST", "/auth/register", json=body)


@then(parsers.parse("the answer is the same as {name}'s own registration got"))
def same_answer_as_first(scene: Scene, name: str) -> None:
    again = scene.last  # the registration of the taken address
    assert again.json == REGISTER_ANSWER, again.text
    first = scene.answers[0]  # the owner's own registration opened the story
    assert again.status_code == first.status_code == 202
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.json == first.json


@then(parsers.parse("that other password opens no account"))
def other_password_opens_nothing(scene: Scene) -> None:
    registered = [p.email for p in scene.people.values()]
    for email in registered:
        _problem(scene.log_in(email, OTHER_PASSWORD), 401)


@then(parsers.parse("{name} receives a mail saying someone tried to register with her address"))
def told_by_mail(scene: Scene, name: str) -> None:
    drain(scene.services)
    mails = [(m.to, m.subject) for m in scene.mailbox.sent]
    assert mails == [(scene.person(name).email, "Someone tried to register with your address")]


@when(parsers.parse('somebody registers with the email address "{email}"'))
def registers_address(scene: Scene, email: str) -> None:
    body = {"email": email, "password": OTHER_PASSWORD, "display_name": "Eve"}
    scene.call("POST", "/auth/register", json=body)


@then("the registration is refused, naming the email address")
def refused_naming_email(scene: Scene) -> None:
    body = _problem(scene.last, 422)
    assert [e["field"] for e in body["errors"]] == ["email"]


@when(parsers.parse('somebody asks for a password reset for "{email}" {count:d} times'))
def asks_many_times(scene: Scene, email: str, count: int) -> None:
    for _ in range(count):
        answer = scene.call("POST", "/auth/password/forgot", json={"email": email})
        assert answer.status_code == 202, answer.text


@then("the request is turned away for now, with how long to wait")
def turned_away_with_wait(scene: Scene) -> None:
    _problem(scene.last, 429)
    wait = int(scene.last.headers["retry-after"])
    assert 1 <= wait <= scene.services.settings.forgot_password_rate_window


@then(parsers.parse("{name} receives {count:d} mails"))
def receives_mails(scene: Scene, name: str, count: int) -> None:
    drain(scene.services)
    assert [m.to for m in scene.mailbox.sent] == [scene.person(name).email] * count


@when(parsers.parse("{actor} reactivates {name:w}"))
def reactivates(scene: Scene, actor: str, name: str) -> None:
    answer = scene.call(
        "PATCH",
        f"/admin/staff/{scene.person(name).id}",
        scene.person(actor).sessions["desk"],
        json={"active": True},
    )
    assert answer.status_code == 200, answer.text


@then("the link no longer works")
def link_dead(scene: Scene) -> None:
    answer = scene.call(
        "POST",
        "/auth/password/reset",
        json={"token": scene.reset_token, "new_password": "yet another secret 9"},
    )
    body = _problem(answer, 422)
    assert [e["field"] for e in body["errors"]] == ["token"]


@then("nobody receives a mail")
def no_mail(scene: Scene) -> None:
    drain(scene.services)
    assert scene.mailbox.sent == []


@when(
    parsers.parse(
        "somebody holding {name}'s {device:w} session tries {count:d} wrong current passwords"
    )
)
def guesses_current_password(scene: Scene, name: str, device: str, count: int) -> None:
    token = scene.person(name).sessions[device]
    for _ in range(count):
        body = {"current_password": WRONG_PASSWORD, "new_password": NEW_PASSWORD}
        _problem(scene.call("POST", "/auth/password/change", token, json=body), 422)


@then(parsers.parse("even {name}'s right current password is turned away for now"))
def right_current_password_waits(scene: Scene, name: str) -> None:
    person = scene.person(name)
    body = {"current_password": person.password, "new_password": NEW_PASSWORD}
    answer = scene.call("POST", "/auth/password/change", person.sessions["laptop"], json=body)
    _problem(answer, 429)
    assert int(answer.headers["retry-after"]) >= 1
