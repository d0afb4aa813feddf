"""The benchmark's raw baseline answers what the product answers, on a seeded PostgreSQL.

The product/baseline ratio means something only if both do the same work: here the product's
app and ``benchmarks.baseline_app`` (both in process, over one seeded database and one set of
tokens) answer the same staff lists, searches and ticket details body for body, open tickets
alike, and refuse a bad token. Nothing here is timed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from benchmarks import baseline_app, profile
from benchmarks.seed import SeedInfo, drop_database, fresh_database, seed
from entrypoints.bootstrap import bootstrap, password_hasher
from entrypoints.http.app import create_app
from tests.conftest import TEST_SECRET, make_settings
from tests.support.services import postgres_url, redis_url

pytestmark = pytest.mark.postgres

TICKETS = 400
PASSWORD = "baseline-password-42"


class Apps:
    def __init__(self, info: SeedInfo, product: testing.TestClient, baseline: testing.TestClient):
        self.info = info
        self.product = product
        self.baseline = baseline
        self.tokens: dict[str, str] = {}

    def token(self, email: str) -> str:
        if email not in self.tokens:
            answer = self.product.simulate_post(
                "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            self.tokens[email] = answer.json["access_token"]
        return self.tokens[email]

    def both(self, method: str, path: str, email: str, **kwargs: Any) -> tuple[Any, Any]:
        headers = {"Authorization": f"Bearer {self.token(email)}", **kwargs.pop("headers", {})}
        a = self.product.simulate_request(method, path, headers=headers, **kwargs)
        b = self.baseline.simulate_request(method, path, headers=headers, **kwargs)
        return a, b


@pytest.fixture(scope="module")
def apps() -> Iterator[Apps]:
    server = postgres_url()
    name = f"hdt_baseline_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = fresh_database(server, name)
    try:
        settings = make_settings(database_url=url, embedded_worker=False)
        info = seed(
            url,
            TICKETS,
            password_hash=password_hasher(settings).hash(PASSWORD),
            password=PASSWORD,
            customers=50,
            sla=True,  # as the benchmark seeds: the lists render service levels
        )
        services = bootstrap(settings)
        libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
        connections = baseline_app.Connections(libpq, 1, 2)
        base = baseline_app.Baseline(connections, (TEST_SECRET,), 3600)
        try:
            yield Apps(
                info,
                testing.TestClient(create_app(services)),
                testing.TestClient(baseline_app.create_app(base)),
            )
        finally:
            connections.close()
            services.close()
    finally:
        drop_database(server, name)


def test_staff_lists_are_the_same(apps: Apps) -> None:
    for lead in apps.info.leads:
        department = lead["department_id"]
        for status in ("new", "open", "closed"):
            params = {"status": status, "department_id": department, "unassigned": "true"}
            a, b = apps.both("GET", "/api/v1/staff/tickets", str(lead["email"]), params=params)
            assert a.status_code == b.status_code == 200
            assert a.json == b.json
        a, b = apps.both("GET", "/api/v1/staff/tickets", str(lead["email"]), params={"limit": "7"})
        assert a.json == b.json
        assert a.json["next_cursor"] is not None  # a second page exists, and both say where


def test_searches_are_the_same(apps: Apps) -> None:
    lead = str(apps.info.leads[0]["email"])
    for word in apps.info.search_words:
        params = {"q": word, "limit": "20"}
        a, b = apps.both("GET", "/api/v1/staff/tickets", lead, params=params)
        assert a.status_code == b.status_code == 200
        assert a.json == b.json, word


def test_ticket_details_are_the_same(apps: Apps) -> None:
    for lead in apps.info.leads[:2]:
        ids = apps.info.detail_ticket_ids_by_department[str(lead["department_id"])][:10]
        assert ids
        for ticket_id in ids:
            path = f"/api/v1/staff/tickets/{ticket_id}"
            a, b = apps.both("GET", path, str(lead["email"]))
            assert a.status_code == b.status_code == 200
            assert a.json == b.json
            assert a.json["messages"]
            assert a.headers["etag"] == b.headers["etag"]


def test_out_of_scope_and_bad_tokens_are_refused_alike(apps: Apps) -> None:
    leads = apps.info.leads
    other = apps.info.detail_ticket_ids_by_department[str(leads[1]["department_id"])][0]
    a, b = apps.both("GET", f"/api/v1/staff/tickets/{other}", str(leads[0]["email"]))
    assert a.status_code == b.status_code == 404
    for client in (apps.product, apps.baseline):
        answer = client.simulate_get(
            "/api/v1/staff/tickets", headers={"Authorization": "Bearer not-a-token"}
        )
        assert answer.status_code == 401


def test_opening_a_ticket_answers_the_same_shape(apps: Apps) -> None:
    customer = apps.info.customers[0]["email"]
    for department in apps.info.departments:  # auto-assigning ones too
        body = {
            "subject": "Printer",
            "description": "It is on fire",
            "department_id": department["id"],
        }
        a, b = apps.both("POST", "/api/v1/tickets", customer, json=body)
        assert a.status_code == b.status_code == 201
        assert a.headers["etag"] == b.headers["etag"]
        mine, theirs = dict(a.json), dict(b.json)
        assert set(mine) == set(theirs)
        assert mine["number"] + 1 == theirs["number"]  # one sequence
        for varying in ("id", "number", "created_at", "updated_at", "assignee"):
            mine.pop(varying), theirs.pop(varying)  # the round robin may pick another agent
        assert mine == theirs
        assert (a.json["assignee"] is None) == (b.json["assignee"] is None)
        # The baseline's ticket is a real one: the product shows it, history included.
        lead = next(x for x in apps.info.leads if x["department_id"] == department["id"])
        shown = apps.product.simulate_get(
            f"/api/v1/staff/tickets/{b.json['id']}",
            headers={"Authorization": f"Bearer {apps.token(str(lead['email']))}"},
        )
        assert shown.status_code == 200
        assert shown.json["subject"] == "Printer"


@pytest.mark.redis
def test_the_profiler_runs_each_route_on_the_product_and_the_baseline(
    apps: Apps, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``benchmarks.profile`` (docs/performance.md) measures what it says: every route answers
    2xx on both apps (it stops at the first other answer) and the CPU line names the app."""
    seed_info = apps.info.save(tmp_path / "seed.json")
    common = ["--seed-info", str(seed_info), "--redis-url", redis_url(), "--requests", "3"]
    for route in profile.ROUTES:
        assert profile.main([route, *common]) == 0
        assert f"{route}: 3 requests" in capsys.readouterr().err
    for route in profile.BASELINE_ROUTES:
        assert profile.main([route, *common, "--baseline"]) == 0
        assert f"{route} (baseline): 3 requests" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the baseline has no reply route
        profile.main(["reply", *common, "--baseline"])
