"""Reading the settings: ``load_settings`` from the environment and ``.env``, with the checks
that span several variables, and ``ensure_secret_keys`` for development.

A bad value raises ``ConfigError`` naming the variable, the value and what is expected.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from dotenv import dotenv_values

from entrypoints.config.rendering import as_text, redact
from entrypoints.config.settings import PREFIX, VARIABLES, Settings, Variable

log = logging.getLogger("entrypoints.config")  # the package's name, as operators filter on it


class ConfigError(Exception):
    """A variable has a value the service cannot use. The message is one line."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        super().__init__(f"{variable}={shown!r} is invalid: expected {expected}")
        self.variable = variable


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from ``environ`` (default: the process environment) over ``env_file``.

    Values in the environment win over the file. Raises ConfigError on the first bad value,
    and on a production configuration without secret keys.
    """
    source: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        source.update({k: v or "" for k, v in dotenv_values(env_file).items()})
    source.update(os.environ if environ is None else environ)

    values: dict[str, Any] = {}
    for var in VARIABLES:
        raw = source.get(var.name)
        if raw is None:
            continue  # Settings holds the default: the one place it is written
        values[var.field] = _parsed(var, raw)
    unknown = sorted(
        k
        for k in source
        if k.startswith(PREFIX) and k not in _NAMES and not k.startswith(_NOT_SETTINGS)
    )
    if unknown:
        log.warning("unknown configuration variables ignored: %s", ", ".join(unknown))
    return check_across(Settings(**values))


def check_settings(settings: Settings) -> Settings:
    """Settings built in code, held to exactly the rules of settings read from the environment:
    each value is written as its variable would hold it and parsed back by that variable's
    parser (so a value the environment would refuse is refused, naming the variable, and one
    it would normalize is normalized), then the rules spanning several variables are checked.
    """
    values: dict[str, Any] = {}
    for var in VARIABLES:
        raw = as_text(getattr(settings, var.field))
        values[var.field] = _parsed(var, raw)
    return check_across(Settings(**values))


def _parsed(var: Variable, raw: str) -> Any:
    try:
        return var.parse(raw)
    except (ValueError, TypeError):
        shown = redact(var.field, raw) if var.secret and raw.strip() else raw  # no secrets
        raise ConfigError(var.name, shown, var.expected) from None


def check_across(settings: Settings) -> Settings:
    """``settings`` when the rules spanning several variables hold; ConfigError otherwise."""
    if settings.page_size_default > settings.page_size_max:
        raise ConfigError(
            "HELPDESK_PAGE_SIZE_DEFAULT",
            str(settings.page_size_default),
            f"at most HELPDESK_PAGE_SIZE_MAX ({settings.page_size_max})",
        )
    if settings.is_production and not settings.secret_keys:
        raise ConfigError("HELPDESK_SECRET_KEYS", "", "at least one key in production")
    if settings.cors_allow_credentials and "*" in settings.cors_origins:
        raise ConfigError(
            "HELPDESK_CORS_ORIGINS",
            "*",
            "exact origins while HELPDESK_CORS_ALLOW_CREDENTIALS is on (any site could act "
            "as the user)",
        )
    if settings.is_production and settings.password_scheme == "argon2":  # noqa: S105
        # OWASP's floor for argon2id: cheap test parameters must never reach production.
        if settings.argon2_memory_kib < 19456:
            raise ConfigError(
                "HELPDESK_ARGON2_MEMORY_KIB",
                str(settings.argon2_memory_kib),
                "at least 19456 (19 MiB) in production",
            )
        if settings.argon2_time_cost < 2:
            raise ConfigError(
                "HELPDESK_ARGON2_TIME_COST",
                str(settings.argon2_time_cost),
                "at least 2 in production",
            )
    if (
        settings.is_production
        and settings.password_scheme == "bcrypt"  # noqa: S105
        and (settings.bcrypt_rounds < 10)
    ):
        raise ConfigError(
            "HELPDESK_BCRYPT_ROUNDS", str(settings.bcrypt_rounds), "at least 10 in production"
        )
    return settings


_NAMES = frozenset(var.name for var in VARIABLES) | {"HELPDESK_VENV"}
# Variables of the test suite and CI share the prefix but are not settings.
_NOT_SETTINGS = ("HELPDESK_TEST_", "HELPDESK_CI_")


def ensure_secret_keys(settings: Settings) -> Settings:
    """Settings that have keys: the configured ones, or in development a generated key.

    The generated key lives in ``secret_file`` so every worker of one server, and the next
    restart, sign and verify with the same key. Creating it is atomic (link, not open), so two
    workers starting at once end up reading the same file.
    """
    if settings.secret_keys:
        return settings
    if settings.is_production:
        raise ConfigError("HELPDESK_SECRET_KEYS", "", "at least one key in production")
    path = Path(settings.secret_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".helpdesk_secret.")
        try:
            os.write(fd, secrets.token_urlsafe(48).encode())
            os.close(fd)
            try:
                os.link(tmp, path)  # fails if another process won the race: then read theirs
                log.warning(
                    "HELPDESK_SECRET_KEYS is not set: generated a development key in %s; "
                    "set HELPDESK_SECRET_KEYS in production",
                    path,
                )
            except FileExistsError:
                pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(
            "HELPDESK_SECRET_FILE", str(path), "a file holding a key of 32+ characters"
        )
    return attrs.evolve(settings, secret_keys=(key,))
