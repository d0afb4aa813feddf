"""Settings: every knob of the service, read from ``HELPDESK_*`` variables and an optional ``.env``.

One table (``VARIABLES``) names each variable, its default, how it is parsed and what it means;
``load_settings`` reads it, ``helpdesk config show`` prints it, and a test checks that
``.env.example`` and ``docs/configuration.md`` list every variable in it.
A bad value raises ``ConfigError`` naming the variable, the value and what is expected.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
from dotenv import dotenv_values

PREFIX = "HELPDESK_"
log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A variable has a value the service cannot use. The message is one line."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        super().__init__(f"{variable}={shown!r} is invalid: expected {expected}")
        self.variable = variable


# ---------------------------------------------------------------- parsers


def _str(raw: str) -> str:
    return raw.strip()


def _opt_str(raw: str) -> str | None:
    return raw.strip() or None


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if not low <= value <= high:
            raise ValueError
        return value

    parse.expected = f"a whole number from {low} to {high}"  # type: ignore[attr-defined]
    return parse


def _float_range(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw.strip())
        if not low <= value <= high:
            raise ValueError
        return value

    parse.expected = f"a number from {low:g} to {high:g}"  # type: ignore[attr-defined]
    return parse


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError


_bool.expected = "true or false"  # type: ignore[attr-defined]


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError
        return value

    parse.expected = "one of " + ", ".join(choices)  # type: ignore[attr-defined]
    return parse


def _bind(raw: str) -> str:
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError
    return raw.strip()


_bind.expected = "HOST:PORT, e.g. 127.0.0.1:8000"  # type: ignore[attr-defined]


def _database_url(raw: str) -> str:
    value = raw.strip()
    scheme = urlsplit(value).scheme
    if scheme not in {"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg", "memory"}:
        raise ValueError
    return value


_database_url.expected = (  # type: ignore[attr-defined]
    "a sqlite:///, postgresql+psycopg:// or memory:// URL"
)


def _redis_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError
    return value


_redis_url.expected = "a redis://, rediss:// or unix:// URL, or empty"  # type: ignore[attr-defined]


def _redis_prefix(raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > 64 or any(ch.isspace() for ch in value):
        raise ValueError
    return value


_redis_prefix.expected = "1 to 64 characters without spaces"  # type: ignore[attr-defined]


def _smtp_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"smtp", "smtps", "smtp+starttls"} or not parts.hostname:
        raise ValueError
    return value


_smtp_url.expected = (  # type: ignore[attr-defined]
    "smtp://[user:pass@]host[:port] (or smtps://, smtp+starttls://), or empty"
)


def _secret_keys(raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if any(len(k) < 32 for k in keys):
        raise ValueError
    return keys


_secret_keys.expected = (  # type: ignore[attr-defined]
    "comma-separated keys of at least 32 characters each, newest first"
)


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _mime_list(raw: str) -> tuple[str, ...]:
    items = tuple(item.strip().lower() for item in raw.split(",") if item.strip())
    for item in items:
        kind, sep, sub = item.partition("/")
        if not sep or not kind or not sub or " " in item:
            raise ValueError
    return items


_mime_list.expected = "comma-separated MIME types such as image/png,text/plain"  # type: ignore[attr-defined]


def _allowlist(raw: str) -> tuple[str, ...]:
    items = _csv(raw)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            if not item.replace("-", "").replace(".", "").isalnum():
                raise
    return items


_allowlist.expected = "comma-separated host names or CIDRs"  # type: ignore[attr-defined]


def _networks(raw: str) -> tuple[str, ...]:
    """IP addresses or CIDRs, normalized (``10.0.0.7`` becomes ``10.0.0.7/32``)."""
    return tuple(str(ipaddress.ip_network(item, strict=False)) for item in _csv(raw))


_networks.expected = "comma-separated IP addresses or CIDRs, e.g. 10.0.0.0/8"  # type: ignore[attr-defined]


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError
    return value


_log_level.expected = "DEBUG, INFO, WARNING, ERROR or CRITICAL"  # type: ignore[attr-defined]


def _cors_origins(raw: str) -> tuple[str, ...]:
    """Exact origins (``scheme://host[:port]``, as browsers send them), or ``*`` alone."""
    items = _csv(raw)
    if items == ("*",):
        return items
    origins = []
    for item in items:
        parts = urlsplit(item)
        if (
            parts.scheme.lower() not in {"http", "https"}
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
            or item.endswith(("?", "#"))
        ):
            raise ValueError
        parts.port  # noqa: B018 - raises ValueError on a bad port
        origins.append(f"{parts.scheme.lower()}://{parts.netloc.lower()}")
    return tuple(origins)


_cors_origins.expected = (  # type: ignore[attr-defined]
    "comma-separated origins such as https://app.example.com (scheme://host[:port], "
    "no path), * alone for any origin, or empty for none"
)


# ---------------------------------------------------------------- the table


@attrs.frozen
class Variable:
    """One setting: its environment name, default (as text), parser and meaning."""

    field: str
    default: str
    parse: Callable[[str], Any]
    help: str
    secret: bool = False

    @property
    def name(self) -> str:
        return PREFIX + self.field.upper()

    @property
    def expected(self) -> str:
        return str(getattr(self.parse, "expected", "a valid value"))


_MIB = 1024 * 1024
_DEFAULT_MIME = (
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,"
    "application/zip,application/json,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "env",
        "development",
        _choice("development", "production"),
        "development or production; production refuses to start without secret keys",
    ),
    Variable("bind", "127.0.0.1:8000", _bind, "address gunicorn listens on"),
    Variable("workers", "2", _int_range(1, 64), "gunicorn worker processes"),
    Variable("threads", "3", _int_range(1, 64), "threads per gunicorn worker (gthread when > 1)"),
    Variable(
        "worker_timeout",
        "30",
        _int_range(5, 600),
        "seconds gunicorn waits on a silent worker before restarting it",
    ),
    Variable(
        "request_read_timeout",
        "10",
        _float_range(1, 300),
        "seconds a client has to send a whole request (line, headers and body) before its"
        " connection is closed (408)",
    ),
    Variable(
        "database_url",
        "sqlite:///./helpdesk.db",
        _database_url,
        "sqlite:///path, postgresql+psycopg://user:pass@host/db, or memory:// (nothing kept)",
        secret=True,
    ),
    Variable("db_pool_size", "5", _int_range(1, 200), "connections kept open per process"),
    Variable(
        "db_max_overflow",
        "10",
        _int_range(0, 200),
        "extra connections a process may open under load",
    ),
    Variable(
        "db_pool_timeout",
        "5",
        _float_range(0.1, 120),
        "seconds to wait for a free pooled connection before answering 503",
    ),
    Variable(
        "db_connect_timeout",
        "2",
        _int_range(1, 60),
        "seconds to wait for a new database connection (libpq waits at least 2)",
    ),
    Variable(
        "db_statement_timeout",
        "3",
        _int_range(0, 3600),
        "seconds a PostgreSQL statement may run; an answer is awaited one more second, then the "
        "server counts as down (503). 0: no limit, and answers are awaited without a bound",
    ),
    Variable(
        "redis_url",
        "",
        _redis_url,
        "redis:// URL; empty means SQL and in-process fallbacks",
        secret=True,
    ),
    Variable(
        "redis_timeout",
        "0.5",
        _float_range(0.05, 30),
        "seconds a Redis command may take before it counts as failed",
    ),
    Variable(
        "redis_prefix",
        "helpdesk:",
        _redis_prefix,
        "prefix of every Redis key, so deployments can share one Redis",
    ),
    Variable(
        "health_timeout",
        "1",
        _float_range(0.1, 30),
        "seconds /health/ready waits for each dependency",
    ),
    Variable(
        "secret_keys",
        "",
        _secret_keys,
        "signing keys, comma-separated, newest first; generated in development if empty",
        secret=True,
    ),
    Variable(
        "secret_file",
        "./.helpdesk_secret",
        _str,
        "where development keeps its generated key, shared by every worker",
    ),
    Variable(
        "password_scheme",
        "argon2",
        _choice("argon2", "bcrypt"),
        "hash for new passwords; old hashes are upgraded at the next login",
    ),
    Variable(
        "argon2_memory_kib",
        "65536",
        _int_range(8, 4 * _MIB),
        "argon2id memory cost in KiB (OWASP floor: 19456)",
    ),
    Variable("argon2_time_cost", "3", _int_range(1, 20), "argon2id iterations (OWASP floor: 2)"),
    Variable("argon2_parallelism", "4", _int_range(1, 16), "argon2id lanes"),
    Variable("bcrypt_rounds", "12", _int_range(4, 20), "bcrypt cost when password_scheme=bcrypt"),
    Variable("password_min_length", "10", _int_range(1, 128), "shortest password accepted"),
    Variable(
        "password_max_length",
        "256",
        _int_range(16, 4096),
        "longest password accepted (longer is a 422)",
    ),
    Variable(
        "access_token_ttl",
        "3600",
        _int_range(60, 30 * 86400),
        "seconds an access token and its session live",
    ),
    Variable(
        "password_reset_ttl",
        "3600",
        _int_range(60, 7 * 86400),
        "seconds a password reset link stays valid",
    ),
    Variable(
        "login_rate_limit",
        "5",
        _int_range(1, 1000),
        "failed logins allowed per account in the window",
    ),
    Variable(
        "login_rate_window", "300", _int_range(1, 86400), "seconds of the failed-login window"
    ),
    Variable(
        "login_address_rate_limit",
        "50",
        _int_range(1, 100000),
        "failed logins allowed per client address (any accounts) in its window",
    ),
    Variable(
        "login_address_rate_window",
        "300",
        _int_range(1, 86400),
        "seconds of the per-address failed-login window",
    ),
    Variable(
        "forgot_password_rate_limit",
        "3",
        _int_range(1, 1000),
        "reset links asked for one email address (registered or not) in the window",
    ),
    Variable(
        "forgot_password_rate_window",
        "3600",
        _int_range(1, 86400),
        "seconds of the per-recipient reset-link window",
    ),
    Variable(
        "forgot_password_address_rate_limit",
        "20",
        _int_range(1, 100000),
        "reset links asked for from one client address (any emails) in its window",
    ),
    Variable(
        "forgot_password_address_rate_window",
        "3600",
        _int_range(1, 86400),
        "seconds of the per-address reset-link window",
    ),
    Variable(
        "register_address_rate_limit",
        "10",
        _int_range(1, 100000),
        "registrations sent from one client address in its window",
    ),
    Variable(
        "register_address_rate_window",
        "3600",
        _int_range(1, 86400),
        "seconds of the per-address registration window",
    ),
    Variable(
        "password_change_rate_limit",
        "5",
        _int_range(1, 1000),
        "wrong current passwords allowed per session in the window",
    ),
    Variable(
        "password_change_rate_window",
        "300",
        _int_range(1, 86400),
        "seconds of the per-session password-change window",
    ),
    Variable("page_size_default", "25", _int_range(1, 1000), "items in a list page by default"),
    Variable(
        "page_size_max", "100", _int_range(1, 1000), "largest limit a list accepts (above it: 422)"
    ),
    Variable(
        "max_body_bytes",
        str(_MIB),
        _int_range(1024, 100 * _MIB),
        "largest request body accepted (above it: 413)",
    ),
    Variable(
        "attachment_max_bytes",
        str(25 * _MIB),
        _int_range(1, 10 * 1024 * _MIB),
        "largest attachment a reference may declare",
    ),
    Variable(
        "attachment_mime_types",
        _DEFAULT_MIME,
        _mime_list,
        "MIME types attachments may have, comma-separated",
    ),
    Variable(
        "cache_ttl",
        "300",
        _int_range(1, 86400),
        "seconds cached departments, teams and ticket summaries live",
    ),
    Variable("auto_migrate", "false", _bool, "apply database migrations when the service starts"),
    Variable("log_level", "INFO", _log_level, "DEBUG, INFO, WARNING or ERROR"),
    Variable(
        "log_format",
        "auto",
        _choice("auto", "json", "text"),
        "json or text; auto is json in production and text in development",
    ),
    Variable(
        "metrics_dir",
        "",
        _opt_str,
        "folder for multi-process metrics; `helpdesk serve` makes a fresh one if empty",
    ),
    Variable(
        "smtp_url",
        "",
        _smtp_url,
        "smtp://user:pass@host:port; empty writes mail to the log",
        secret=True,
    ),
    Variable("mail_from", "helpdesk@localhost", _str, "sender address of outgoing mail"),
    Variable(
        "public_url", "http://127.0.0.1:8000", _str, "the address people use, for links in mail"
    ),
    Variable(
        "cors_origins",
        "",
        _cors_origins,
        "browser origins allowed to call the API (CORS), comma-separated; empty: CORS off",
    ),
    Variable(
        "cors_allow_credentials",
        "false",
        _bool,
        "let the listed origins send credentials (cookies); never with HELPDESK_CORS_ORIGINS=*",
    ),
    Variable(
        "trusted_proxies",
        "",
        _networks,
        "load balancers whose X-Forwarded-For names the client (login throttling, logs); "
        "empty: the connection's peer is the client",
    ),
    Variable(
        "webhook_allowlist",
        "",
        _allowlist,
        "hosts or CIDRs a webhook may reach although private or loopback; give every process "
        "(API and workers) the same list: a worker refusing an endpoint disables it",
    ),
    Variable(
        "webhook_timeout",
        "10",
        _float_range(0.1, 60),
        "seconds one webhook delivery attempt may take (connect and answer)",
    ),
    Variable(
        "webhook_max_attempts",
        "8",
        _int_range(1, 50),
        "attempts of one delivery before it is marked failed",
    ),
    Variable(
        "webhook_disable_after",
        "20",
        _int_range(1, 1000),
        "failed attempts in a row after which an endpoint is disabled",
    ),
    Variable(
        "retry_base_seconds",
        "5",
        _float_range(0.01, 3600),
        "first retry delay of a delivery or event; doubles each attempt, with jitter",
    ),
    Variable(
        "retry_max_seconds",
        "3600",
        _float_range(0.01, 86400),
        "longest delay between two retries",
    ),
    Variable(
        "event_max_attempts",
        "10",
        _int_range(1, 100),
        "attempts to handle one event (mail, fan-out) before it is marked failed",
    ),
    Variable(
        "event_retention_days",
        "30",
        _float_range(0, 36500),
        "days finished events and webhook deliveries (with their attempts) are kept before "
        "the worker deletes them; 0 keeps them forever",
    ),
    Variable(
        "worker_batch_size",
        "50",
        _int_range(1, 1000),
        "events one worker claims at a time",
    ),
    Variable(
        "worker_lease",
        "60",
        _float_range(0.5, 3600),
        "seconds a claim lasts; a dead worker's events are picked up again after it",
    ),
    Variable(
        "worker_poll_interval",
        "0.5",
        _float_range(0.01, 60),
        "seconds an idle worker waits before looking for work again",
    ),
    Variable(
        "embedded_worker",
        "true",
        _bool,
        "`helpdesk serve` also runs the event worker in each server process",
    ),
)


