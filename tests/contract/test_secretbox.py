"""The SecretBox contract, held by the Fernet box (production) and the in-memory fake alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from adapters.memory.secretbox import MemorySecretBox
from adapters.security.secretbox import FernetSecretBox
from helpdesk_core.ports.secretbox import SecretBox, SecretUnreadable

K1 = "first-key-0123456789-abcdefghijklmnopqrstuvwxyz"
K2 = "second-key-0123456789-abcdefghijklmnopqrstuvwxyz"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3Y4hdM0/JZ0="

Factory = Callable[[Sequence[str], str], SecretBox]


@pytest.fixture(params=[FernetSecretBox, MemorySecretBox], ids=["fernet", "memory"])
def make_box(request: pytest.FixtureRequest) -> Factory:
    factory: Factory = request.param
    return factory


def test_a_sealed_secret_opens_to_itself_and_shows_nothing_of_it(make_box: Factory) -> None:
    box = make_box([K1], "webhook-secret")
    sealed = box.seal(SECRET)
    assert box.open(sealed) == SECRET
    assert sealed.isascii()
    assert SECRET not in sealed
    assert SECRET.removeprefix("whsec_") not in sealed
    assert box.seal(SECRET) != sealed  # a fresh value every time
    assert len(sealed) <= 200  # the webhooks.secret column


def test_after_a_key_rotation_old_values_open_and_new_ones_use_the_newest_key(
    make_box: Factory,
) -> None:
    old = make_box([K1], "webhook-secret").seal(SECRET)
    rotated = make_box([K2, K1], "webhook-secret")
    assert rotated.open(old) == SECRET
    assert not rotated.is_current(old)
    resealed = rotated.seal(rotated.open(old))
    assert rotated.is_current(resealed)
    # Once the old key is gone, only what was sealed again still opens.
    newest_only = make_box([K2], "webhook-secret")
    assert newest_only.open(resealed) == SECRET
    with pytest.raises(SecretUnreadable):
        newest_only.open(old)
    assert not newest_only.is_current(old)


def test_a_purpose_does_not_open_another_purposes_values(make_box: Factory) -> None:
    sealed = make_box([K1], "webhook-secret").seal(SECRET)
    with pytest.raises(SecretUnreadable):
        make_box([K1], "something-else").open(sealed)


@pytest.mark.parametrize("damage", ["flip", "truncate", "plaintext", "empty"])
def test_an_altered_or_foreign_value_is_unreadable(make_box: Factory, damage: str) -> None:
    box = make_box([K1], "webhook-secret")
    sealed = box.seal(SECRET)
    altered = {
        "flip": sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:],
        "truncate": sealed[: len(sealed) // 2],
        "plaintext": SECRET,
        "empty": "",
    }[damage]
    with pytest.raises(SecretUnreadable):
        box.open(altered)
    assert not box.is_current(altered)


def test_a_box_needs_keys_and_a_purpose(make_box: Factory) -> None:
    with pytest.raises(ValueError, match="key"):
        make_box([], "webhook-secret")
    with pytest.raises(ValueError, match="key"):
        make_box(K1, "webhook-secret")  # one string, not a list
    with pytest.raises(ValueError, match="purpose"):
        make_box([K1], "")
