"""Who may do what: role-based rules plus scope, as pure functions.

Use cases call these before they touch anything, so the HTTP API, the CLI and an embedding
program obey the same rules. Out-of-scope *reads* of a ticket are NotFound (no existence leak);
these functions cover actions whose target is not secret.
"""

from __future__ import annotations

from helpdesk_core.domain.errors import PermissionDenied
from helpdesk_core.domain.principal import Principal
from helpdesk_core.domain.values import Role

STAFF_ROLES = frozenset({Role.AGENT, Role.LEAD, Role.ADMIN})


def require_admin(actor: Principal, action: str) -> None:
    """Only administrators manage departments, teams, staff and webhooks."""
    if actor.role is not Role.ADMIN:
        raise PermissionDenied(f"only administrators may {action}")


def require_staff(actor: Principal, action: str) -> None:
    """Agents, leads and administrators work tickets; customers may not."""
    if actor.role not in STAFF_ROLES:
        raise PermissionDenied(f"only staff may {action}")


def require_lead(actor: Principal, action: str) -> None:
    """Leads (and administrators) assign work to others."""
    if actor.role not in {Role.LEAD, Role.ADMIN}:
        raise PermissionDenied(f"only leads and administrators may {action}")


def require_customer(actor: Principal, action: str) -> None:
    """The customer routes serve the people who request help; staff work from the queue."""
    if actor.role is not Role.CUSTOMER:
        raise PermissionDenied(f"only customers may {action}; staff use the staff routes")
