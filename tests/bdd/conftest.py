"""Steps shared by every feature: a helpdesk served in-process through its real HTTP app."""

from __future__ import annotations

import falcon.testing
from pytest_bdd import given, parsers, then, when

from adapters.memory.health import StaticProbe
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from helpdesk_core.usecases.health import CheckReadiness
from tests.conftest import make_settings

# What a database driver says when it cannot connect: where, as whom, to which database.
DRIVER_REFUSAL = (
    'connection to server at "db.internal" (10.0.0.7), port 5432 failed: '
    'FATAL: password authentication failed for user "helpdesk" (database "helpdesk_prod")'
)


def _helpdesk(database_answers: bool) -> falcon.testing.TestClient:
    database = StaticProbe("database")
    if not database_answers:
        database.fail_with = ConnectionError(DRIVER_REFUSAL)
    readiness = CheckReadiness([database], 1.0, ["redis"])
    services = bootstrap(make_settings(), {CheckReadiness: readiness})
    return falcon.testing.TestClient(create_app(services))


@given("a running helpdesk whose database answers", target_fixture="helpdesk")
def helpdesk_up() -> falcon.testing.TestClient:
    return _helpdesk(database_answers=True)


@given("a running helpdesk whose database does not answer", target_fixture="helpdesk")
def helpdesk_database_down() -> falcon.testing.TestClient:
    return _helpdesk(database_answers=False)


@when("the operator asks whether the helpdesk is ready", target_fixture="answer")
def ask_ready(helpdesk: falcon.testing.TestClient) -> falcon.testing.Result:
    return helpdesk.simulate_get("/health/ready")


@when("someone asks for a page the helpdesk does not have", target_fixture="answer")
def ask_missing(helpdesk: falcon.testing.TestClient) -> falcon.testing.Result:
    return helpdesk.simulate_get("/no/such/page")


@then("the helpdesk says it is ready")
def is_ready(answer: falcon.testing.Result) -> None:
    assert answer.status_code == 200
    assert answer.json["status"] in {"ok", "degraded"}


@then("the helpdesk says it is not ready")
def is_not_ready(answer: falcon.testing.Result) -> None:
    assert answer.status_code == 503
    assert answer.json["status"] == "down"


@then(parsers.parse('the database is reported as "{status}"'))
def database_status(answer: falcon.testing.Result, status: str) -> None:
    assert answer.json["checks"]["database"]["status"] == status


@then(parsers.parse('Redis is reported as "{status}"'))
def redis_status(answer: falcon.testing.Result, status: str) -> None:
    assert answer.json["checks"]["redis"]["status"] == status


@then("the answer names no database host, user or database")
def names_no_host(answer: falcon.testing.Result) -> None:
    for detail in ("db.internal", "10.0.0.7", "5432", '"helpdesk"', "helpdesk_prod"):
        assert detail not in answer.text, detail


@then("the helpdesk still says it is alive")
def still_alive(helpdesk: falcon.testing.TestClient) -> None:
    assert helpdesk.simulate_get("/health/live").status_code == 200


@then(parsers.parse('the answer is a problem report saying "{title}"'))
def problem_report(answer: falcon.testing.Result, title: str) -> None:
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json["title"] == title