@attrs.frozen
class Settings:
    """Validated configuration. Build it with ``load_settings`` (or directly in tests)."""

    env: str = "development"
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    threads: int = 3  # docs/operations.md (sizing), docs/performance.md
    worker_timeout: int = 30
    request_read_timeout: float = 10.0  # docs/operations.md, slow clients
    database_url: str = attrs.field(default="sqlite:///./helpdesk.db", repr=False)
    db_pool_size: int = 5
    db_max_overflow: int = 10
    db_pool_timeout: float = 5.0
    db_connect_timeout: int = 2
    db_statement_timeout: int = 3
    redis_url: str | None = attrs.field(default=None, repr=False)
    redis_timeout: float = 0.5
    redis_prefix: str = "helpdesk:"
    health_timeout: float = 1.0
    secret_keys: tuple[str, ...] = attrs.field(default=(), repr=False)
    secret_file: str = "./.helpdesk_secret"  # noqa: S105 - a path
    password_scheme: str = "argon2"  # noqa: S105 - a name
    argon2_memory_kib: int = 65536
    argon2_time_cost: int = 3
    argon2_parallelism: int = 4
    bcrypt_rounds: int = 12
    password_min_length: int = 10
    password_max_length: int = 256
    access_token_ttl: int = 3600
    password_reset_ttl: int = 3600
    login_rate_limit: int = 5
    login_rate_window: int = 300
    login_address_rate_limit: int = 50
    login_address_rate_window: int = 300
    forgot_password_rate_limit: int = 3
    forgot_password_rate_window: int = 3600
    forgot_password_address_rate_limit: int = 20
    forgot_password_address_rate_window: int = 3600
    register_address_rate_limit: int = 10
    register_address_rate_window: int = 3600
    password_change_rate_limit: int = 5
    password_change_rate_window: int = 300
    page_size_default: int = 25
    page_size_max: int = 100
    max_body_bytes: int = _MIB
    attachment_max_bytes: int = 25 * _MIB
    attachment_mime_types: tuple[str, ...] = tuple(_DEFAULT_MIME.split(","))
    cache_ttl: int = 300
    auto_migrate: bool = False
    log_level: str = "INFO"
    log_format: str = "auto"
    metrics_dir: str | None = None
    smtp_url: str | None = attrs.field(default=None, repr=False)
    mail_from: str = "helpdesk@localhost"
    public_url: str = "http://127.0.0.1:8000"
    cors_origins: tuple[str, ...] = ()
    cors_allow_credentials: bool = False
    trusted_proxies: tuple[str, ...] = ()
    webhook_allowlist: tuple[str, ...] = ()
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 8
    webhook_disable_after: int = 20
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    event_max_attempts: int = 10
    event_retention_days: float = 30.0
    worker_batch_size: int = 50
    worker_lease: float = 60.0
    worker_poll_interval: float = 0.5
    embedded_worker: bool = True

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (self.log_format == "auto" and self.is_production)

    def redacted(self) -> dict[str, str]:
        """Every variable and its effective value, secrets masked (for ``config show``)."""
        shown: dict[str, str] = {}
        for var in VARIABLES:
            value = getattr(self, var.field)
            text = _as_text(value)
            if var.secret and text:
                text = _redact(var.field, text)
            shown[var.name] = text
        return shown


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword", "passfile", "sslkey", "token"})


def _redact(field: str, text: str) -> str:
    """A URL with its passwords masked (userinfo and query string); any other secret: ***."""
    if not field.endswith("_url"):
        return "***"
    parts = urlsplit(text)
    if parts.password:  # edit the text itself: geturl() would rewrite sqlite:/// and unix:///
        text = text.replace(":" + parts.password + "@", ":***@", 1)
    if parts.query:
        query = "&".join(
            f"{key}=***" if key.lower() in _SECRET_QUERY_KEYS else f"{key}{sep}{value}"
            for key, sep, value in (pair.partition("=") for pair in parts.query.split("&"))
        )
        text = text.replace("?" + parts.query, "?" + query, 1)
    return text


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
        raw = source.get(var.name, var.default)
        try:
            values[var.field] = var.parse(raw)
        except (ValueError, TypeError):
            shown = _redact(var.field, raw) if var.secret and raw.strip() else raw  # no secrets
            raise ConfigError(var.name, shown, var.expected) from None
    unknown = sorted(
        k
        for k in source
        if k.startswith(PREFIX) and k not in _NAMES and not k.startswith(_NOT_SETTINGS)
    )
    if unknown:
        log.warning("unknown configuration variables ignored: %s", ", ".join(unknown))
    settings = Settings(**values)
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
