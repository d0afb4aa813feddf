"""The raw baseline's JSON: the documents the product answers, built by hand from rows (split
from baseline_app.py, which keeps the statements and the routes). ``tests/contract/
test_benchmark_baseline.py`` holds them equal to the product's."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

# Row positions of TICKET_COLUMNS.
T_ID, T_NUMBER, T_SUBJECT, T_DESCRIPTION, T_STATUS, T_PRIORITY = range(6)
T_REQUESTER, T_DEPARTMENT, T_TEAM, T_ASSIGNEE, T_CREATED, T_UPDATED, T_CLOSED, T_VERSION = range(
    6, 14
)
T_SLA_POLICY, T_SLA_DUE, T_SLA_WARN, T_SLA_PAUSED, T_SOURCE, T_TAGS = range(14, 20)
SLA_METRICS = ("first_response", "next_response", "resolution")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _ref(value: uuid.UUID | None, names: dict[uuid.UUID, str], key: str) -> Any:
    if value is None:
        return None
    return {"id": str(value), key: names.get(value)}


def sla_json(row: Sequence[Any], clocks: Mapping[uuid.UUID, Mapping[str, Any]]) -> Any:
    """The ticket's service level as the product shows it (null: no policy ever governed it);
    ``clocks``: the latest clock row of each metric, by ticket (``read_clocks``)."""
    if row[T_SLA_POLICY] is None:
        return None
    found = clocks.get(row[T_ID], {})
    return {
        "policy_id": str(row[T_SLA_POLICY]),
        "next_due_at": _iso(row[T_SLA_DUE]),
        **{metric: _clock_json(found.get(metric)) for metric in SLA_METRICS},
    }


def _clock_json(clock: Any) -> Any:
    if clock is None:
        return None
    _, _, cycle, started, since, due, met, breached, cancelled = clock
    if cancelled is not None:
        status = "cancelled"
    elif met is not None:
        status = "met"
    elif breached is not None:
        status = "breached"
    else:
        status = "running" if since is not None else "paused"
    return {
        "status": status,
        "cycle": cycle,
        "started_at": _iso(started),
        "due_at": _iso(due),
        "met_at": _iso(met),
        "breached_at": _iso(breached),
    }


def ticket_json(
    row: Sequence[Any],
    departments: dict[uuid.UUID, str],
    teams: dict[uuid.UUID, str],
    people: dict[uuid.UUID, str],
    with_description: bool,
    clocks: Mapping[uuid.UUID, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(row[T_ID]),
        "number": row[T_NUMBER],
        "subject": row[T_SUBJECT],
        "status": row[T_STATUS],
        "priority": row[T_PRIORITY],
        "requester": _ref(row[T_REQUESTER], people, "display_name"),
        "department": _ref(row[T_DEPARTMENT], departments, "name"),
        "team": _ref(row[T_TEAM], teams, "name"),
        "assignee": _ref(row[T_ASSIGNEE], people, "display_name"),
        "created_at": _iso(row[T_CREATED]),
        "updated_at": _iso(row[T_UPDATED]),
        "closed_at": _iso(row[T_CLOSED]),
        "version": row[T_VERSION],
        "source": row[T_SOURCE],
        "tags": row[T_TAGS] if len(row) > T_TAGS else [],  # a new ticket's row: none yet
        "sla": sla_json(row, clocks or {}),
    }
    if with_description:
        body["description"] = row[T_DESCRIPTION]
    return body


def attachment_json(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "id": str(row[0]),
        "url": row[4],
        "filename": row[5],
        "mime_type": row[6],
        "size_bytes": row[7],
        "checksum": row[8],
        "message_id": str(row[2]) if row[2] else None,
        "created_at": _iso(row[9]),
    }


def _event_ticket(row: Sequence[Any]) -> dict[str, Any]:
    """The ticket as events carried it in payload version 1 (ids, no names). The product's
    version 2 carries the API's document, a few bytes more; the baseline keeps this shape so
    that ratios measured before and after that change share one comparator."""
    return {
        "id": str(row[T_ID]),
        "number": row[T_NUMBER],
        "subject": row[T_SUBJECT],
        "status": row[T_STATUS],
        "priority": row[T_PRIORITY],
        "requester_id": str(row[T_REQUESTER]),
        "department_id": str(row[T_DEPARTMENT]) if row[T_DEPARTMENT] else None,
        "team_id": str(row[T_TEAM]) if row[T_TEAM] else None,
        "assignee_id": str(row[T_ASSIGNEE]) if row[T_ASSIGNEE] else None,
        "created_at": _iso(row[T_CREATED]),
        "updated_at": _iso(row[T_UPDATED]),
        "closed_at": _iso(row[T_CLOSED]),
        "version": row[T_VERSION],
    }
