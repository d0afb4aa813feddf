"""The refusals the SQL repositories declare (adapters/sql/refusals.py) name real constraints.

On PostgreSQL a write without a savepoint is explained by the name of the constraint it broke:
a declared name that no constraint has would leave that refusal with the generic message, and
only the tests that break that very constraint on PostgreSQL would notice.
"""

from __future__ import annotations

import importlib
import pkgutil

import adapters.sql
from adapters.sql.refusals import Refusals
from adapters.sql.tables import metadata


def _declared() -> dict[str, Refusals[object]]:
    found: dict[str, Refusals[object]] = {}
    for module in pkgutil.iter_modules(adapters.sql.__path__, "adapters.sql."):
        for name, value in vars(importlib.import_module(module.name)).items():
            if isinstance(value, Refusals):
                found[f"{module.name}.{name}"] = value
    return found


def test_every_repository_module_declares_its_refusals() -> None:
    modules = {name.rsplit(".", 1)[0] for name in _declared()}
    assert modules >= {
        "adapters.sql.calendars",
        "adapters.sql.deliveries",
        "adapters.sql.idempotency",
        "adapters.sql.org",
        "adapters.sql.outbox",
        "adapters.sql.sessions",
        "adapters.sql.tickets",
        "adapters.sql.users",
        "adapters.sql.webhooks",
    }


def test_every_declared_constraint_exists_once_per_write() -> None:
    names = {str(c.name) for table in metadata.tables.values() for c in table.constraints}
    # A unique index refuses as a constraint does (SQLite adds none to a table in place).
    names |= {
        str(index.name)
        for table in metadata.tables.values()
        for index in table.indexes
        if index.unique
    }
    for where, refusals in _declared().items():
        declared = [rule.constraint for rule in refusals.rules]
        assert set(declared) <= names, (where, set(declared) - names)
        assert len(declared) == len(set(declared)), (where, declared)
