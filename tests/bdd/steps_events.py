"""Steps for features/events: the mail people get, and the webhooks other systems get.

The scene is the one of steps_identity; the ticket steps are those of steps_tickets. What a
running helpdesk's worker does in the background, these steps do where the story looks at the
outcome: ``drain`` runs the worker until nothing due is left, before a mail or a delivery is
looked at. Each look takes what arrived since the previous one, so "nobody is mailed" means
"nobody since the story last looked".

The helpdesk that sends webhooks sends them to a :class:`RecordingSender` instead of the
network: it signs each delivery as the real sender does (``adapters.webhooks.sender.sign``),
keeps it, and answers as the story says (a success, or a failure). Its clock is the real time
plus what the story lets go by, so retries come due without waiting and deliveries made in the
present still verify with the ``standardwebhooks`` package, whose verifier checks the time.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from pytest_bdd import given, parsers, then, when
from standardwebhooks.webhooks import Webhook as StandardWebhook

from adapters.webhooks.sender import sign
from helpdesk_core.ports.events import AttemptOutcome, SendResult, Webhook, WebhookSender
from helpdesk_core.ports.notifications import MailMessage
from helpdesk_core.ports.system import Clock
from tests.bdd.steps_identity import Scene, _names, _problem, _scene
from tests.bdd.steps_tickets import Tickets, _as_admin, _ok, _open, _token
from tests.support.events import drain

# A public address literal: the URL guard admits it without asking DNS.
HOOK_URL = "https://93.184.215.14/helpdesk-events"
WEBHOOKS = "/admin/webhooks"
# How the helpdesk that sends webhooks is configured (the feature's description says so).
HOOK_SETTINGS: dict[str, Any] = {
    "retry_base_seconds": 60.0,
    "retry_max_seconds": 3600.0,
    "webhook_max_attempts": 3,
    "webhook_disable_after": 3,
}
WORKER_POLL = timedelta(seconds=5)  # how often the stories' worker looks for due work
OK = SendResult(AttemptOutcome.SUCCESS, 12, 200)


# ------------------------------------------------------------------ the outside world


class ShiftedClock:
    """The real time, plus whatever the story let go by."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


@attrs.frozen
class Received:
    """One delivery attempt as the endpoint saw it."""

    url: str
    webhook_id: str
    timestamp: int
    signature: str
    body: bytes

    @property
    def headers(self) -> dict[str, str]:
        return {
            "webhook-id": self.webhook_id,
            "webhook-timestamp": str(self.timestamp),
            "webhook-signature": self.signature,
        }

    @property
    def event(self) -> dict[str, Any]:
        envelope: dict[str, Any] = json.loads(self.body)
        return envelope


@attrs.define
class RecordingSender:
    """A WebhookSender that keeps every attempt (signed as the real sender signs) and
    answers from ``script`` first, then with ``otherwise``."""

    script: list[SendResult] = attrs.Factory(list)
    otherwise: SendResult = OK
    received: list[Received] = attrs.Factory(list)
    breaks_for: str | None = None  # a URL whose sending raises (features/events/poison_proof)

    def send(
        self, webhook: Webhook, message_id: str, body: bytes, timestamp: datetime
    ) -> SendResult:
        if webhook.url == self.breaks_for:
            raise RuntimeError("the sender broke down")
        ts = int(timestamp.timestamp())
        signature = sign(webhook.secret, message_id, ts, body)
        self.received.append(Received(webhook.url, message_id, ts, signature, body))
        return self.script.pop(0) if self.script else self.otherwise


@attrs.define
class Hooks:
    """The endpoint of the webhook stories, and what the story has seen of it so far."""

    sender: RecordingSender = attrs.Factory(RecordingSender)
    clock: ShiftedClock = attrs.Factory(ShiftedClock)
    endpoint_id: str | None = None
    secret: str | None = None
    old_secrets: list[str | None] = attrs.Factory(list)  # replaced by a new secret
    heard: int = 0  # the attempts the story has looked at
    last: Received | None = None  # the last delivery the story looked at

    def path(self, suffix: str = "") -> str:
        assert self.endpoint_id, "no endpoint was subscribed"
        return f"{WEBHOOKS}/{self.endpoint_id}{suffix}"


@attrs.define
class Inbox:
    """How much of the helpdesk's sent mail the story has looked at."""

    read: int = 0


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


# ------------------------------------------------------------------ helpers


