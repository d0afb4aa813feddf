"""THE composition root: Settings in, a punq container and the resolved services out.

Nothing else imports punq or knows every adapter. Production, the CLI and the tests all come
through here; tests pass ``overrides`` (port -> instance) instead of patching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import punq

from adapters.blobs.filesystem import FilesystemBlobStore
from adapters.holidays import PackagePublicHolidays
from adapters.mail.imap import ImapFetchers
from adapters.mail.parsing import EmailParser
from adapters.memory.blobs import MemoryBlobStore
from adapters.memory.cache import (
    MemoryQueueCountsCache,
    MemoryRateLimiter,
    MemoryReferenceCache,
)
from adapters.memory.health import StaticProbe
from adapters.memory.uow import MemoryUnitOfWork
from adapters.roundrobin import FallbackRoundRobin, TransactionalRoundRobin
from adapters.security.passwords import LibpassHasher
from adapters.security.secretbox import FernetSecretBox
from adapters.security.tokens import ItsdangerousSigner
from adapters.system.clock import SystemClock, UuidGenerator
from adapters.webhooks.guard import NetworkUrlGuard
from adapters.webhooks.sender import HttpWebhookSender
from entrypoints.config import ConfigError, Settings
from helpdesk_core.domain.blobs import AttachmentLimits
from helpdesk_core.ports.assignment import QueueCountsCache, RoundRobinCounter
from helpdesk_core.ports.blobs import BlobStore
from helpdesk_core.ports.cache import RateLimiter, ReferenceCache
from helpdesk_core.ports.calendars import PublicHolidays
from helpdesk_core.ports.events import EventSink, UrlGuard, WebhookSender
from helpdesk_core.ports.health import DependencyProbe
from helpdesk_core.ports.mail import MailParser
from helpdesk_core.ports.mail_fetch import ImapPasswordBox, MailFetcherFactory
from helpdesk_core.ports.notifications import Mailer
from helpdesk_core.ports.secretbox import SecretBox
from helpdesk_core.ports.security import PasswordHasher, TokenSigner
from helpdesk_core.ports.system import Clock, IdGenerator
from helpdesk_core.ports.uow import UnitOfWork
from helpdesk_core.usecases.auth import AuthPolicy, AuthService
from helpdesk_core.usecases.calendars import CalendarService
from helpdesk_core.usecases.canned import CannedResponseService
from helpdesk_core.usecases.customers import CustomerService
from helpdesk_core.usecases.events import (
    Dispatcher,
    EventWorker,
    Handler,
    NullSink,
    WebhookFanout,
    WorkerPolicy,
)
from helpdesk_core.usecases.health import CheckReadiness
from helpdesk_core.usecases.macros import MacroService
from helpdesk_core.usecases.mail.imap_settings import MailboxImapService
from helpdesk_core.usecases.mail.intake import MailIntake, MailPolicy, MailWakeup
from helpdesk_core.usecases.mail.mailboxes import MailboxService
from helpdesk_core.usecases.mail.outbound import ReplyMail
from helpdesk_core.usecases.mail.polling import MailPoller, PollPolicy
from helpdesk_core.usecases.mail.processing import MailProcessor
from helpdesk_core.usecases.notifications import NotificationPolicy, NotificationService
from helpdesk_core.usecases.org import OrgService
from helpdesk_core.usecases.sla import SlaPolicyService
from helpdesk_core.usecases.tags import TagService
from helpdesk_core.usecases.tickets import TicketPolicy, TicketService
from helpdesk_core.usecases.tickets.files import TicketFiles
from helpdesk_core.usecases.webhooks import WebhookService

log = logging.getLogger(__name__)
WEBHOOK_SECRET_PURPOSE = "webhook-secret"  # noqa: S105 - the HKDF label, not a secret
IMAP_PASSWORD_PURPOSE = "mail-imap-password"  # noqa: S105 - the HKDF label, not a secret


@attrs.frozen
class Services:
    """What the entrypoints use: settings and use cases, resolved once at start."""

    settings: Settings
    readiness: CheckReadiness
    auth: AuthService
    org: OrgService
    tickets: TicketService
    webhooks: WebhookService
    customers: CustomerService
    calendars: CalendarService
    canned: CannedResponseService
    macros: MacroService
    sla: SlaPolicyService
    tags: TagService
    mailboxes: MailboxService
    mail_intake: MailIntake
    mail: MailProcessor
    mail_poller: MailPoller
    mailbox_imap: MailboxImapService
    blobs: BlobStore
    files: TicketFiles
    uow: UnitOfWork
    clock: Clock
    mailer: Mailer
    dispatcher: Dispatcher
    _worker_factory: Callable[[str | None, Mapping[str, Handler] | None], EventWorker]
    _closers: tuple[Callable[[], None], ...] = ()

    def new_worker(
        self, name: str | None = None, in_process: Mapping[str, Handler] | None = None
    ) -> EventWorker:
        """An event worker over this configuration (each thread or process makes its own).

        ``in_process`` maps the urls (``python:<name>``) of in-process endpoints to the
        callables this worker delivers them to; without it the worker never takes their
        deliveries (``helpdesk worker`` and a server's worker hold none)."""
        return self._worker_factory(name, in_process)

    def close(self) -> None:
        """Release pools, clients and threads (the process may exit without it)."""
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # closing is best effort
                log.debug("error while closing", exc_info=True)


def uses_memory(settings: Settings) -> bool:
    """Whether the configuration asks for the in-memory store (nothing kept)."""
    return settings.database_url.startswith("memory:")


def build_container(
    settings: Settings, overrides: Mapping[Any, Any] | None = None
) -> tuple[punq.Container, list[Callable[[], None]]]:
    """The container for ``settings``; ``overrides`` replace any registration by instance.

    Nothing connects here: engines and clients open their connections on first use.
    """
    container = punq.Container()
    closers: list[Callable[[], None]] = []
    container.register(Settings, instance=settings)
    container.register(Clock, SystemClock, scope=punq.Scope.singleton)
    container.register(IdGenerator, UuidGenerator, scope=punq.Scope.singleton)
    container.register(AuthPolicy, instance=auth_policy(settings))
    container.register(
        TicketPolicy,
        instance=TicketPolicy(
            attachment_max_bytes=settings.attachment_max_bytes,
            attachment_mime_types=settings.attachment_mime_types,
            agents_create_tags=settings.agents_create_tags,
        ),
    )
    container.register(PasswordHasher, instance=password_hasher(settings))
    keys = _secret_keys(settings)
    container.register(TokenSigner, instance=ItsdangerousSigner(keys))
    # Webhook signing secrets are stored sealed with keys derived from the same secret keys.
    container.register(SecretBox, instance=FernetSecretBox(keys, WEBHOOK_SECRET_PURPOSE))
    # Mailboxes' IMAP passwords: the same keys, a purpose of their own.
    container.register(ImapPasswordBox, instance=FernetSecretBox(keys, IMAP_PASSWORD_PURPOSE))

    probes: list[DependencyProbe] = []
    not_configured: list[str] = []
    engine: Any = None
    if uses_memory(settings):
        container.register(UnitOfWork, instance=MemoryUnitOfWork())
        probes.append(StaticProbe("database"))
        sql_limiter: RateLimiter = MemoryRateLimiter()
    else:
        from adapters.sql.engine import EngineOptions, create_engine
        from adapters.sql.health import DatabaseProbe
        from adapters.sql.ratelimit import SqlRateLimiter
        from adapters.sql.uow import SqlUnitOfWork
        from entrypoints.observability.metrics import instrument_pool

        engine = create_engine(
            settings.database_url,
            EngineOptions(
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout=settings.db_pool_timeout,
                connect_timeout=settings.db_connect_timeout,
                statement_timeout=settings.db_statement_timeout,
            ),
        )
        instrument_pool(engine, settings.db_pool_size)
        closers.append(engine.dispose)
        container.register(UnitOfWork, instance=SqlUnitOfWork(engine))
        probes.append(DatabaseProbe(engine))
        sql_limiter = SqlRateLimiter(engine)

    if settings.redis_url:
        from adapters.fallback import FallbackRateLimiter
        from adapters.redis.cache import (
            RedisRateLimiter,
            RedisReferenceCache,
            make_redis_converter,
        )
        from adapters.redis.client import RedisProbe, create_client
        from adapters.redis.counters import RedisQueueCountsCache, RedisRoundRobin

        client = create_client(settings.redis_url, settings.redis_timeout)
        closers.append(client.close)
        probes.append(RedisProbe(client))
        container.register(
            ReferenceCache,
            instance=RedisReferenceCache(
                client, make_redis_converter(), settings.cache_ttl, prefix=settings.redis_prefix
            ),
        )
        container.register(
            RateLimiter,
            instance=FallbackRateLimiter(
                RedisRateLimiter(client, prefix=settings.redis_prefix), sql_limiter
            ),
        )
        container.register(
            RoundRobinCounter,
            instance=FallbackRoundRobin(
                RedisRoundRobin(client, prefix=settings.redis_prefix), TransactionalRoundRobin()
            ),
        )
        container.register(
            QueueCountsCache,
            instance=RedisQueueCountsCache(client, settings.cache_ttl, settings.redis_prefix),
        )
    else:
        not_configured.append("redis")
        container.register(ReferenceCache, instance=MemoryReferenceCache())
        container.register(RateLimiter, instance=sql_limiter)
        container.register(RoundRobinCounter, instance=TransactionalRoundRobin())
        container.register(QueueCountsCache, instance=MemoryQueueCountsCache())

    container.register(Mailer, instance=_mailer(settings))
    container.register(
        NotificationPolicy,
        instance=NotificationPolicy(
            public_url=settings.public_url, password_reset_ttl=settings.password_reset_ttl
        ),
    )
    guard = NetworkUrlGuard(settings.webhook_allowlist)
    container.register(UrlGuard, instance=guard)
    container.register(
        WebhookSender, instance=HttpWebhookSender(guard, timeout_seconds=settings.webhook_timeout)
    )
    container.register(WorkerPolicy, instance=worker_policy(settings))
    container.register(EventSink, instance=_event_sink())
    container.register(PublicHolidays, instance=PackagePublicHolidays())
    # Attachments and received mail: objects in a bucket when HELPDESK_BLOB_URL names one
    # (boto3, an optional extra, imported only then; nothing is asked of the server yet); else
    # in memory with the in-memory store (nothing kept), else files under HELPDESK_BLOB_DIR
    # (folders made on the first write).
    blobs: BlobStore
    if settings.blob_url and settings.blob_url.startswith("s3://"):
        from adapters.blobs.s3 import S3BlobStore, split_s3_url

        bucket, prefix = split_s3_url(settings.blob_url)
        try:
            blobs = S3BlobStore(
                bucket,
                prefix,
                endpoint_url=settings.s3_endpoint_url,
                region=settings.s3_region,
            )
        except ImportError as missing:
            if not (missing.name or "").startswith(("boto3", "botocore")):
                raise
            raise ConfigError(
                "HELPDESK_BLOB_URL",
                settings.blob_url,
                "boto3 installed for an s3:// URL (pip install 'helpdesk[s3]')",
            ) from None
    elif uses_memory(settings):
        blobs = MemoryBlobStore()
    else:
        blobs = FilesystemBlobStore(settings.blob_dir)
    container.register(BlobStore, instance=blobs)
    container.register(
        AttachmentLimits,
        instance=AttachmentLimits(
            max_bytes=settings.attachment_max_bytes, types=settings.attachment_mime_types
        ),
    )
    container.register(TicketFiles)
    container.register(MailWakeup, instance=MailWakeup())  # one per process
    container.register(MailParser, instance=EmailParser())
    container.register(MailPolicy, instance=mail_policy(settings))
    container.register(MailFetcherFactory, instance=ImapFetchers())
    container.register(PollPolicy, instance=PollPolicy(settings.mail_poll_interval))

    readiness = CheckReadiness(probes, settings.health_timeout, not_configured)
    closers.append(readiness.close)
    container.register(CheckReadiness, instance=readiness)
    container.register(AuthService)
    container.register(OrgService)
    container.register(TicketService)
    container.register(WebhookService)
    container.register(CustomerService)
    container.register(CalendarService)
    container.register(CannedResponseService)
    container.register(MacroService)
    container.register(SlaPolicyService)
    container.register(TagService)
    container.register(MailboxService)
    container.register(MailIntake)
    container.register(MailProcessor)
    # One poller per process: its workers share when they next look for due mailboxes.
    container.register(MailPoller, scope=punq.Scope.singleton)
    container.register(MailboxImapService)
    container.register(ReplyMail)
    container.register(NotificationService)
    container.register(WebhookFanout)

    for key, value in (overrides or {}).items():
        container.register(key, instance=value)
    return container, closers


def bootstrap(settings: Settings, overrides: Mapping[Any, Any] | None = None) -> Services:
    """Build the container and resolve every service the entrypoints need."""
    container, closers = build_container(settings, overrides)
    dispatcher = Dispatcher()
    container.resolve(NotificationService).subscribe(dispatcher)
    container.resolve(ReplyMail).subscribe(dispatcher)
    dispatcher.subscribe("*", container.resolve(WebhookFanout), "webhook-fanout")

    def new_worker(name: str | None, in_process: Mapping[str, Handler] | None) -> EventWorker:
        worker = EventWorker(
            container.resolve(UnitOfWork),
            container.resolve(Clock),
            container.resolve(IdGenerator),
            dispatcher,
            container.resolve(WebhookSender),
            container.resolve(WorkerPolicy),
            container.resolve(SecretBox),
            container.resolve(EventSink),
            in_process=in_process or {},
            mail=container.resolve(MailProcessor).process_pending,
            mail_wakeup=container.resolve(MailWakeup).take,
            poll=container.resolve(MailPoller).poll_due,
        )
        if name:
            worker.name = name
        return worker

    return Services(
        settings=settings,
        readiness=container.resolve(CheckReadiness),
        auth=container.resolve(AuthService),
        org=container.resolve(OrgService),
        tickets=container.resolve(TicketService),
        webhooks=container.resolve(WebhookService),
        customers=container.resolve(CustomerService),
        calendars=container.resolve(CalendarService),
        canned=container.resolve(CannedResponseService),
        macros=container.resolve(MacroService),
        sla=container.resolve(SlaPolicyService),
        tags=container.resolve(TagService),
        mailboxes=container.resolve(MailboxService),
        mail_intake=container.resolve(MailIntake),
        mail=container.resolve(MailProcessor),
        mail_poller=container.resolve(MailPoller),
        mailbox_imap=container.resolve(MailboxImapService),
        blobs=container.resolve(BlobStore),
        files=container.resolve(TicketFiles),
        uow=container.resolve(UnitOfWork),
        clock=container.resolve(Clock),
        mailer=container.resolve(Mailer),
        dispatcher=dispatcher,
        worker_factory=new_worker,
        closers=tuple(closers),
    )


def mail_policy(settings: Settings) -> MailPolicy:
    return MailPolicy(
        max_message_bytes=settings.mail_max_bytes,
        per_sender_per_hour=settings.mail_per_sender_per_hour,
        per_ticket_per_hour=settings.mail_per_ticket_per_hour,
    )


def auth_policy(settings: Settings) -> AuthPolicy:
    return AuthPolicy(
        access_token_ttl=settings.access_token_ttl,
        password_reset_ttl=settings.password_reset_ttl,
        password_min_length=settings.password_min_length,
        password_max_length=settings.password_max_length,
        login_rate_limit=settings.login_rate_limit,
        login_rate_window=settings.login_rate_window,
        login_address_rate_limit=settings.login_address_rate_limit,
        login_address_rate_window=settings.login_address_rate_window,
        forgot_rate_limit=settings.forgot_password_rate_limit,
        forgot_rate_window=settings.forgot_password_rate_window,
        forgot_address_rate_limit=settings.forgot_password_address_rate_limit,
        forgot_address_rate_window=settings.forgot_password_address_rate_window,
        register_address_rate_limit=settings.register_address_rate_limit,
        register_address_rate_window=settings.register_address_rate_window,
        password_change_rate_limit=settings.password_change_rate_limit,
        password_change_rate_window=settings.password_change_rate_window,
        public_url=settings.public_url,
    )


def worker_policy(settings: Settings) -> WorkerPolicy:
    return WorkerPolicy(
        batch_size=settings.worker_batch_size,
        lease_seconds=settings.worker_lease,
        max_attempts=settings.event_max_attempts,
        retry_base_seconds=settings.retry_base_seconds,
        retry_max_seconds=settings.retry_max_seconds,
        webhook_timeout_seconds=settings.webhook_timeout,
        webhook_max_attempts=settings.webhook_max_attempts,
        webhook_disable_after=settings.webhook_disable_after,
        retention_days=settings.event_retention_days,
    )


def _event_sink() -> EventSink:
    try:
        from entrypoints.observability.metrics import PrometheusEventSink
    except ImportError:  # pragma: no cover - metrics are part of the distribution
        return NullSink()
    return PrometheusEventSink()


def password_hasher(settings: Settings) -> LibpassHasher:
    return LibpassHasher(
        scheme=settings.password_scheme,
        argon2_memory_kib=settings.argon2_memory_kib,
        argon2_time_cost=settings.argon2_time_cost,
        argon2_parallelism=settings.argon2_parallelism,
        bcrypt_rounds=settings.bcrypt_rounds,
    )


def _secret_keys(settings: Settings) -> tuple[str, ...]:
    if settings.secret_keys:
        return settings.secret_keys
    if settings.is_production:
        raise ConfigError("HELPDESK_SECRET_KEYS", "", "at least one key in production")
    # Embedded use without a key: one for this process only (tokens end with it).
    import secrets

    log.warning("no secret key configured: using a key that lives only in this process")
    return (secrets.token_urlsafe(48),)


def _mailer(settings: Settings) -> Mailer:
    from adapters.mail.mailers import LogMailer, SmtpMailer

    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_from, timeout=10.0)
    if settings.is_production:
        # No warning here: every CLI command bootstraps, and most send no mail. The commands
        # that do (serve, worker) warn at start (entrypoints/cli/failures.py).
        return LogMailer(include_body=False)
    return LogMailer()


def migrate_to_head(settings: Settings) -> str | None:
    """Apply every pending migration (serialized across processes); the new head revision.

    On PostgreSQL an advisory lock keeps several starting servers from migrating at once; on
    SQLite the write lock does the same. The engine is disposed before returning, so nothing
    opened here leaks into forked workers.
    """
    if uses_memory(settings):
        return None
    from adapters.sql.engine import create_engine
    from adapters.sql.migrate import current, migration_lock, upgrade

    engine = create_engine(settings.database_url)
    try:
        with migration_lock(engine):
            upgrade(engine)
        return current(engine)
    finally:
        engine.dispose()
