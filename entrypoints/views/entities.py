"""How entities look in answers (API, CLI `--json`): explicit, so nothing secret can slip into
one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk_core.domain.entities import Department, Team, User
from helpdesk_core.ports.events import (
    DeliveryAttempt,
    DeliveryState,
    Webhook,
    WebhookDelivery,
)
from helpdesk_core.usecases.auth import Account
from helpdesk_core.usecases.customers import is_erased
from helpdesk_core.usecases.org import StaffProfile


def timestamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def account_json(account: Account) -> dict[str, Any]:
    user, staff = account.user, account.staff
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "role": account.role.value,
        "department_id": str(staff.department_id) if staff and staff.department_id else None,
        "team_id": str(staff.team_id) if staff and staff.team_id else None,
        "active": user.is_active and (staff.is_active if staff else True),
        "created_at": timestamp(user.created_at),
    }


def department_json(department: Department) -> dict[str, Any]:
    return {
        "id": str(department.id),
        "name": department.name,
        "auto_assign": department.auto_assign,
        "active": department.is_active,
        "created_at": timestamp(department.created_at),
        "updated_at": timestamp(department.updated_at),
        "version": department.version,
    }


def public_department_json(department: Department) -> dict[str, Any]:
    return {"id": str(department.id), "name": department.name}


def team_json(team: Team) -> dict[str, Any]:
    return {
        "id": str(team.id),
        "department_id": str(team.department_id),
        "name": team.name,
        "active": team.is_active,
        "created_at": timestamp(team.created_at),
        "updated_at": timestamp(team.updated_at),
        "version": team.version,
    }


def staff_json(profile: StaffProfile) -> dict[str, Any]:
    user, staff = profile.user, profile.staff
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "role": staff.role.value,
        "department_id": str(staff.department_id) if staff.department_id else None,
        "team_id": str(staff.team_id) if staff.team_id else None,
        "active": staff.is_active,
        "created_at": timestamp(staff.created_at),
        "updated_at": timestamp(staff.updated_at),
        "version": staff.version,
    }


def customer_json(user: User) -> dict[str, Any]:
    """A customer account, as the admin routes and `helpdesk users ... --json` show it (never
    the password hash)."""
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "active": user.is_active,
        "erased": is_erased(user),
        "created_at": timestamp(user.created_at),
        "updated_at": timestamp(user.updated_at),
        "version": user.version,
    }


def webhook_json(webhook: Webhook) -> dict[str, Any]:
    """A webhook endpoint; never its secret (shown once, by the creating request only)."""
    return {
        "id": str(webhook.id),
        "url": webhook.url,
        "events": list(webhook.events),
        "description": webhook.description,
        "active": webhook.is_active,
        "consecutive_failures": webhook.consecutive_failures,
        "disabled_reason": webhook.disabled_reason,
        "created_at": timestamp(webhook.created_at),
        "updated_at": timestamp(webhook.updated_at),
    }


def delivery_attempt_json(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt,
        "outcome": attempt.outcome.value,
        "status_code": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "created_at": timestamp(attempt.created_at),
    }


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    """One event on its way to one endpoint, with every attempt (oldest first)."""
    pending = delivery.state is DeliveryState.PENDING
    return {
        "id": str(delivery.id),
        "event_id": str(delivery.event_id),
        "event_type": delivery.event_type,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        # Only a pending delivery has a next attempt; a finished one shows null.
        "next_attempt_at": timestamp(delivery.next_attempt_at) if pending else None,
        "created_at": timestamp(delivery.created_at),
        "completed_at": timestamp(delivery.completed_at),
        "attempt_log": [delivery_attempt_json(a) for a in delivery.attempt_log],
    }
