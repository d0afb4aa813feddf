"""Development sessions: ``nox`` runs lint, typecheck and tests; ``nox -s bdd`` the features,
``nox -s features`` renders them to build/features/index.html, ``nox -s apidocs`` the library's
API reference to build/apidocs/."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole pytest suite (PostgreSQL/Redis parts run when their URLs are set)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *(session.posargs or ["-n", "2"]))


@nox.session(python=PYTHON)
def bdd(session: nox.Session) -> None:
    """Only the living documentation: the Gherkin features under features/."""
    session.install("-e", ".[dev]")
    session.run("pytest", "tests/bdd", *session.posargs)


@nox.session(python=PYTHON)
def features(session: nox.Session) -> None:
    """The features as one page, build/features/index.html: scripts/features.sh in this
    session's virtualenv (it installs the dev extra there). Fails when a scenario fails,
    a step has no definition, or a step definition is used by no feature."""
    venv = os.path.dirname(session.bin)
    env = {"HELPDESK_VENV": venv}
    session.run("bash", "scripts/features.sh", *session.posargs, env=env, external=True)


@nox.session(python=PYTHON)
def apidocs(session: nox.Session) -> None:
    """The library's API reference, build/apidocs/: scripts/apidocs.sh (pdoc over the module
    helpdesk, its __all__ only) in this session's virtualenv."""
    venv = os.path.dirname(session.bin)
    env = {"HELPDESK_VENV": venv}
    session.run("bash", "scripts/apidocs.sh", *session.posargs, env=env, external=True)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the import-linter contracts."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", "--no-cache")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy: strict on helpdesk_core, checked on adapters, entrypoints and this file."""
    session.install("-e", ".[dev]")
    session.run("mypy")
