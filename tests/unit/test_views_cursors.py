"""The list cursors the API and the CLI share (``entrypoints.views.cursors``): what one of them
issues the other reads back, and anything else is refused with a reason, not an HTTP error."""

from __future__ import annotations

import uuid

import pytest

from entrypoints.views.cursors import (
    ISSUED,
    OF_THIS_LIST,
    CursorRefused,
    decode_cursor,
    encode_cursor,
    is_id,
    is_time,
)

KEY = ("2024-05-01T12:00:00+00:00", str(uuid.UUID(int=7)))


def test_a_cursor_round_trips() -> None:
    assert decode_cursor(encode_cursor(KEY), (is_time, is_id)) == KEY
    assert decode_cursor(encode_cursor((3, 1.5, "a"))) == (3, 1.5, "a")


@pytest.mark.parametrize("raw", ["not-a-cursor!", "", "W1tdXQ", "x" * 2049])
def test_what_no_list_issued_is_refused_as_such(raw: str) -> None:
    with pytest.raises(CursorRefused) as refused:
        decode_cursor(raw)
    assert refused.value.reason == ISSUED


def test_a_cursor_of_another_list_is_refused_as_such() -> None:
    with pytest.raises(CursorRefused) as refused:
        decode_cursor(encode_cursor(KEY), (is_id, is_time))
    assert refused.value.reason == OF_THIS_LIST
