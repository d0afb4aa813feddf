"""The organization: departments, teams and staff, managed by administrators.

Every change bumps the organization's generation (a counter, in the same transaction), which
keys the reference cache: no process can serve a department or team name older than the last
committed change.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import attrs

from helpdesk_core.documents import (
    department_document,
    staff_document,
    team_document,
    user_document,
)
from helpdesk_core.domain.entities import Department, StaffMember, Team, User
from helpdesk_core.domain.errors import Conflict, NotFound, ValidationFailed
from helpdesk_core.domain.events import ORG_KEY, user_key
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import StaffRole, clean_text, normalize_email
from helpdesk_core.domain.views import Account
from helpdesk_core.domain.views import StaffProfile as StaffProfile
from helpdesk_core.policies import require_admin
from helpdesk_core.ports.cache import OrgSnapshot, ReferenceCache
from helpdesk_core.ports.repositories import StaffFilter
from helpdesk_core.ports.security import PasswordHasher
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import Transaction, UnitOfWork
from helpdesk_core.usecases.auth import (
    DISPLAY_NAME_MAX,
    ORG_GENERATION,
    AuthPolicy,
    check_password,
)
from helpdesk_core.usecases.events import publish
from helpdesk_core.usecases.host_users import (
    EnsureStaff,
    brought_up_to_date,
    clean,
    ensure,
    new_user,
)

NAME_MAX = 100


@attrs.frozen
class CreateDepartment:
    name: str
    auto_assign: bool = False


@attrs.frozen
class UpdateDepartment:
    name: str | None = None
    auto_assign: bool | None = None
    active: bool | None = None


@attrs.frozen
class CreateTeam:
    name: str
    department_id: uuid.UUID


@attrs.frozen
class UpdateTeam:
    name: str | None = None
    active: bool | None = None


@attrs.frozen
class CreateStaff:
    email: str
    display_name: str
    password: str = attrs.field(repr=False)
    role: StaffRole
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


@attrs.frozen
class UpdateStaff:
    """A change of a staff profile. ``department_id`` and ``team_id`` apply only when their
    ``change_*`` flag is set, so "move out of every team" (None) differs from "keep"."""

    role: StaffRole | None = None
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    active: bool | None = None
    change_department: bool = False
    change_team: bool = False


def _name(value: str, field: str = "name") -> str:
    return clean_text(value, field, max_length=NAME_MAX)


@attrs.define
class OrgService:
    """Administration of departments, teams and staff, plus the public department list."""

    _uow: UnitOfWork
    _cache: ReferenceCache
    _hasher: PasswordHasher
    _clock: Clock
    _ids: IdGenerator
    _policy: AuthPolicy

    # ------------------------------------------------------------ reads for everyone

    def snapshot(self) -> OrgSnapshot:
        """Every department and team, from the cache when it holds the current generation."""
        with self._uow.begin(read_only=True) as tx:
            generation = tx.counters.current_value(ORG_GENERATION)
            snapshot = self._cache.get_org(generation)
            if snapshot is not None:
                return snapshot
            snapshot = OrgSnapshot(
                departments=tuple(tx.departments.list()), teams=tuple(tx.teams.list())
            )
        self._cache.set_org(generation, snapshot)
        return snapshot

    def public_departments(self) -> Sequence[Department]:
        """The active departments a customer may choose when opening a ticket."""
        return self.snapshot().active_departments()

    # ------------------------------------------------------------ departments

    def list_departments(self, actor: Principal, active: bool | None = None) -> list[Department]:
        require_admin(actor, "list departments")
        return [d for d in self.snapshot().departments if active is None or d.is_active == active]

    def get_department(self, actor: Principal, department_id: uuid.UUID) -> Department:
        require_admin(actor, "read departments")
        with self._uow.begin(read_only=True) as tx:
            return _department(tx, department_id)

    def create_department(self, actor: Principal, command: CreateDepartment) -> Department:
        require_admin(actor, "create departments")
        now = self._clock.now()
        department = Department(
            id=self._ids.new_id(),
            name=_name(command.name),
            auto_assign=command.auto_assign,
            created_at=now,
            updated_at=now,
        )
        with self._uow.begin() as tx:
            tx.departments.add(department)
            self._event(tx, actor, "department.created", department=department_document(department))
            self._changed(tx)
        return department

    def update_department(
        self, actor: Principal, department_id: uuid.UUID, command: UpdateDepartment
    ) -> Department:
        require_admin(actor, "change departments")
        with self._uow.begin() as tx:
            current = _department(tx, department_id)
            changed = attrs.evolve(
                current,
                name=current.name if command.name is None else _name(command.name),
                auto_assign=_keep(command.auto_assign, current.auto_assign),
                is_active=_keep(command.active, current.is_active),
            )
            if changed == current:
                return current
            updated = attrs.evolve(
                changed, updated_at=self._clock.now(), version=current.version + 1
            )
            tx.departments.update(updated)
            self._event(tx, actor, "department.updated", department=department_document(updated))
            self._changed(tx)
        return updated

    # ------------------------------------------------------------ teams

    def list_teams(
        self, actor: Principal, department_id: uuid.UUID | None = None, active: bool | None = None
    ) -> list[Team]:
        require_admin(actor, "list teams")
        return [
            t
            for t in self.snapshot().teams
            if (department_id is None or t.department_id == department_id)
            and (active is None or t.is_active == active)
        ]

    def get_team(self, actor: Principal, team_id: uuid.UUID) -> Team:
        require_admin(actor, "read teams")
        with self._uow.begin(read_only=True) as tx:
            return _team(tx, team_id)

    def create_team(self, actor: Principal, command: CreateTeam) -> Team:
        require_admin(actor, "create teams")
        now = self._clock.now()
        name = _name(command.name)
        with self._uow.begin() as tx:
            department = tx.departments.get(command.department_id)
            if department is None:
                raise ValidationFailed.field("department_id", "no such department")
            if not department.is_active:
                raise ValidationFailed.field("department_id", "the department is deactivated")
            team = Team(
                id=self._ids.new_id(),
                department_id=department.id,
                name=name,
                created_at=now,
                updated_at=now,
            )
            tx.teams.add(team)
            self._event(tx, actor, "team.created", team=team_document(team))
            self._changed(tx)
        return team

    def update_team(self, actor: Principal, team_id: uuid.UUID, command: UpdateTeam) -> Team:
        require_admin(actor, "change teams")
        with self._uow.begin() as tx:
            current = _team(tx, team_id)
            changed = attrs.evolve(
                current,
                name=current.name if command.name is None else _name(command.name),
                is_active=_keep(command.active, current.is_active),
            )
            if changed == current:
                return current
            updated = attrs.evolve(
                changed, updated_at=self._clock.now(), version=current.version + 1
            )
            tx.teams.update(updated)
            self._event(tx, actor, "team.updated", team=team_document(updated))
            self._changed(tx)
        return updated

    # ------------------------------------------------------------ staff

    def list_staff(self, actor: Principal, where: StaffFilter) -> list[StaffProfile]:
        require_admin(actor, "list staff")
        with self._uow.begin(read_only=True) as tx:
            members = tx.staff.list(where)
            users = tx.users.get_many(m.user_id for m in members)
        return [StaffProfile(users[m.user_id], m) for m in members if m.user_id in users]

    def get_staff(self, actor: Principal, user_id: uuid.UUID) -> StaffProfile:
        require_admin(actor, "read staff")
        with self._uow.begin(read_only=True) as tx:
            return _profile(tx, user_id)

    def create_staff(self, actor: Principal, command: CreateStaff) -> StaffProfile:
        """A new user with a staff profile (role, department, team), able to log in at once."""
        require_admin(actor, "create staff")
        email = normalize_email(command.email)
        display_name = clean_text(command.display_name, "display_name", max_length=DISPLAY_NAME_MAX)
        check_password(command.password, self._policy, "password", email)
        password_hash = self._hasher.hash(command.password)  # outside the transaction: slow
        now = self._clock.now()
        user = User(
            id=self._ids.new_id(),
            email=email,
            display_name=display_name,
            password_hash=password_hash,
            created_at=now,
            updated_at=now,
        )
        with self._uow.begin() as tx:
            return self._add_staff(tx, actor, user, command)

    def ensure_staff(self, actor: Principal, command: EnsureStaff) -> StaffProfile:
        """The staff member an embedding program knows by ``command.external_id``: made
        without a password, with the command's role and place, the first time
        (``staff.created``); later only the email and name are brought up to date
        (``user.updated``). Conflict when the id names a customer, or the email is another
        account's."""
        require_admin(actor, "ensure staff")
        wanted = clean(command)
        now = self._clock.now()

        def existing(tx: Transaction, user: User) -> StaffProfile:
            staff = tx.staff.get(user.id)
            if staff is None:
                raise Conflict("the external id names a customer, not a staff member")
            updated = brought_up_to_date(user, wanted, now)
            if updated is None:
                return StaffProfile(user, staff)
            tx.users.update(updated)
            publish(
                tx,
                self._ids,
                now,
                "user.updated",
                user_key(user.id),
                {"user": user_document(updated)},
                actor.user_id,
            )
            tx.commit()
            return StaffProfile(updated, staff)

        def create(tx: Transaction) -> StaffProfile:
            return self._add_staff(tx, actor, new_user(wanted, self._ids.new_id(), now), command)

        return ensure(self._uow, wanted, existing, create)

    def _add_staff(
        self, tx: Transaction, actor: Principal, user: User, placed: CreateStaff | EnsureStaff
    ) -> StaffProfile:
        _check_placement(tx, placed.role, placed.department_id, placed.team_id)
        staff = StaffMember(
            user_id=user.id,
            role=placed.role,
            department_id=placed.department_id,
            team_id=placed.team_id,
            created_at=user.created_at,
            updated_at=user.created_at,
        )
        tx.users.add(user)
        tx.staff.add(staff)
        profile = StaffProfile(user, staff)
        self._event(tx, actor, "staff.created", staff=staff_document(profile))
        tx.commit()
        return profile

    def update_staff(
        self, actor: Principal, user_id: uuid.UUID, command: UpdateStaff
    ) -> StaffProfile:
        """Change role, department, team or active; deactivation ends every session."""
        require_admin(actor, "change staff")
        with self._uow.begin() as tx:
            profile = _profile(tx, user_id)
            current = profile.staff
            role = command.role if command.role is not None else current.role
            department_id = (
                command.department_id if command.change_department else current.department_id
            )
            team_id = command.team_id if command.change_team else current.team_id
            if command.change_department and not command.change_team and team_id is not None:
                team = tx.teams.get(team_id)  # moving departments leaves a foreign team
                if team is None or team.department_id != department_id:
                    team_id = None
            active = command.active if command.active is not None else current.is_active
            if user_id == actor.user_id and not active:
                raise Conflict("administrators cannot deactivate themselves")
            if current.role is StaffRole.ADMIN and (role is not StaffRole.ADMIN or not active):
                _keep_an_admin(tx, user_id)
            if (role, department_id, team_id) != (
                current.role,
                current.department_id,
                current.team_id,
            ):
                _check_placement(tx, role, department_id, team_id)
            updated = attrs.evolve(
                current,
                role=role,
                department_id=department_id,
                team_id=team_id,
                is_active=active,
            )
            if updated == current:
                return profile
            updated = attrs.evolve(
                updated, updated_at=self._clock.now(), version=current.version + 1
            )
            tx.staff.update(updated)
            if not active and current.is_active:  # every session ends, open reset links die
                tx.sessions.revoke_all(user_id, self._clock.now())
                tx.password_resets.invalidate_all(user_id, self._clock.now())
            data = {"staff": staff_document(StaffProfile(profile.user, updated))}
            if (role, department_id, team_id) != (
                current.role,
                current.department_id,
                current.team_id,
            ):
                self._event(tx, actor, "staff.updated", **data)
            if active != current.is_active:
                self._event(tx, actor, "staff.activated" if active else "staff.deactivated", **data)
            tx.commit()
        return StaffProfile(profile.user, updated)

    def account(self, user_id: uuid.UUID) -> Account:
        """The account of a user, for the CLI's output after changes."""
        with self._uow.begin(read_only=True) as tx:
            user = tx.users.get(user_id)
            if user is None:
                raise NotFound("no such user")
            return Account(user, tx.staff.get(user_id))

    # ------------------------------------------------------------ helpers

    def _event(self, tx: Transaction, actor: Principal, event_type: str, **data: Any) -> None:
        publish(tx, self._ids, self._clock.now(), event_type, ORG_KEY, data, actor.user_id)

    def _changed(self, tx: Transaction) -> None:
        tx.counters.next_value(ORG_GENERATION)  # invalidates every cached snapshot
        tx.commit()


