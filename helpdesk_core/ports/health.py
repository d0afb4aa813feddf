"""Readiness probes: one per dependency the service talks to."""

from __future__ import annotations

from typing import Protocol


class DependencyProbe(Protocol):
    """Checks that one dependency answers. Raises any exception when it does not."""

    @property
    def name(self) -> str:
        """The dependency's name in the readiness map (``database``, ``redis``)."""
        ...

    @property
    def required(self) -> bool:
        """Whether the service is down (rather than degraded) while this one fails."""
        ...

    def check(self) -> None:
        """Return when the dependency answered; raise when it did not."""
        ...
