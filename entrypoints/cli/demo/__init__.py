"""``helpdesk demo``: fill an empty database with a realistic sample, through the use cases.

Nothing here writes SQL: departments, teams and staff are created by the operator
(``SYSTEM_OPERATOR``), customers register, customers open and answer tickets, and staff assign,
reply, write internal notes, change status and priority, close and reopen, each acting as
themselves, so every rule applies and the history writes itself.

The sample (people, departments, texts) is data apart from the code that plays it:

- ``data``: the sample itself, pure data;
- ``clock``: the two ports replaced for the run (a clock the demo moves, seeded ids);
- ``organization``: the administrator, departments, teams, staff and customers;
- ``stories``: the tickets, each played to its final status;
- ``command``: the Click command, its checks, progress and summary.
"""

from __future__ import annotations

from entrypoints.cli.demo.command import COMMANDS, DEFAULT_PASSWORD, DEFAULT_TICKETS, demo

__all__ = ["COMMANDS", "DEFAULT_PASSWORD", "DEFAULT_TICKETS", "demo"]
