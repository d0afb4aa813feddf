"""``helpdesk admin|staff|departments|teams``: administer the organization from the terminal.

The person at the terminal owns the server, so these commands act as ``SYSTEM_OPERATOR`` (an
administrator) through the same use cases as the HTTP API: the same rules, the same errors.
Services are built inside each command (never at import time) and always closed.

Names or ids: wherever a command takes ``NAME_OR_ID``, a UUID is an id and anything else is a
name, matched case-insensitively (``name_key``); staff are named by email or id.

- ``services``: ``open_services`` and the ``--json`` option, shared by every operator command;
- ``names``: finding a department, team or staff member by name, email or id;
- ``rows``: the output shapes (a row per department, team or staff member) and ``timestamp``;
- ``staff``: the ``admin`` and ``staff`` commands;
- ``departments``: the ``departments`` and ``teams`` commands.

The helpers the other command modules share are importable from here as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from entrypoints.cli.admin import departments, staff
from entrypoints.cli.admin.names import (
    as_uuid,
    department_names,
    find_department,
    find_staff,
    find_team_in,
    team_names,
)
from entrypoints.cli.admin.rows import timestamp
from entrypoints.cli.admin.services import json_option, open_services

COMMANDS: Sequence[click.Command] = (*staff.COMMANDS, *departments.COMMANDS)

__all__ = [
    "COMMANDS",
    "as_uuid",
    "department_names",
    "find_department",
    "find_staff",
    "find_team_in",
    "json_option",
    "open_services",
    "team_names",
    "timestamp",
]
