"""``open`` and ``Helpdesk``: one helpdesk inside a program, with its users, events and API."""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from entrypoints.bootstrap import Services, bootstrap, migrate_to_head, uses_memory
from entrypoints.config import Settings, check_settings, ensure_secret_keys
from helpdesk._acting import Acting
from helpdesk._errors import domain_errors_only
from helpdesk_core.domain.entities import Department, User
from helpdesk_core.domain.events import Event
from helpdesk_core.domain.mail import InboundVia
from helpdesk_core.domain.principal import SYSTEM_OPERATOR
from helpdesk_core.domain.values import StaffRole
from helpdesk_core.domain.views import Account, StaffProfile
from helpdesk_core.ports.events import IN_PROCESS_SCHEME
from helpdesk_core.usecases.auth import (
    ForgotPassword,
    Login,
    LoginResult,
    Register,
    ResetPassword,
)
from helpdesk_core.usecases.health import Readiness
from helpdesk_core.usecases.host_users import EnsureCustomer, EnsureStaff
from helpdesk_core.usecases.mail.intake import Received

if TYPE_CHECKING:
    from entrypoints.worker.loop import WorkerLoop
    from helpdesk_core.usecases.events import EventWorker

log = logging.getLogger("helpdesk.library")

UserRef: TypeAlias = User | Account | StaffProfile | Acting | uuid.UUID
"""Whatever names a user: what ``ensure_customer``/``ensure_staff`` return, or an id."""
Handler: TypeAlias = Callable[[Event], None]
WsgiApp: TypeAlias = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Identify: TypeAlias = Callable[[dict[str, Any]], "UserRef | None"]


def user_id_of(user: UserRef) -> uuid.UUID:
    """The id of the user ``user`` names."""
    if isinstance(user, uuid.UUID):
        return user
    if isinstance(user, User):
        return user.id
    if isinstance(user, Account | StaffProfile):
        return user.user.id
    if isinstance(user, Acting):
        return user.user_id
    raise TypeError(f"not a user: {type(user).__name__}")


def open(
    database: str | Settings = "memory://",
    *,
    redis_url: str | None = None,
    migrate: bool = True,
) -> Helpdesk:
    """Open a helpdesk: ``"memory://"`` (nothing kept), ``"sqlite:///path/helpdesk.db"`` or
    ``"postgresql+psycopg://user@host/db"`` (with ``redis_url`` for Redis), or full
    ``Settings``.

    Settings are checked exactly as when read from ``HELPDESK_*`` variables (``ConfigError``
    names the variable; ``load_settings()`` reads those variables). The database is migrated to
    the newest schema first, under the lock the server takes (so several programs starting at
    once migrate it once), unless ``migrate=False`` (for a database an operator migrates with
    ``helpdesk db upgrade``; ``Settings.auto_migrate`` is the server's switch). Without secret keys
    in development, a memory helpdesk makes one for the process and a database one keeps a
    generated key in ``settings.secret_file``, as the server does. Close it (or use ``with``)
    to release its connections and stop its event thread.
    """
    if isinstance(database, Settings):
        if redis_url is not None:
            raise TypeError("give redis_url inside the Settings")
        settings = check_settings(database)
    else:
        settings = check_settings(Settings(database_url=database, redis_url=redis_url))
    if uses_memory(settings):
        if not settings.secret_keys:
            settings = attrs.evolve(settings, secret_keys=(secrets.token_urlsafe(48),))
    else:
        settings = ensure_secret_keys(settings)
        if migrate:
            with domain_errors_only():
                migrate_to_head(settings)
    return Helpdesk(bootstrap(settings))