def _new_mail(scene: Scene, inbox: Inbox) -> list[MailMessage]:
    """What the worker mailed since the story last looked."""
    drain(scene.services)
    new = scene.mailbox.sent[inbox.read :]
    inbox.read = len(scene.mailbox.sent)
    return new


def _mailed(scene: Scene, inbox: Inbox, name: str) -> list[MailMessage]:
    """The new mail, all of it to ``name`` and at least one."""
    new = _new_mail(scene, inbox)
    email = scene.person(name).email
    assert new, f"nobody was mailed, {name} expected"
    assert {m.to for m in new} == {email}, [(m.to, m.subject) for m in new]
    return new


def _heard(scene: Scene, hooks: Hooks) -> list[Received]:
    """What the endpoint received since the story last looked (the worker run first)."""
    drain(scene.services)
    new = hooks.sender.received[hooks.heard :]
    hooks.heard = len(hooks.sender.received)
    return new


def _pass_time(scene: Scene, hooks: Hooks, minutes: int) -> None:
    """Let ``minutes`` go by while the worker keeps looking for due work."""
    drain(scene.services)
    end = hooks.clock.shift + timedelta(minutes=minutes)
    while hooks.clock.shift < end:
        hooks.clock.shift += WORKER_POLL
        drain(scene.services)


def _subscribe(scene: Scene, name: str, url: str, events: str) -> Any:
    """POST the subscription as ``name``; ``events`` is "every event" or a quoted list."""
    wanted = ["*"] if events == "every event" else _names(events.strip('"'))
    token = _token(scene, name)
    return scene.call("POST", WEBHOOKS, token, json={"url": url, "events": wanted})


def _endpoint(scene: Scene, hooks: Hooks) -> dict[str, Any]:
    view: dict[str, Any] = _ok(scene.as_admin("GET", hooks.path()))
    return view


# ------------------------------------------------------------------ the helpdesk


@given("a helpdesk that sends webhooks", target_fixture="scene")
def helpdesk_sending_webhooks(request: pytest.FixtureRequest, hooks: Hooks) -> Scene:
    overrides = {WebhookSender: hooks.sender, Clock: hooks.clock}
    scene = _scene(request, overrides, **HOOK_SETTINGS)
    scene.administrator()
    return scene


# ------------------------------------------------------------------ mail


@then(parsers.parse('{name} is mailed the reply "{text}" on "{subject}"'))
def mailed_reply(scene: Scene, inbox: Inbox, name: str, text: str, subject: str) -> None:
    mail = _mailed(scene, inbox, name)
    # One mail: the reply (the reopening it brings about is not mailed a second time).
    assert [subject in m.subject and text in m.body for m in mail] == [True], mail


@then(parsers.parse('{name} is mailed that "{subject}" is now {status:w}'))
def mailed_status(scene: Scene, inbox: Inbox, name: str, subject: str, status: str) -> None:
    mail = _mailed(scene, inbox, name)
    assert any(m.subject.endswith(f"is now {status}") and subject in m.body for m in mail), mail


@then(parsers.parse('{name} is mailed that "{subject}" is assigned to {whom:w}'))
def mailed_assignment(scene: Scene, inbox: Inbox, name: str, subject: str) -> None:
    mail = _mailed(scene, inbox, name)
    assert any(m.subject.endswith(f"Assigned to you: {subject}") for m in mail), mail


@then("nobody is mailed")
def nobody_mailed(scene: Scene, inbox: Inbox) -> None:
    new = _new_mail(scene, inbox)
    assert new == [], [(m.to, m.subject) for m in new]


@then(parsers.parse('no mail mentions "{words}"'))
def no_mail_mentions(scene: Scene, words: str) -> None:
    drain(scene.services)
    assert scene.mailbox.sent, "no mail was sent at all"
    for mail in scene.mailbox.sent:
        assert words not in mail.subject, mail
        assert words not in mail.body, mail


# ------------------------------------------------------------------ subscribing


@given(parsers.parse("the administrator has subscribed an endpoint to {events}"))
@when(parsers.parse("the administrator subscribes an endpoint to {events}"))
def subscribes(scene: Scene, hooks: Hooks, events: str) -> None:
    created = _ok(_subscribe(scene, "the administrator", HOOK_URL, events), 201)
    hooks.endpoint_id, hooks.secret = created["id"], created["secret"]


@then("the administrator is shown the secret that signs its deliveries")
def shown_secret(scene: Scene, hooks: Hooks) -> None:
    answer = scene.last
    assert answer.status_code == 201, answer.text
    assert answer.json["id"] == hooks.endpoint_id
    assert hooks.secret is not None
    assert hooks.secret.startswith("whsec_")


