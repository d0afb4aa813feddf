"""POST /admin/webhooks/{id}/rotate-secret: a new secret in that answer only (administrators)."""

from __future__ import annotations

import uuid

from tests.http.conftest import Helpdesk
from tests.http.test_webhooks_api import VIEW_FIELDS, WEBHOOKS, create


def test_rotating_answers_the_new_secret_once(helpdesk: Helpdesk) -> None:
    admin = helpdesk.staff("admin")
    created = create(helpdesk, admin)
    path = f"{WEBHOOKS}/{created['id']}"
    rotated = helpdesk.post(f"{path}/rotate-secret", admin)
    assert rotated.status_code == 200, rotated.text
    assert set(rotated.json) == VIEW_FIELDS | {"secret"}
    secret = rotated.json["secret"]
    assert secret.startswith("whsec_")
    assert secret != created["secret"]
    assert rotated.json["id"] == created["id"]
    for answer in (helpdesk.get(path, admin), helpdesk.get(WEBHOOKS, admin)):
        assert answer.status_code == 200
        assert secret not in answer.text
        assert "secret" not in answer.text


def test_rotating_is_for_administrators_of_existing_endpoints(helpdesk: Helpdesk) -> None:
    admin = helpdesk.staff("admin")
    created = create(helpdesk, admin)
    path = f"{WEBHOOKS}/{created['id']}/rotate-secret"
    assert helpdesk.post(path).status_code == 401
    lead = helpdesk.staff("lead", helpdesk.department())
    refused = helpdesk.post(path, lead)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert helpdesk.post(f"{WEBHOOKS}/{uuid.uuid4()}/rotate-secret", admin).status_code == 404
    assert helpdesk.post(f"{WEBHOOKS}/not-an-id/rotate-secret", admin).status_code in (404, 422)
