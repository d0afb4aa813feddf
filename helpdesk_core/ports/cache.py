"""Caches and rate limits: state that may be lost and rebuilt.

Caches are keyed by a *generation* that the use cases bump inside the same transaction as the
change they cache (a row in ``counters``). A reader reads the generation first and asks the
cache for that generation only, so a value cached before a change can never be served after it,
in any process, even when the cache missed an invalidation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from helpdesk_core.domain.entities import Department, Team


@attrs.frozen
class OrgSnapshot:
    """Every department and team, as of one generation of the organization."""

    departments: tuple[Department, ...]
    teams: tuple[Team, ...]

    def active_departments(self) -> Sequence[Department]:
        """Active departments, by name."""
        return [d for d in self.departments if d.is_active]


class ReferenceCache(Protocol):
    """Caches the organization snapshot. Misses and backend failures return None, never raise."""

    def get_org(self, generation: int) -> OrgSnapshot | None:
        """The snapshot cached for ``generation``, or None."""
        ...

    def set_org(self, generation: int, snapshot: OrgSnapshot) -> None:
        """Cache ``snapshot`` as ``generation`` (best effort)."""
        ...


class RateLimiter(Protocol):
    """Counts events per key in a sliding window (failed logins per account and address)."""

    def retry_after(self, key: str, limit: int, window_seconds: int) -> int:
        """0 while fewer than ``limit`` events fell in the window, else seconds to wait."""
        ...

    def hit(self, key: str, window_seconds: int) -> None:
        """Record one event for ``key``."""
        ...

    def reset(self, key: str) -> None:
        """Forget the events recorded for ``key``."""
        ...
