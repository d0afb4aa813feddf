"""Ids are version-7 UUIDs that sort in the order they were made."""

from __future__ import annotations

import threading

from adapters.system.clock import UuidGenerator


def test_ids_are_version_7_and_unique_and_increasing() -> None:
    ids = UuidGenerator()
    made = [ids.new_id() for _ in range(20_000)]
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in made)
    assert len(set(made)) == len(made)
    assert made == sorted(made)


def test_ids_from_many_threads_never_collide() -> None:
    ids = UuidGenerator()
    made: list[object] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [ids.new_id() for _ in range(2_000)]
        with lock:
            made.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 16_000
