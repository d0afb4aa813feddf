"""The settings: each one's default, parser and meaning, written once, on a ``Settings`` field.

``setting(default, parse, help)`` declares a field; ``VARIABLES`` is derived from the fields, in
their order, and each ``Variable`` renders its default as text (``rendering.default_text``)
for ``.env.example``, ``docs/configuration.md`` and ``helpdesk config show``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from entrypoints.config import parsers
from entrypoints.config.rendering import as_text, default_text, redact

PREFIX = "HELPDESK_"
T = TypeVar("T")


def setting(default: T, parse: Callable[[str], Any], help: str, *, secret: bool = False) -> T:
    """A ``Settings`` field: its default value, the parser of its variable's text, and its
    meaning. A secret is kept out of ``repr`` and masked by ``redacted``."""
    return attrs.field(
        default=default,
        repr=not secret,
        metadata={"parse": parse, "help": help, "secret": secret},
    )


_MIB = 1024 * 1024
INBOUND_PREFIX = "/api/v1/inbound/"
"""Where providers POST received mail whole: bodies there may be up to
``HELPDESK_MAIL_MAX_BYTES`` and ``message/rfc822`` (the server and the app both know it)."""
UPLOAD_PATHS = r"/api/v1/(?:staff/)?tickets/[^/?]+/messages(?:\?|$)"
"""The message routes, which also take ``multipart/form-data`` (a message with files) up to
:func:`upload_max_bytes`."""


def upload_max_bytes(settings: Settings) -> int:
    """The largest message with files: a JSON body's limit plus one file of the largest size
    (several smaller files fit as well)."""
    return settings.max_body_bytes + settings.attachment_max_bytes


def large_bodies(settings: Settings) -> tuple[tuple[str, int], ...]:
    """The paths (patterns, from the start of the request target) that take bodies larger
    than ``HELPDESK_MAX_BODY_BYTES``, each with its limit: what the server's reader allows
    before the app sees a request."""
    return (
        (INBOUND_PREFIX, settings.mail_max_bytes),
        (UPLOAD_PATHS, upload_max_bytes(settings)),
    )


_ATTACHMENT_MIME_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/json",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


@attrs.frozen
class Settings:
    """Validated configuration. Build it with ``load_settings`` (or directly in tests)."""

    env: str = setting(
        "development",
        parsers.one_of("development", "production"),
        "development or production; production refuses to start without secret keys",
    )
    bind: str = setting("127.0.0.1:8000", parsers.bind_address, "address gunicorn listens on")
    workers: int = setting(2, parsers.whole(1, 64), "gunicorn worker processes")
    # threads: docs/operations.md (sizing), docs/performance.md
    threads: int = setting(
        3, parsers.whole(1, 64), "threads per gunicorn worker (gthread when > 1)"
    )
    worker_timeout: int = setting(
        30, parsers.whole(5, 600), "seconds gunicorn waits on a silent worker before restarting it"
    )
    # request_read_timeout: docs/operations.md, slow clients
    request_read_timeout: float = setting(
        10.0,
        parsers.number(1, 300),
        "seconds a client has to send a whole request (line, headers and body) before its"
        " connection is closed (408)",
    )
    database_url: str = setting(
        "sqlite:///./helpdesk.db",
        parsers.database_url,
        "sqlite:///path, postgresql+psycopg://user:pass@host/db, or memory:// (nothing kept)",
        secret=True,
    )
    db_pool_size: int = setting(5, parsers.whole(1, 200), "connections kept open per process")
    db_max_overflow: int = setting(
        10, parsers.whole(0, 200), "extra connections a process may open under load"
    )
    db_pool_timeout: float = setting(
        5.0,
        parsers.number(0.1, 120),
        "seconds to wait for a free pooled connection before answering 503",
    )
    db_connect_timeout: int = setting(
        2,
        parsers.whole(1, 60),
        "seconds to wait for a new database connection (libpq waits at least 2)",
    )
    db_statement_timeout: int = setting(
        3,
        parsers.whole(0, 3600),
        "seconds a PostgreSQL statement may run; an answer is awaited one more second, then the "
        "server counts as down (503). 0: no limit, and answers are awaited without a bound",
    )
    redis_url: str | None = setting(
        None,
        parsers.redis_url,
        "redis:// URL; empty means SQL and in-process fallbacks",
        secret=True,
    )
    redis_timeout: float = setting(
        0.5, parsers.number(0.05, 30), "seconds a Redis command may take before it counts as failed"
    )
    redis_prefix: str = setting(
        "helpdesk:",
        parsers.redis_prefix,
        "prefix of every Redis key, so deployments can share one Redis",
    )
    health_timeout: float = setting(
        1.0, parsers.number(0.1, 30), "seconds /health/ready waits for each dependency"
    )
    secret_keys: tuple[str, ...] = setting(
        (),
        parsers.secret_keys,
        "signing keys, comma-separated, newest first; generated in development if empty",
        secret=True,
    )
    secret_file: str = setting(
        "./.helpdesk_secret",
        parsers.text,
        "where development keeps its generated key, shared by every worker",
    )
    password_scheme: str = setting(
        "argon2",
        parsers.one_of("argon2", "bcrypt"),
        "hash for new passwords; old hashes are upgraded at the next login",
    )
    argon2_memory_kib: int = setting(
        65536, parsers.whole(8, 4 * _MIB), "argon2id memory cost in KiB (OWASP floor: 19456)"
    )
    argon2_time_cost: int = setting(3, parsers.whole(1, 20), "argon2id iterations (OWASP floor: 2)")
    argon2_parallelism: int = setting(4, parsers.whole(1, 16), "argon2id lanes")
    bcrypt_rounds: int = setting(
        12, parsers.whole(4, 20), "bcrypt cost when password_scheme=bcrypt"
    )
    password_min_length: int = setting(10, parsers.whole(1, 128), "shortest password accepted")
    password_max_length: int = setting(
        256, parsers.whole(16, 4096), "longest password accepted (longer is a 422)"
    )
    access_token_ttl: int = setting(
        3600, parsers.whole(60, 30 * 86400), "seconds an access token and its session live"
    )
    password_reset_ttl: int = setting(
        3600, parsers.whole(60, 7 * 86400), "seconds a password reset link stays valid"
    )
    login_rate_limit: int = setting(
        5, parsers.whole(1, 1000), "failed logins allowed per account in the window"
    )
    login_rate_window: int = setting(
        300, parsers.whole(1, 86400), "seconds of the failed-login window"
    )
    login_address_rate_limit: int = setting(
        50,
        parsers.whole(1, 100000),
        "failed logins allowed per client address (any accounts) in its window",
    )
    login_address_rate_window: int = setting(
        300, parsers.whole(1, 86400), "seconds of the per-address failed-login window"
    )
    forgot_password_rate_limit: int = setting(
        3,
        parsers.whole(1, 1000),
        "reset links asked for one email address (registered or not) in the window",
    )
    forgot_password_rate_window: int = setting(
        3600, parsers.whole(1, 86400), "seconds of the per-recipient reset-link window"
    )
    forgot_password_address_rate_limit: int = setting(
        20,
        parsers.whole(1, 100000),
        "reset links asked for from one client address (any emails) in its window",
    )
    forgot_password_address_rate_window: int = setting(
        3600, parsers.whole(1, 86400), "seconds of the per-address reset-link window"
    )
    register_address_rate_limit: int = setting(
        10, parsers.whole(1, 100000), "registrations sent from one client address in its window"
    )
    register_address_rate_window: int = setting(
        3600, parsers.whole(1, 86400), "seconds of the per-address registration window"
    )
    password_change_rate_limit: int = setting(
        5, parsers.whole(1, 1000), "wrong current passwords allowed per session in the window"
    )
    password_change_rate_window: int = setting(
        300, parsers.whole(1, 86400), "seconds of the per-session password-change window"
    )
    page_size_default: int = setting(25, parsers.whole(1, 1000), "items in a list page by default")
    page_size_max: int = setting(
        100, parsers.whole(1, 1000), "largest limit a list accepts (above it: 422)"
    )
    max_body_bytes: int = setting(
        _MIB, parsers.whole(1024, 100 * _MIB), "largest request body accepted (above it: 413)"
    )
    attachment_max_bytes: int = setting(
        25 * _MIB, parsers.whole(1, 10 * 1024 * _MIB), "largest attachment a reference may declare"
    )
    attachment_mime_types: tuple[str, ...] = setting(
        _ATTACHMENT_MIME_TYPES,
        parsers.mime_types,
        "MIME types attachments may have, comma-separated",
    )
    agents_create_tags: bool = setting(
        True,
        parsers.boolean,
        "agents may put a tag nobody used before on a ticket (leads and administrators always may)",
    )
    # blob_dir: adapters/blobs/filesystem.py (the layout, what a crash leaves)
    blob_dir: str = setting(
        "blobs",
        parsers.folder,
        "folder where the filesystem blob store keeps attachment files (relative to the working"
        " directory unless absolute)",
    )
    # blob_url and s3_*: adapters/blobs/s3.py (object names, what needs which permission)
    blob_url: str | None = setting(
        None,
        parsers.blob_url,
        "s3://bucket[/prefix] keeps attachment files in an S3 (or S3-compatible) bucket; "
        "empty: in the folder HELPDESK_BLOB_DIR",
    )
    s3_endpoint_url: str | None = setting(
        None,
        parsers.endpoint_url,
        "address of an S3-compatible server (MinIO, Ceph, ...); empty: AWS S3",
        secret=True,  # a URL: a password put into it is masked when refused
    )
    s3_region: str | None = setting(
        None,
        parsers.region,
        "region of the bucket; empty: boto3's own lookup (AWS_REGION, AWS_DEFAULT_REGION, "
        "~/.aws/config)",
    )
    mail_max_bytes: int = setting(
        50 * _MIB,
        parsers.whole(1024, 1024 * _MIB),
        "largest received mail taken in (whole message)",
    )
    mail_per_sender_per_hour: int = setting(
        30,
        parsers.whole(1, 100_000),
        "received mails one sender may have processed per hour (more are ignored as a flood)",
    )
    mail_per_ticket_per_hour: int = setting(
        60,
        parsers.whole(1, 100_000),
        "received mails one ticket may take per hour (more are ignored as a flood)",
    )
    # mail_poll_interval: helpdesk_core/usecases/mail/polling.py (who polls when)
    mail_poll_interval: float = setting(
        60.0,
        parsers.number(1, 86400),
        "seconds between two polls of a mailbox's IMAP server (by whichever worker comes first)",
    )
    cache_ttl: int = setting(
        300, parsers.whole(1, 86400), "seconds cached departments, teams and ticket summaries live"
    )
    auto_migrate: bool = setting(
        False, parsers.boolean, "apply database migrations when the service starts"
    )
    log_level: str = setting("INFO", parsers.log_level, "DEBUG, INFO, WARNING or ERROR")
    log_format: str = setting(
        "auto",
        parsers.one_of("auto", "json", "text"),
        "json or text; auto is json in production and text in development",
    )
    metrics_dir: str | None = setting(
        None,
        parsers.optional_text,
        "folder for multi-process metrics; `helpdesk serve` makes a fresh one if empty",
    )
    smtp_url: str | None = setting(
        None,
        parsers.smtp_url,
        "smtp://user:pass@host:port; empty writes mail to the log",
        secret=True,
    )
    mail_from: str = setting("helpdesk@localhost", parsers.text, "sender address of outgoing mail")
    public_url: str = setting(
        "http://127.0.0.1:8000", parsers.text, "the address people use, for links in mail"
    )
    cors_origins: tuple[str, ...] = setting(
        (),
        parsers.cors_origins,
        "browser origins allowed to call the API (CORS), comma-separated; empty: CORS off",
    )
    cors_allow_credentials: bool = setting(
        False,
        parsers.boolean,
        "let the listed origins send credentials (cookies); never with HELPDESK_CORS_ORIGINS=*",
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        parsers.networks,
        "load balancers whose X-Forwarded-For names the client (login throttling, logs); "
        "empty: the connection's peer is the client",
    )
    webhook_allowlist: tuple[str, ...] = setting(
        (),
        parsers.allowlist,
        "hosts or CIDRs a webhook may reach although private or loopback; give every process "
        "(API and workers) the same list: a worker refusing an endpoint disables it",
    )
    webhook_timeout: float = setting(
        10.0,
        parsers.number(0.1, 60),
        "seconds one webhook delivery attempt may take (connect and answer)",
    )
    webhook_max_attempts: int = setting(
        8, parsers.whole(1, 50), "attempts of one delivery before it is marked failed"
    )
    webhook_disable_after: int = setting(
        20, parsers.whole(1, 1000), "failed attempts in a row after which an endpoint is disabled"
    )
    retry_base_seconds: float = setting(
        5.0,
        parsers.number(0.01, 3600),
        "first retry delay of a delivery or event; doubles each attempt, with jitter",
    )
    retry_max_seconds: float = setting(
        3600.0, parsers.number(0.01, 86400), "longest delay between two retries"
    )
    event_max_attempts: int = setting(
        10,
        parsers.whole(1, 100),
        "attempts to handle one event (mail, fan-out) before it is marked failed",
    )
    event_retention_days: float = setting(
        30.0,
        parsers.number(0, 36500),
        "days finished events and webhook deliveries (with their attempts) are kept before "
        "the worker deletes them; 0 keeps them forever",
    )
    worker_batch_size: int = setting(
        50, parsers.whole(1, 1000), "events one worker claims at a time"
    )
    worker_lease: float = setting(
        60.0,
        parsers.number(0.5, 3600),
        "seconds a claim lasts; a dead worker's events are picked up again after it",
    )
    worker_poll_interval: float = setting(
        0.5, parsers.number(0.01, 60), "seconds an idle worker waits before looking for work again"
    )
    embedded_worker: bool = setting(
        True, parsers.boolean, "`helpdesk serve` also runs the event worker in each server process"
    )

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
            text = as_text(value)
            if var.secret and text:
                text = redact(var.field, text)
            shown[var.name] = text
        return shown


@attrs.frozen
class Variable:
    """One setting as an environment variable: its name, default, parser and meaning."""

    field: str
    value: Any  # the default, as Settings holds it
    parse: Callable[[str], Any]
    help: str
    secret: bool = False

    @property
    def name(self) -> str:
        return PREFIX + self.field.upper()

    @property
    def default(self) -> str:
        """The default as the variable would hold it (``.env.example`` and the docs)."""
        return default_text(self.value)

    @property
    def expected(self) -> str:
        return str(getattr(self.parse, "expected", "a valid value"))


VARIABLES: tuple[Variable, ...] = tuple(
    Variable(
        field.name,
        field.default,
        field.metadata["parse"],
        field.metadata["help"],
        field.metadata["secret"],
    )
    for field in attrs.fields(Settings)
)
