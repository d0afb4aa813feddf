"""Who is acting: the authenticated user, their role and their place in the organization."""

from __future__ import annotations

import uuid

import attrs

from helpdesk_core.domain.values import Role


@attrs.frozen
class Principal:
    """The actor of a use case; made by authentication, or by the CLI for an operator."""

    user_id: uuid.UUID
    role: Role
    department_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.CUSTOMER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


# The operator at the terminal (``helpdesk`` CLI): an administrator with no session.
SYSTEM_OPERATOR = Principal(user_id=uuid.UUID(int=0), role=Role.ADMIN)
