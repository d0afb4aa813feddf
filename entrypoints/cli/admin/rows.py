"""The output of the organization commands: ``--json`` prints the API's documents
(``helpdesk_core.documents``); a table row is that document with the names of the department
and team it refers to, for the eye."""

from __future__ import annotations

import json
import uuid
from typing import Any

import click

from helpdesk_core.documents import staff_document, team_document, timestamp
from helpdesk_core.domain.entities import Team
from helpdesk_core.usecases.org import StaffProfile

__all__ = ["report", "staff_report", "staff_row", "team_row", "timestamp"]


def team_row(team: Team, departments: dict[uuid.UUID, str]) -> dict[str, Any]:
    """A team as the table shows it: its document with its department's name."""
    return {**team_document(team), "department": departments.get(team.department_id)}


def staff_row(
    profile: StaffProfile, departments: dict[uuid.UUID, str], teams: dict[uuid.UUID, str]
) -> dict[str, Any]:
    """A staff member as the table shows it: the document with department and team names."""
    staff = profile.staff
    return {
        **staff_document(profile),
        "department": departments.get(staff.department_id) if staff.department_id else None,
        "team": teams.get(staff.team_id) if staff.team_id else None,
    }


def report(as_json: bool, document: dict[str, Any], message: str) -> None:
    """A change's outcome: one confirmation line, or the changed entity's document."""
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(message)


def staff_report(profile: StaffProfile, as_json: bool, message: str) -> None:
    report(as_json, staff_document(profile), message)