@then(parsers.parse('the webhooks list shows the endpoint subscribed to "{events}"'))
def listed(scene: Scene, hooks: Hooks, events: str) -> None:
    items = _ok(scene.as_admin("GET", WEBHOOKS))["items"]
    assert [(w["id"], w["url"], w["events"], w["active"]) for w in items] == [
        (hooks.endpoint_id, HOOK_URL, _names(events), True)
    ]


@then("neither the webhooks list nor the endpoint's page shows the secret")
def secret_not_shown(scene: Scene, hooks: Hooks) -> None:
    assert hooks.secret
    for path in (WEBHOOKS, hooks.path(), hooks.path("/deliveries")):
        answer = scene.as_admin("GET", path)
        assert answer.status_code == 200, answer.text
        assert hooks.secret not in answer.text, path
        assert '"secret"' not in answer.text, path


@when(parsers.parse('the administrator tries to subscribe "{url}" to every event'))
def tries_to_subscribe_url(scene: Scene, url: str) -> None:
    _subscribe(scene, "the administrator", url, "every event")


@then(parsers.parse("the administrator is told {address} is refused, being {reason}"))
def told_refused(scene: Scene, address: str, reason: str) -> None:
    body = _problem(scene.last, 422)
    [error] = body["errors"]
    assert error["field"] == "url", body
    assert address in error["message"], body
    assert reason in error["message"], body


@then("no endpoint is subscribed")
def no_endpoint(scene: Scene) -> None:
    assert _ok(scene.as_admin("GET", WEBHOOKS))["items"] == []


# ------------------------------------------------------------------ deliveries


@then(parsers.parse('the endpoint receives "{event_type}" for "{subject}"'))
def receives(scene: Scene, hooks: Hooks, event_type: str, subject: str) -> None:
    new = _heard(scene, hooks)
    assert [(r.url, r.event["type"]) for r in new] == [(HOOK_URL, event_type)]
    hooks.last = new[0]
    assert hooks.last.event["data"]["ticket"]["subject"] == subject


@then("the delivery's ticket is the ticket the staff API shows, without its description")
def delivered_as_shown(scene: Scene, hooks: Hooks, tickets: Tickets) -> None:
    assert hooks.last is not None
    delivered = hooks.last.event["data"]["ticket"]
    shown = _as_admin(scene, tickets, delivered["subject"])
    for only_in_full in ("description", "messages", "attachments"):
        del shown[only_in_full]
    assert delivered == shown


@then(
    parsers.parse(
        'the delivery\'s ticket names its requester "{name}" and its department "{department}"'
    )
)
def delivered_with_names(hooks: Hooks, name: str, department: str) -> None:
    assert hooks.last is not None
    ticket = hooks.last.event["data"]["ticket"]
    assert ticket["requester"]["display_name"] == name
    assert ticket["department"]["name"] == department


@then("the endpoint receives a ping")
def receives_ping(scene: Scene, hooks: Hooks) -> None:
    new = _heard(scene, hooks)
    assert [(r.url, r.event["type"]) for r in new] == [(HOOK_URL, "webhook.ping")]
    hooks.last = new[0]
    assert hooks.last.event["data"]["webhook_id"] == hooks.endpoint_id


@then("the endpoint receives nothing")
def receives_nothing(scene: Scene, hooks: Hooks) -> None:
    new = _heard(scene, hooks)
    assert new == [], [r.event["type"] for r in new]


@then("the delivery is signed with the endpoint's secret")
def signed(hooks: Hooks) -> None:
    assert hooks.last is not None
    assert hooks.secret is not None
    # The independent verifier of the Standard Webhooks project (it also checks the time).
    verified = StandardWebhook(hooks.secret).verify(hooks.last.body, hooks.last.headers)
    assert verified == hooks.last.event
    assert hooks.last.webhook_id == verified["id"]  # the same on every retry of this event


@then("the delivery announces an internal note without its text")
def announces_note(hooks: Hooks) -> None:
    assert hooks.last is not None
    message = hooks.last.event["data"]["message"]
    assert (message["visibility"], message["body"]) == ("internal", None), message


@then(parsers.parse('nothing the endpoint received mentions "{words}"'))
def nothing_received_mentions(hooks: Hooks, words: str) -> None:
    assert hooks.sender.received
    assert all(words.encode() not in r.body for r in hooks.sender.received)


# ------------------------------------------------------------------ failures and retries


