"""The tracing hook point: a span around every request, with no exporter by default.

Plug a real tracer (OpenTelemetry or other) by passing an object with ``start_span`` to
``create_app``; the default does nothing and costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol


class Span(Protocol):
    """A unit of traced work."""

    def set_attribute(self, key: str, value: Any) -> None:
        """Attach one attribute (route, status, ...) to the span."""
        ...


class Tracer(Protocol):
    """Starts spans."""

    def start_span(self, name: str, attributes: Mapping[str, Any]) -> AbstractContextManager[Span]:
        """A context manager around the traced work, yielding its span."""
        ...


class _NoopSpan:
    def set_attribute(self, key: str, value: Any) -> None:
        return None


class NoopTracer:
    """The default tracer: records nothing."""

    _span = _NoopSpan()

    @contextmanager
    def start_span(self, name: str, attributes: Mapping[str, Any]) -> Iterator[Span]:
        yield self._span