class Helpdesk:
    """A helpdesk open in this program. Safe to share between threads: every method may be
    called from any thread at any time (each call runs its own transactions over a pool).

    Act as someone with ``as_user`` (your own users, found or made by ``ensure_customer`` and
    ``ensure_staff``: no password needed) or ``system`` (an administrator); subscribe to events
    with ``subscribe`` and hand them over with ``process_events`` or ``start_event_thread``;
    serve the REST API inside your WSGI app with ``wsgi_app``.
    """

    def __init__(self, services: Services) -> None:
        self._s = services
        self._handlers: dict[str, Handler] = {}
        self._events_lock = threading.Lock()
        self._worker: EventWorker | None = None
        self._loop: WorkerLoop | None = None
        self._thread: threading.Thread | None = None
        self._poll: float | None = None
        self._closed = False

    def __enter__(self) -> Helpdesk:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Helpdesk({self._s.settings.database_url.split(':', 1)[0]})"

    @property
    def settings(self) -> Settings:
        """The checked settings this helpdesk runs with."""
        return self._s.settings

    def close(self) -> None:
        """Stop the event thread (finishing the event in hand) and release every connection.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.stop_event_thread()
        self._s.close()

    # ------------------------------------------------------------ who acts

    @property
    def system(self) -> Acting:
        """The helpdesk itself, acting as an administrator: for setting it up (departments,
        teams, staff) and for what no user does."""
        return Acting(self._s, SYSTEM_OPERATOR)

    def as_user(self, user: UserRef) -> Acting:
        """Act as ``user``, whom your program has authenticated: the role, department and
        team the account has, and nothing more (a customer sees their own tickets only).
        ``AuthenticationFailed`` when the account is unknown or deactivated."""
        with domain_errors_only():
            return Acting(self._s, self._s.auth.acting_as(user_id_of(user)))

    def as_token(self, access_token: str) -> Acting:
        """Act as the holder of an access token from ``login`` (or the API's login)."""
        with domain_errors_only():
            return Acting(self._s, self._s.auth.authenticate(access_token))

    def ensure_customer(self, external_id: str, email: str, display_name: str) -> User:
        """The customer your program knows by ``external_id``: made the first time, without a
        password (it cannot log in over the API; you act as it with ``as_user``), returned
        every later time with its email and name brought up to date. ``Conflict`` when the id
        names a staff member or another account has the email."""
        return self.system.ensure_customer(EnsureCustomer(external_id, email, display_name))

    def ensure_staff(
        self,
        external_id: str,
        email: str,
        display_name: str,
        role: StaffRole,
        department_id: uuid.UUID | None = None,
        team_id: uuid.UUID | None = None,
    ) -> StaffProfile:
        """The staff member your program knows by ``external_id``, made the first time without
        a password, with ``role`` in ``department_id`` (agents and leads need one) and
        ``team_id``; later calls bring the email and name up to date and leave role and place
        alone (``system.update_staff`` changes those)."""
        command = EnsureStaff(external_id, email, display_name, role, department_id, team_id)
        return self.system.ensure_staff(command)

    # ------------------------------------------------------------ what anyone may do

    def register(self, command: Register) -> Account:
        """A customer account with a password, able to log in over the API; ``Conflict``
        when the email has an account (the API's own route answers alike either way)."""
        with domain_errors_only():
            return self._s.auth.register(command)

    def login(self, command: Login) -> LoginResult:
        """An access token for an email and password (``POST /auth/login``)."""
        with domain_errors_only():
            return self._s.auth.login(command)

    def forgot_password(self, command: ForgotPassword) -> None:
        """Mail a reset link if an account with a password uses the email."""
        with domain_errors_only():
            self._s.auth.forgot_password(command)

    def reset_password(self, command: ResetPassword) -> None:
        """Set a new password with a mailed reset token."""
        with domain_errors_only():
            self._s.auth.reset_password(command)

    def public_departments(self) -> list[Department]:
        """The active departments a customer may open a ticket in (``GET /departments``)."""
        with domain_errors_only():
            return list(self._s.org.public_departments())

    def readiness(self) -> Readiness:
        """Whether the database (and Redis, when configured) answer (``GET /health/ready``)."""
        return self._s.readiness()

    # ------------------------------------------------------------ events

    def subscribe(
        self, events: str | Iterable[str], handler: Handler, *, name: str | None = None
    ) -> None:
        """Call ``handler(event)`` for every event of ``events`` (a type such as
        ``"ticket.created"``, several, or ``"*"``) recorded from now on.

        Delivery is at least once (a handler may see an event twice), in order per ticket,
        by ``process_events`` or the event thread. A handler that raises is retried with
        backoff like a webhook endpoint, without holding up anyone else, and is disabled
        after a run of failures (subscribing again enables it). ``name`` keeps the
        subscription across restarts (events recorded while the program was away are handed
        over when it subscribes again: 1 to 200 letters, digits, ``.``, ``_`` and ``-``); it
        defaults to the handler's module and name, and must be given for a lambda, a bound
        method of a builtin (``list.append``) or a nested function.
        """
        kinds = (events,) if isinstance(events, str) else tuple(events)
        key = name if name is not None else _handler_name(handler)
        with domain_errors_only():
            webhook = self._s.webhooks.subscribe_in_process(SYSTEM_OPERATOR, key, kinds)
        with self._events_lock:  # a worker holds its callables: the next one holds this too
            self._handlers[webhook.url] = handler
            self._worker = None
        if self._thread is not None:
            self.stop_event_thread()
            self.start_event_thread(self._poll)

    def unsubscribe(self, name: str) -> bool:
        """End the subscription ``name``: its endpoint and undelivered events are deleted (a
        program that stops subscribing for good says so, or its events wait for it); False
        when there was none."""
        with domain_errors_only():
            found = self._s.webhooks.unsubscribe_in_process(SYSTEM_OPERATOR, name)
        with self._events_lock:
            self._handlers.pop(IN_PROCESS_SCHEME + name, None)
            self._worker = None
        if self._thread is not None:
            self.stop_event_thread()
            self.start_event_thread(self._poll)
        return found

    def receive_mail(self, mailbox_id: uuid.UUID, raw: bytes) -> Received:
        """Store a received message (its bytes, RFC 5322) as arrived at the mailbox, as an MTA
        pipe or a provider's POST does; ``process_events`` (or the event thread) then turns
        it into a ticket or a reply. The same message again is recognized (``duplicate``)."""
        with domain_errors_only():
            return self._s.mail_intake.receive(mailbox_id, raw, InboundVia.LIBRARY)

    def process_events(self) -> int:
        """Hand every event that is due to its subscribers (yours, mail, webhooks) in this
        thread, until none is left; how many events and deliveries were handled. Retries
        wait for their backoff: a later call hands them over."""
        from entrypoints.worker.loop import worker_name

        with self._events_lock, domain_errors_only():
            if self._worker is None:
                self._worker = self._s.new_worker(
                    worker_name("library"), in_process=dict(self._handlers)
                )
            handled = 0
            while done := self._worker.run_once():
                handled += done
            return handled

    def start_event_thread(self, poll_interval: float | None = None) -> None:
        """Hand events over in a background thread (daemon) until ``close``; ``poll_interval``
        seconds between idle passes (default: ``HELPDESK_WORKER_POLL_INTERVAL``)."""
        from entrypoints.worker.loop import WorkerLoop, worker_name

        if self._thread is not None:
            return
        self._poll = poll_interval
        loop = WorkerLoop(
            self._s, worker_name("library"), in_process=dict(self._handlers), poll=poll_interval
        )
        self._loop = loop
        self._thread = threading.Thread(target=loop.run, name="helpdesk-events", daemon=True)
        self._thread.start()

    def stop_event_thread(self) -> None:
        """Stop the event thread after the item in hand (nothing when none runs)."""
        if self._loop is None or self._thread is None:
            return
        self._loop.stop()
        self._thread.join(timeout=30)
        self._loop = self._thread = None

    # ------------------------------------------------------------ the REST API

    def wsgi_app(self, identify: Identify | None = None) -> WsgiApp:
        """The REST API as a WSGI application, to serve inside your own (see ``mount``).

        With ``identify``, your program says who calls: it gets the request's WSGI environ
        and returns the user (as ``as_user`` takes it), or None for a 401; the API's token
        login routes are left out. Without it, callers log in with the API's tokens.
        """
        from entrypoints.http.app import create_app

        if identify is None:
            return create_app(self._s)

        def principal(environ: dict[str, Any]) -> Any:
            user = identify(environ)
            return None if user is None else self._s.auth.acting_as(user_id_of(user))

        return create_app(self._s, identify=principal)


def _handler_name(handler: Handler) -> str:
    module = getattr(handler, "__module__", None)
    qualname = getattr(handler, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise ValueError("give the subscription a name= (the handler has no lasting name)")
    return f"{module}.{qualname}"


def mount(host: WsgiApp, prefix: str, app: WsgiApp) -> WsgiApp:
    """A WSGI app that sends requests under ``prefix`` (``"/support"``) to ``app`` (seeing
    the rest of the path, as WSGI's SCRIPT_NAME and PATH_INFO say) and all others to
    ``host``."""
    root = "/" + prefix.strip("/")
    if root == "/":
        raise ValueError("mount under a prefix such as '/support'")

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == root or path.startswith(root + "/"):
            inner: Mapping[str, Any] = {
                **environ,
                "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + root,
                "PATH_INFO": path[len(root) :] or "/",
            }
            return app(dict(inner), start_response)
        return host(environ, start_response)

    return dispatch
