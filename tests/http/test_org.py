"""The organization over HTTP, on every store: departments, teams, staff, and the cache."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.http.conftest import PASSWORD, Helpdesk, Person, make_helpdesk
from tests.support.services import redis_url

ADMIN = "/api/v1/admin"


@pytest.fixture
def admin(sql_helpdesk: Helpdesk) -> Person:
    return sql_helpdesk.staff("admin")


def create_department(desk: Helpdesk, admin: Person, name: str, **extra: object) -> dict:
    result = desk.post(f"{ADMIN}/departments", admin, json={"name": name, **extra})
    assert result.status_code == 201, result.text
    assert result.headers["location"].endswith(result.json["id"])
    return result.json


def test_departments_are_created_listed_renamed_and_deactivated(
    sql_helpdesk: Helpdesk, admin: Person
) -> None:
    desk = sql_helpdesk
    billing = create_department(desk, admin, "  Billing ", auto_assign=True)
    assert (billing["name"], billing["auto_assign"], billing["active"]) == ("Billing", True, True)
    create_department(desk, admin, "Access")
    listed = desk.get(f"{ADMIN}/departments", admin).json
    assert [d["name"] for d in listed["items"]] == ["Access", "Billing"]
    assert listed["next_cursor"] is None

    renamed = desk.patch(f"{ADMIN}/departments/{billing['id']}", admin, json={"name": "Invoices"})
    assert renamed.status_code == 200
    assert renamed.json["version"] == billing["version"] + 1
    assert desk.get(f"{ADMIN}/departments/{billing['id']}", admin).json["name"] == "Invoices"

    off = desk.patch(f"{ADMIN}/departments/{billing['id']}", admin, json={"active": False})
    assert off.json["active"] is False
    assert [d["name"] for d in desk.get("/api/v1/departments").json["items"]] == ["Access"]
    inactive = desk.get(f"{ADMIN}/departments", admin, params={"active": "false"}).json
    assert [d["name"] for d in inactive["items"]] == ["Invoices"]


def test_department_names_are_unique_whatever_the_case(
    sql_helpdesk: Helpdesk, admin: Person
) -> None:
    create_department(sql_helpdesk, admin, "Billing")
    clash = sql_helpdesk.post(f"{ADMIN}/departments", admin, json={"name": "  BILLING"})
    assert clash.status_code == 409
    other = create_department(sql_helpdesk, admin, "Sales")
    rename = sql_helpdesk.patch(
        f"{ADMIN}/departments/{other['id']}", admin, json={"name": "billing"}
    )
    assert rename.status_code == 409


def test_the_public_list_shows_a_rename_at_once(sql_helpdesk: Helpdesk, admin: Person) -> None:
    department = create_department(sql_helpdesk, admin, "Billing")
    assert sql_helpdesk.get("/api/v1/departments").json["items"] == [
        {"id": department["id"], "name": "Billing"}
    ]
    sql_helpdesk.patch(f"{ADMIN}/departments/{department['id']}", admin, json={"name": "Money"})
    assert [d["name"] for d in sql_helpdesk.get("/api/v1/departments").json["items"]] == ["Money"]


def test_lists_page_with_a_cursor_and_refuse_a_limit_over_the_maximum(
    sql_helpdesk: Helpdesk, admin: Person
) -> None:
    for name in ("A", "B", "C", "D", "E"):
        create_department(sql_helpdesk, admin, name)
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        page = sql_helpdesk.get("/api/v1/departments", params=params).json
        seen += [d["name"] for d in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": "2", "cursor": page["next_cursor"]}
    assert seen == ["A", "B", "C", "D", "E"]
    over = sql_helpdesk.get("/api/v1/departments", params={"limit": "101"})
    assert over.status_code == 422
    assert over.json["errors"] == [
        {"field": "limit", "in": "query", "message": "must be from 1 to 100"}
    ]


def test_teams_are_unique_within_their_department(sql_helpdesk: Helpdesk, admin: Person) -> None:
    desk = sql_helpdesk
    first = create_department(desk, admin, "First")["id"]
    second = create_department(desk, admin, "Second")["id"]
    team = desk.post(f"{ADMIN}/teams", admin, json={"name": "Tier 1", "department_id": first})
    assert team.status_code == 201
    assert (
        desk.post(
            f"{ADMIN}/teams", admin, json={"name": "tier 1", "department_id": first}
        ).status_code
        == 409
    )
    assert (
        desk.post(
            f"{ADMIN}/teams", admin, json={"name": "Tier 1", "department_id": second}
        ).status_code
        == 201
    )
    listed = desk.get(f"{ADMIN}/teams", admin, params={"department_id": first}).json["items"]
    assert [(t["name"], t["department_id"]) for t in listed] == [("Tier 1", first)]
    renamed = desk.patch(f"{ADMIN}/teams/{team.json['id']}", admin, json={"name": "Tier One"})
    assert renamed.json["name"] == "Tier One"
    unknown = desk.post(
        f"{ADMIN}/teams", admin, json={"name": "X", "department_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 422
    assert unknown.json["errors"][0]["field"] == "department_id"


def test_staff_are_created_moved_promoted_and_deactivated(
    sql_helpdesk: Helpdesk, admin: Person
) -> None:
    desk = sql_helpdesk
    support = create_department(desk, admin, "Support")["id"]
    sales = create_department(desk, admin, "Sales")["id"]
    tier1 = desk.post(
        f"{ADMIN}/teams", admin, json={"name": "Tier 1", "department_id": support}
    ).json["id"]
    created = desk.post(
        f"{ADMIN}/staff",
        admin,
        json={
            "email": "Agent@Example.com",
            "display_name": "Agnes",
            "password": PASSWORD,
            "role": "agent",
            "department_id": support,
            "team_id": tier1,
        },
    )
    assert created.status_code == 201, created.text
    staff_id = created.json["id"]
    assert (created.json["email"], created.json["team_id"]) == ("agent@example.com", tier1)
    assert "password" not in created.text

    agent = desk.person("agent@example.com")
    me = desk.get("/api/v1/me", agent).json
    assert (me["role"], me["department_id"], me["team_id"]) == ("agent", support, tier1)

    foreign_team = desk.patch(
        f"{ADMIN}/staff/{staff_id}", admin, json={"department_id": sales, "team_id": tier1}
    )
    assert foreign_team.status_code == 422
    assert foreign_team.json["errors"][0]["field"] == "team_id"
    moved = desk.patch(f"{ADMIN}/staff/{staff_id}", admin, json={"department_id": sales})
    assert (moved.json["department_id"], moved.json["team_id"]) == (sales, None)
    promoted = desk.patch(f"{ADMIN}/staff/{staff_id}", admin, json={"role": "lead"})
    assert promoted.json["role"] == "lead"
    listed = desk.get(f"{ADMIN}/staff", admin, params={"role": "lead"}).json["items"]
    assert [s["id"] for s in listed] == [staff_id]

    assert (
        desk.patch(f"{ADMIN}/staff/{staff_id}", admin, json={"active": False}).json["active"]
        is False
    )
    assert desk.get("/api/v1/me", agent).status_code == 401
    assert desk.login("agent@example.com").status_code == 401
    assert (
        desk.patch(f"{ADMIN}/staff/{staff_id}", admin, json={"active": True}).json["active"] is True
    )
    assert desk.login("agent@example.com").status_code == 200


def test_agents_and_leads_need_a_department(sql_helpdesk: Helpdesk, admin: Person) -> None:
    result = sql_helpdesk.post(
        f"{ADMIN}/staff",
        admin,
        json={
            "email": "x@example.com",
            "display_name": "X",
            "password": PASSWORD,
            "role": "agent",
        },
    )
    assert result.status_code == 422
    assert result.json["errors"][0]["field"] == "department_id"


def test_the_last_admin_cannot_be_removed(sql_helpdesk: Helpdesk, admin: Person) -> None:
    result = sql_helpdesk.patch(f"{ADMIN}/staff/{admin.id}", admin, json={"role": "agent"})
    assert result.status_code == 409
    assert (
        sql_helpdesk.patch(f"{ADMIN}/staff/{admin.id}", admin, json={"active": False}).status_code
        == 409
    )
    assert sql_helpdesk.get("/api/v1/me", admin).json["role"] == "admin"


@pytest.fixture
def redis_helpdesk(postgres_db_url: str) -> Iterator[Helpdesk]:
    desk, services = make_helpdesk(
        database_url=postgres_db_url,
        redis_url=redis_url(),
        redis_prefix=f"test-{uuid.uuid4().hex[:12]}:",
    )
    yield desk
    services.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_the_redis_cache_never_serves_a_stale_name(redis_helpdesk: Helpdesk) -> None:
    desk = redis_helpdesk
    admin = desk.staff("admin")
    department = create_department(desk, admin, "Billing")
    for name in ("Money", "Cash", "Invoices"):
        assert desk.get("/api/v1/departments").json["items"][0]["name"] != name
        desk.patch(f"{ADMIN}/departments/{department['id']}", admin, json={"name": name})
        assert desk.get("/api/v1/departments").json["items"][0]["name"] == name


def test_a_name_whose_key_grows_when_casefolded_is_stored(
    sql_helpdesk: Helpdesk, admin: Person
) -> None:
    name = "ß" * 100  # casefolds to 200 characters
    created = sql_helpdesk.post(f"{ADMIN}/departments", admin, json={"name": name})
    assert created.status_code == 201, created.text
    same_key = "\u1e9e" * 100  # capital sharp s: casefolds to "ss" as well
    clash = sql_helpdesk.post(f"{ADMIN}/departments", admin, json={"name": same_key})
    assert clash.status_code == 409
