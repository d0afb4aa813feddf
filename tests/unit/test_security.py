"""The password hasher (libpass) and the token signer (itsdangerous)."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner
from passlib.context import CryptContext

from adapters.security.passwords import LibpassHasher
from adapters.security.tokens import ItsdangerousSigner
from helpdesk_core.domain.errors import AuthenticationFailed

PASSWORD = "correct horse battery staple"
EMOJI = "😀" * 25  # 100 bytes in UTF-8


def cheap_hasher(scheme: str = "argon2") -> LibpassHasher:
    """Test costs: argon2 with 1 MiB and one pass, bcrypt with 4 rounds (about 1 ms each)."""
    return LibpassHasher(
        scheme, argon2_memory_kib=1024, argon2_time_cost=1, argon2_parallelism=1, bcrypt_rounds=4
    )


@pytest.fixture(scope="module")
def hasher() -> LibpassHasher:
    return cheap_hasher()


@pytest.fixture(scope="module")
def bcrypt_hasher() -> LibpassHasher:
    return cheap_hasher("bcrypt")


def legacy_bcrypt_hash(password: str) -> str:
    """A plain-bcrypt hash, as an older system would have stored it."""
    return CryptContext(schemes=["bcrypt"], bcrypt__rounds=4).hash(password)


# ------------------------------------------------------------------ passwords


def test_a_hash_verifies_its_password_only(hasher: LibpassHasher) -> None:
    stored = hasher.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert PASSWORD not in stored
    assert hasher.verify(PASSWORD, stored) == (True, None)
    assert hasher.verify("correct horse battery stapler", stored) == (False, None)
    assert hasher.hash(PASSWORD) != stored  # salted


def test_the_defaults_are_at_or_above_the_owasp_floor() -> None:
    stored = LibpassHasher().hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_bcrypt_sha256_hash_is_replaced_when_argon2_is_configured(
    hasher: LibpassHasher, bcrypt_hasher: LibpassHasher
) -> None:
    old = bcrypt_hasher.hash(PASSWORD)
    assert old.startswith("$bcrypt-sha256$")
    ok, replacement = hasher.verify(PASSWORD, old)
    assert ok is True
    assert replacement is not None
    assert replacement.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert hasher.verify(PASSWORD, replacement) == (True, None)
    assert hasher.verify("wrong password!", old) == (False, None)


def test_an_argon2_hash_is_replaced_when_bcrypt_is_configured(
    hasher: LibpassHasher, bcrypt_hasher: LibpassHasher
) -> None:
    ok, replacement = bcrypt_hasher.verify(PASSWORD, hasher.hash(PASSWORD))
    assert ok is True
    assert replacement is not None
    assert replacement.startswith("$bcrypt-sha256$")


def test_a_weaker_argon2_cost_is_replaced(hasher: LibpassHasher) -> None:
    stronger = LibpassHasher(argon2_memory_kib=2048, argon2_time_cost=2, argon2_parallelism=1)
    ok, replacement = stronger.verify(PASSWORD, hasher.hash(PASSWORD))
    assert ok is True
    assert replacement is not None
    assert replacement.startswith("$argon2id$v=19$m=2048,t=2,p=1$")


def test_a_legacy_plain_bcrypt_hash_verifies_and_is_replaced(hasher: LibpassHasher) -> None:
    ok, replacement = hasher.verify(PASSWORD, legacy_bcrypt_hash(PASSWORD))
    assert ok is True
    assert replacement is not None
    assert replacement.startswith("$argon2id$")


@pytest.mark.parametrize("scheme", ["argon2", "bcrypt"])
def test_long_passwords_are_not_truncated(scheme: str) -> None:
    hasher = cheap_hasher(scheme)
    stored = hasher.hash(EMOJI)
    assert hasher.verify(EMOJI, stored) == (True, None)
    same_first_72_bytes = "😀" * 18 + "x" * 10
    assert same_first_72_bytes.encode()[:72] == EMOJI.encode()[:72]
    assert hasher.verify(same_first_72_bytes, stored) == (False, None)


def test_a_password_over_72_bytes_against_legacy_bcrypt_is_a_mismatch(
    hasher: LibpassHasher,
) -> None:
    stored = legacy_bcrypt_hash("x" * 50)
    assert hasher.verify("x" * 100, stored) == (False, None)
    assert hasher.verify(EMOJI, stored) == (False, None)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "$argon2id$v=19$m=1024,t=1,p=1$zzz",
        "$2b$04$abc",
        "$bcrypt-sha256$v=2,t=2b,r=04$abc",
        "$argon2id$v=19$m=1024,t=1,p=1$" + "A" * 300,
    ],
    ids=["empty", "garbage", "short-argon2", "short-bcrypt", "short-bcrypt-sha256", "long-salt"],
)
def test_an_unusable_stored_hash_is_a_mismatch(hasher: LibpassHasher, stored: str) -> None:
    assert hasher.verify(PASSWORD, stored) == (False, None)


def test_an_over_long_password_is_a_mismatch(hasher: LibpassHasher) -> None:
    assert hasher.verify("x" * 5000, hasher.hash(PASSWORD)) == (False, None)


def test_dummy_verify_returns_nothing_and_costs_about_one_verify() -> None:
    hasher = LibpassHasher(argon2_memory_kib=8192, argon2_time_cost=2, argon2_parallelism=1)
    stored = hasher.hash(PASSWORD)
    started = time.perf_counter()
    hasher.verify(PASSWORD, stored)
    one_verify = time.perf_counter() - started
    started = time.perf_counter()
    assert hasher.dummy_verify() is None  # type: ignore[func-returns-value]
    dummy = time.perf_counter() - started
    assert dummy < one_verify * 5 + 0.05  # warmed in __init__: no first-call surcharge


# ------------------------------------------------------------------ tokens

OLD_KEY = "old-key-0123456789-abcdefghijklmnopqrstuvwxyz"
NEW_KEY = "new-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def test_a_token_round_trips() -> None:
    signer = ItsdangerousSigner([NEW_KEY])
    token = signer.sign("access", "session-1")
    assert token.isascii()
    assert signer.unsign("access", token, 60) == "session-1"


def test_a_token_for_another_purpose_fails() -> None:
    signer = ItsdangerousSigner([NEW_KEY])
    token = signer.sign("password-reset", "user-1")
    with pytest.raises(AuthenticationFailed, match="invalid"):
        signer.unsign("access", token, 60)


@pytest.mark.parametrize("position", [0, 5, -1])
def test_a_tampered_token_fails(position: int) -> None:
    signer = ItsdangerousSigner([NEW_KEY])
    token = signer.sign("access", "session-1")
    # Swap for a character far away in the base64 alphabet: the last character of a
    # signature carries padding bits, so a neighbouring letter could decode identically.
    flipped = "A" if token[position] not in "ABCDEFGH" else "w"
    tampered = token[:position] + flipped + (token[position + 1 :] if position != -1 else "")
    with pytest.raises(AuthenticationFailed, match="invalid"):
        signer.unsign("access", tampered, 60)


@pytest.mark.parametrize(
    "token",
    ["", "no-dot-at-all", "a.b.c", "é.ü.ß", "\x00", 42, None, b"bytes.token.x"],
    ids=["empty", "no-dot", "three-parts", "non-ascii", "nul", "int", "none", "bytes"],
)
def test_garbage_fails_as_invalid(token: object) -> None:
    signer = ItsdangerousSigner([NEW_KEY])
    with pytest.raises(AuthenticationFailed, match="invalid"):
        signer.unsign("access", token, 60)  # type: ignore[arg-type]


def test_an_expired_token_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = ItsdangerousSigner([NEW_KEY])
    with monkeypatch.context() as patch:  # sign ten seconds ago
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 10)
        token = signer.sign("access", "session-1")
    with pytest.raises(AuthenticationFailed, match="expired"):
        signer.unsign("access", token, 5)
    assert signer.unsign("access", token, 60) == "session-1"


def test_a_token_signed_by_the_old_key_verifies_after_rotation() -> None:
    token = ItsdangerousSigner([OLD_KEY]).sign("access", "session-1")
    assert ItsdangerousSigner([NEW_KEY, OLD_KEY]).unsign("access", token, 60) == "session-1"


def test_after_rotation_tokens_are_signed_with_the_newest_key() -> None:
    token = ItsdangerousSigner([NEW_KEY, OLD_KEY]).sign("access", "session-1")
    assert ItsdangerousSigner([NEW_KEY]).unsign("access", token, 60) == "session-1"
    with pytest.raises(AuthenticationFailed, match="invalid"):
        ItsdangerousSigner([OLD_KEY]).unsign("access", token, 60)


def test_a_token_signed_by_a_removed_key_fails() -> None:
    token = ItsdangerousSigner([OLD_KEY]).sign("access", "session-1")
    with pytest.raises(AuthenticationFailed, match="invalid"):
        ItsdangerousSigner([NEW_KEY]).unsign("access", token, 60)


def test_tokens_use_hmac_sha256() -> None:
    token = ItsdangerousSigner([NEW_KEY]).sign("access", "session-1")
    signature = token.rsplit(".", 1)[1]
    assert len(signature) == 43  # 32 bytes, URL-safe base64 without padding (SHA-1: 27)


def test_a_signer_needs_a_key() -> None:
    with pytest.raises(ValueError, match="key"):
        ItsdangerousSigner([])
