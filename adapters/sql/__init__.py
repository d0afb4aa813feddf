"""The SQL adapter (SQLAlchemy Core, SQLite and PostgreSQL): the schema, the engine, the unit of
work, and a repository module per capability.

The conventions every repository follows:

- it takes the transaction's Connection and maps rows by explicit ``*_from_row`` functions;
  an update names the version it read, and matching no row is StaleVersion;
- a write that can break a constraint declares, once per constraint, what its refusal says
  (``refusals.py``): the Conflict names the broken rule, on either database;
- one way of running statements per repository: the repositories of the hot paths (users,
  sessions, departments and staff, counters, tickets, the outbox) build their statements once
  and run them as compiled statements (``compiled.py``); the others (teams, reset tokens,
  idempotency records, webhooks, deliveries) call ``Connection.execute``.

Modules: ``tables`` (THE schema), ``engine``, ``uow``, ``migrate``; the repositories in
``counters``, ``users`` (with ``customers``), ``org``, ``sessions``, ``tickets`` (with
``ticket_statements``, ``ticket_lists``, ``ticket_search``), ``idempotency``, ``outbox``,
``webhooks`` and ``deliveries``; what several of them use in ``shared``.
"""
