"""The organization: public departments, and /api/v1/admin/{departments,teams,staff}."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import attrs
import cattrs
import falcon

from entrypoints.http.auth import principal
from entrypoints.http.converter import NOT_NULL, structure
from entrypoints.http.fields import invalid_body
from entrypoints.http.pagination import Part, is_id, is_text, is_time, page_request, paginate
from entrypoints.http.params import bool_param, enum_param, path_uuid, uuid_param
from helpdesk_core.documents import (
    department_document,
    public_department_document,
    staff_document,
    team_document,
)
from helpdesk_core.domain.values import StaffRole, name_key
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.usecases.org import (
    CreateDepartment,
    CreateStaff,
    CreateTeam,
    OrgService,
    UpdateDepartment,
    UpdateStaff,
    UpdateTeam,
)

BY_NAME: tuple[Part, ...] = (is_text, is_id)  # a department list's cursor: (name key, id)


@attrs.frozen
class StaffPatch:
    role: StaffRole | None = attrs.field(default=None, metadata=NOT_NULL)
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    active: bool | None = None


@attrs.define
class OrgResources:
    """Everything the organization resources share."""

    org: OrgService
    converter: cattrs.Converter
    page_default: int
    page_max: int

    def page(self, req: falcon.Request, shape: Sequence[Part]) -> Any:
        return page_request(req, self.page_default, self.page_max, shape)

    def body(self, req: falcon.Request, cls: type[Any]) -> Any:
        return structure(self.converter, req.get_media(), cls)


class PublicDepartments:
    """GET /departments: what a customer may choose when opening a ticket."""

    public = frozenset({"on_get"})

    def __init__(self, shared: OrgResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        departments = self._s.org.public_departments()
        resp.media = paginate(
            departments,
            lambda d: (name_key(d.name), str(d.id)),
            self._s.page(req, BY_NAME),
            public_department_document,
        )


class Departments:
    def __init__(self, shared: OrgResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = self._s.page(req, BY_NAME)
        items = self._s.org.list_departments(principal(req), bool_param(req, "active"))
        resp.media = paginate(
            items, lambda d: (name_key(d.name), str(d.id)), page, department_document
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        department = self._s.org.create_department(
            principal(req), self._s.body(req, CreateDepartment)
        )
        resp.media = department_document(department)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{department.id}"


class Department:
    def __init__(self, shared: OrgResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, department_id: str) -> None:
        resp.media = department_document(
            self._s.org.get_department(principal(req), path_uuid(department_id))
        )

    def on_patch(self, req: falcon.Request, resp: falcon.Response, department_id: str) -> None:
        actor = principal(req)
        command = self._s.body(req, UpdateDepartment)
        resp.media = department_document(
            self._s.org.update_department(actor, path_uuid(department_id), command)
        )


class Teams:
    def __init__(self, shared: OrgResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = self._s.page(req, (is_id, is_text, is_id))  # (department, name, id)
        items = self._s.org.list_teams(
            principal(req), uuid_param(req, "department_id"), bool_param(req, "active")
        )
        resp.media = paginate(
            items,
            lambda t: (str(t.department_id), name_key(t.name), str(t.id)),
            page,
            team_document,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        team = self._s.org.create_team(principal(req), self._s.body(req, CreateTeam))
        resp.media = team_document(team)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{team.id}"


class Team:
    def __init__(self, shared: OrgResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, team_id: str) -> None:
        resp.media = team_document(self._s.org.get_team(principal(req), path_uuid(team_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, team_id: str) -> None:
        actor = principal(req)
        command = self._s.body(req, UpdateTeam)
        resp.media = team_document(self._s.org.update_team(actor, path_uuid(team_id), command))


class StaffList:
    def __init__(self, shared: OrgResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = self._s.page(req, (is_time, is_id))  # (created_at, id)
        where = StaffFilter(
            department_id=uuid_param(req, "department_id"),
            team_id=uuid_param(req, "team_id"),
            role=enum_param(req, "role", StaffRole),
            active=bool_param(req, "active"),
        )
        items = self._s.org.list_staff(principal(req), where)
        resp.media = paginate(
            items, lambda p: (p.staff.created_at.isoformat(), str(p.user.id)), page, staff_document
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        profile = self._s.org.create_staff(principal(req), self._s.body(req, CreateStaff))
        resp.media = staff_document(profile)
        resp.status = falcon.HTTP_201
        resp.location = f"{req.root_path}{req.path}/{profile.user.id}"


class StaffMember:
    def __init__(self, shared: OrgResources) -> None:
        self._s = shared

    def on_get(self, req: falcon.Request, resp: falcon.Response, staff_id: str) -> None:
        resp.media = staff_document(self._s.org.get_staff(principal(req), path_uuid(staff_id)))

    def on_patch(self, req: falcon.Request, resp: falcon.Response, staff_id: str) -> None:
        actor = principal(req)
        media = req.get_media()
        patch = self._s.body(req, StaffPatch)
        if not isinstance(media, dict) or not media:
            raise invalid_body((), "name at least one field to change")
        command = UpdateStaff(
            role=patch.role,
            department_id=patch.department_id,
            team_id=patch.team_id,
            active=patch.active,
            change_department="department_id" in media,
            change_team="team_id" in media,
        )
        resp.media = staff_document(self._s.org.update_staff(actor, path_uuid(staff_id), command))


def add_org_routes(app: falcon.App, prefix: str, shared: OrgResources) -> None:
    app.add_route(f"{prefix}/departments", PublicDepartments(shared))
    app.add_route(f"{prefix}/admin/departments", Departments(shared))
    app.add_route(f"{prefix}/admin/departments/{{department_id}}", Department(shared))
    app.add_route(f"{prefix}/admin/teams", Teams(shared))
    app.add_route(f"{prefix}/admin/teams/{{team_id}}", Team(shared))
    app.add_route(f"{prefix}/admin/staff", StaffList(shared))
    app.add_route(f"{prefix}/admin/staff/{{staff_id}}", StaffMember(shared))
