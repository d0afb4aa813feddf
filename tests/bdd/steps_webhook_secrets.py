"""Steps for features/events/webhook_secrets.feature: secrets at rest, a new secret, retention.

The helpdesk, its recording sender and its shifted clock are those of steps_events; a story's
"days go by" moves the clock at once (the worker then runs, retention included).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from pytest_bdd import given, parsers, then, when
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.bdd.steps_events import Hooks, _heard
from tests.bdd.steps_identity import Scene
from tests.bdd.steps_tickets import _ok
from tests.support.events import drain


@then("the helpdesk's store does not hold that secret readable")
def store_holds_no_secret(scene: Scene, hooks: Hooks) -> None:
    assert hooks.secret is not None
    assert hooks.endpoint_id is not None
    stored = scene.services.uow.state.webhooks[uuid.UUID(hooks.endpoint_id)]  # type: ignore[attr-defined]
    assert hooks.secret not in stored.secret
    assert hooks.secret.removeprefix("whsec_") not in stored.secret


@when("the administrator gives the endpoint a new secret")
def rotates(scene: Scene, hooks: Hooks) -> None:
    answer = _ok(scene.as_admin("POST", hooks.path("/rotate-secret")))
    assert answer["id"] == hooks.endpoint_id
    hooks.old_secrets.append(hooks.secret)
    hooks.secret = answer["secret"]


@then("the administrator is shown a new secret, unlike the old one")
def shown_new_secret(hooks: Hooks) -> None:
    assert hooks.secret is not None
    assert hooks.secret.startswith("whsec_")
    assert hooks.secret not in hooks.old_secrets


@then("the old secret no longer verifies it")
def old_secret_fails(hooks: Hooks) -> None:
    assert hooks.last is not None
    for old in hooks.old_secrets:
        assert old is not None
        try:
            StandardWebhook(old).verify(hooks.last.body, hooks.last.headers)
        except WebhookVerificationError:
            continue
        raise AssertionError("the old secret still verifies the delivery")


@given(parsers.parse('the endpoint has received "{event_type}"'))
def has_received(scene: Scene, hooks: Hooks, event_type: str) -> None:
    assert [r.event["type"] for r in _heard(scene, hooks)] == [event_type]


@when(parsers.parse("{days:d} days go by"))
@when(parsers.parse("{days:d} more days go by"))
def days_go_by(scene: Scene, hooks: Hooks, days: int) -> None:
    drain(scene.services)
    hooks.clock.shift += timedelta(days=days)
    drain(scene.services)
    scene.session(scene.administrator(), "desk")  # back at the desk: a new session


def _deliveries(scene: Scene, hooks: Hooks) -> list[dict[str, object]]:
    items: list[dict[str, object]] = _ok(scene.as_admin("GET", hooks.path("/deliveries")))["items"]
    return items


@then(parsers.parse("the deliveries of the endpoint still show {count:d} delivery"))
def still_shows(scene: Scene, hooks: Hooks, count: int) -> None:
    assert len(_deliveries(scene, hooks)) == count


@then("the deliveries of the endpoint show none")
def shows_none(scene: Scene, hooks: Hooks) -> None:
    assert _deliveries(scene, hooks) == []