def _keep(value: bool | None, current: bool) -> bool:
    return current if value is None else value


def _department(tx: Transaction, department_id: uuid.UUID) -> Department:
    department = tx.departments.get(department_id)
    if department is None:
        raise NotFound("no such department")
    return department


def _team(tx: Transaction, team_id: uuid.UUID) -> Team:
    team = tx.teams.get(team_id)
    if team is None:
        raise NotFound("no such team")
    return team


def _profile(tx: Transaction, user_id: uuid.UUID) -> StaffProfile:
    staff = tx.staff.get(user_id)
    user = tx.users.get(user_id) if staff is not None else None
    if staff is None or user is None:
        raise NotFound("no such staff member")
    return StaffProfile(user, staff)


def _check_placement(
    tx: Transaction, role: StaffRole, department_id: uuid.UUID | None, team_id: uuid.UUID | None
) -> None:
    """Agents and leads belong to an active department; a team must be of that department."""
    if role is not StaffRole.ADMIN and department_id is None:
        article = "an" if role.value[0] in "aeiou" else "a"
        raise ValidationFailed.field("department_id", f"{article} {role.value} needs a department")
    if department_id is not None:
        department = tx.departments.get(department_id)
        if department is None:
            raise ValidationFailed.field("department_id", "no such department")
        if not department.is_active:
            raise ValidationFailed.field("department_id", "the department is deactivated")
    if team_id is not None:
        team = tx.teams.get(team_id)
        if team is None:
            raise ValidationFailed.field("team_id", "no such team")
        if team.department_id != department_id:
            raise ValidationFailed.field("team_id", "the team belongs to another department")
        if not team.is_active:
            raise ValidationFailed.field("team_id", "the team is deactivated")


def _keep_an_admin(tx: Transaction, leaving: uuid.UUID) -> None:
    admins = tx.staff.list(StaffFilter(role=StaffRole.ADMIN, active=True))
    if not [a for a in admins if a.user_id != leaving]:
        raise Conflict("the last active administrator cannot be removed or demoted")
