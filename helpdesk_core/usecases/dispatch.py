"""Subscribers of events, each called whatever the others did.

One subscriber's failure (a mail server that is down, a mail that cannot be built) must not
keep an event from its other subscribers (the webhook fan-out), so the Dispatcher calls every
subscriber of an event and only then reports the failures, together, as
:class:`SubscriberFailures`. The worker retries the event (every subscriber again: subscribers
tolerate an event twice; the fan-out adds no delivery twice), or fails it at once when every
failure was :class:`~helpdesk_core.ports.events.Undeliverable`. A lost database is the
exception: :class:`~helpdesk_core.domain.errors.DependencyUnavailable` stops the dispatch at
once, as nothing after it could record anything.
"""

from __future__ import annotations

from collections.abc import Callable

from helpdesk_core.domain.errors import DependencyUnavailable
from helpdesk_core.domain.events import ALL_EVENTS, EVENT_TYPES, Event
from helpdesk_core.domain.values import one_line
from helpdesk_core.ports.events import Undeliverable

Handler = Callable[[Event], None]
ERROR_MAX = 500


def describe_error(exc: BaseException) -> str:
    """``Type: message`` on one line of storable text, at most ERROR_MAX characters (an
    exception's text may quote stored text: a line break, a NUL, a lone surrogate)."""
    text = one_line(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"


class SubscriberFailures(Exception):
    """The subscribers of one event that failed, by name, after every subscriber ran."""

    def __init__(self, failures: list[tuple[str, Exception]]) -> None:
        self.failures = failures
        super().__init__("; ".join(f"{name}: {describe_error(exc)}" for name, exc in failures))

    @property
    def permanent(self) -> bool:
        """Whether no retry can help: every failure says the message can never be sent."""
        return all(isinstance(exc, Undeliverable) for _name, exc in self.failures)


class Dispatcher:
    """Subscribers by event type (``"*"``: every type), called in subscription order."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str, str, Handler]] = []

    def subscribe(self, event_type: str, handler: Handler, name: str | None = None) -> None:
        """Call ``handler(event)`` for every event of ``event_type``."""
        if event_type != ALL_EVENTS and event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
        self._subscribers.append((event_type, name or repr(handler), handler))

    def subscribers(self, event_type: str) -> list[tuple[str, Handler]]:
        return [
            (name, handler)
            for wanted, name, handler in self._subscribers
            if wanted in (ALL_EVENTS, event_type)
        ]

    def dispatch(self, event: Event) -> None:
        """Hand ``event`` to every subscriber, even after one failed; then raise
        SubscriberFailures naming each that did (DependencyUnavailable at once)."""
        failures: list[tuple[str, Exception]] = []
        for name, handler in self.subscribers(event.type):
            try:
                handler(event)
            except DependencyUnavailable:
                raise
            except Exception as exc:
                failures.append((name, exc))
        if failures:
            raise SubscriberFailures(failures)