@given(parsers.parse("the endpoint fails every delivery with HTTP {status:d}"))
def endpoint_fails(hooks: Hooks, status: int) -> None:
    hooks.sender.otherwise = SendResult(AttemptOutcome.HTTP_ERROR, 40, status, f"HTTP {status}")


@when("the endpoint answers again")
def endpoint_answers(hooks: Hooks) -> None:
    hooks.sender.otherwise = OK


@when(parsers.parse("{minutes:d} minutes go by"))
def minutes_go_by(scene: Scene, hooks: Hooks, minutes: int) -> None:
    _pass_time(scene, hooks, minutes)


@then(
    parsers.parse(
        "the endpoint was tried {count:d} times, "
        "each retry waiting about twice as long as the one before"
    )
)
def tried_on_schedule(scene: Scene, hooks: Hooks, count: int) -> None:
    tries = _heard(scene, hooks)
    assert len(tries) == count, [r.event["type"] for r in tries]
    assert len({r.webhook_id for r in tries}) == 1  # one event, one webhook-id, every time
    settings = scene.services.settings
    for attempt, (before, after) in enumerate(itertools.pairwise(tries), start=1):
        nominal = min(
            settings.retry_max_seconds, settings.retry_base_seconds * 2.0 ** (attempt - 1)
        )
        waited = after.timestamp - before.timestamp
        # at most a quarter less (jitter), and no later than the worker's next look
        slack = WORKER_POLL.total_seconds() + 2
        assert nominal * 0.75 - 1 <= waited <= nominal + slack, (attempt, waited, nominal)


@given(parsers.parse("the endpoint has been disabled after failing {count:d} times in a row"))
def disabled_by_failures(scene: Scene, hooks: Hooks, tickets: Tickets, count: int) -> None:
    endpoint_fails(hooks, 500)
    _open(scene, tickets, "Ann", "Charged twice", "Billing")
    _pass_time(scene, hooks, 10)
    assert len(_heard(scene, hooks)) == count
    disabled_after(scene, hooks, count)


@then(parsers.parse("the endpoint is disabled after {count:d} failed attempts in a row"))
def disabled_after(scene: Scene, hooks: Hooks, count: int) -> None:
    view = _endpoint(scene, hooks)
    assert (view["active"], view["consecutive_failures"]) == (False, count), view
    assert f"after {count} failed attempts in a row" in view["disabled_reason"], view


@then("the deliveries of the endpoint show every attempt:")
def deliveries_show(scene: Scene, hooks: Hooks, datatable: list[list[str]]) -> None:
    drain(scene.services)
    deliveries = _ok(scene.as_admin("GET", hooks.path("/deliveries")))["items"]
    shown = [
        [d["event_type"], d["state"], str(a["attempt"]), a["outcome"], str(a["status_code"])]
        for d in deliveries
        for a in d["attempt_log"]
    ]
    assert shown == datatable[1:]
    for delivery in deliveries:
        assert delivery["attempts"] == len(delivery["attempt_log"])


# ------------------------------------------------------------------ managing the endpoint


@when("the administrator enables the endpoint again")
def enables(scene: Scene, hooks: Hooks) -> None:
    assert _ok(scene.as_admin("PATCH", hooks.path(), json={"active": True}))["active"] is True


@then("the endpoint is active, with no failures counted")
def active_again(scene: Scene, hooks: Hooks) -> None:
    view = _endpoint(scene, hooks)
    assert (view["active"], view["consecutive_failures"], view["disabled_reason"]) == (
        True,
        0,
        None,
    ), view


@when("the administrator pings the endpoint")
def pings(scene: Scene, hooks: Hooks) -> None:
    _ok(scene.as_admin("POST", hooks.path("/ping")), 202)


# ------------------------------------------------------------------ who may


@when(parsers.parse("{name} tries to list the webhooks"))
def tries_to_list(scene: Scene, name: str) -> None:
    scene.call("GET", WEBHOOKS, _token(scene, name))


@when(parsers.parse("{name} tries to subscribe an endpoint to {events}"))
def tries_to_subscribe(scene: Scene, name: str, events: str) -> None:
    _subscribe(scene, name, HOOK_URL, events)


@when(parsers.parse("{name} tries to ping the endpoint"))
def tries_to_ping(scene: Scene, hooks: Hooks, name: str) -> None:
    scene.call("POST", hooks.path("/ping"), _token(scene, name))


@when(parsers.parse("{name} tries to disable the endpoint"))
def tries_to_disable(scene: Scene, hooks: Hooks, name: str) -> None:
    scene.call("PATCH", hooks.path(), _token(scene, name), json={"active": False})
