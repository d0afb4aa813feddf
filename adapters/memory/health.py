"""A probe whose answer tests set: up, down, or hanging."""

from __future__ import annotations

import threading


class StaticProbe:
    """Answers as told: ``fail_with`` raises, ``hang`` blocks until released."""

    def __init__(self, name: str, required: bool = True) -> None:
        self.name = name
        self.required = required
        self.fail_with: Exception | None = None
        self.release = threading.Event()
        self.release.set()
        self.calls = 0

    def hang(self) -> None:
        self.release.clear()

    def check(self) -> None:
        self.calls += 1
        self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
