"""AttachmentLimits: the size and media types a file must keep before its bytes are stored."""

from __future__ import annotations

import pytest

from helpdesk_core.domain.blobs import (
    DEFAULT_ATTACHMENT_MAX_BYTES,
    AttachmentLimits,
    media_type,
    size_text,
)
from helpdesk_core.domain.errors import ValidationFailed

MB = 1024 * 1024


def refusal(limits: AttachmentLimits, content_type: str, size: int, **kwargs: str) -> str:
    """The one field error ``check`` raises, as ``field: message``."""
    filename = kwargs.pop("filename", "")
    with pytest.raises(ValidationFailed) as refused:
        limits.check(filename, content_type, size, **kwargs)
    (error,) = refused.value.errors
    assert refused.value.detail == f"{error.field}: {error.message}"
    return f"{error.field}: {error.message}"


# ---------------------------------------------------------------- size


def test_the_default_is_25_mb_of_any_type() -> None:
    limits = AttachmentLimits()
    assert DEFAULT_ATTACHMENT_MAX_BYTES == 25 * MB == 26214400
    assert limits.max_bytes == DEFAULT_ATTACHMENT_MAX_BYTES
    assert limits.types == ("*/*",)
    assert limits.allows("application/x-msdownload", 25 * MB)
    assert not limits.allows("application/pdf", 25 * MB + 1)


def test_a_file_of_exactly_the_limit_is_allowed_and_one_byte_more_is_not() -> None:
    limits = AttachmentLimits(max_bytes=1000, types=("*/*",))
    limits.check("a.bin", "application/octet-stream", 1000)
    assert limits.allows("application/octet-stream", 1000)
    assert not limits.allows("application/octet-stream", 1001)
    assert refusal(limits, "application/octet-stream", 1001) == (
        "file: is 1001 bytes; the limit is 1000 bytes"
    )


def test_the_size_refusal_names_both_sizes() -> None:
    limits = AttachmentLimits(max_bytes=25 * MB)
    assert refusal(limits, "application/pdf", 30 * MB, filename="scan.pdf") == (
        "file: scan.pdf is 30 MB; the limit is 25 MB"
    )
    assert refusal(limits, "application/pdf", 30 * MB) == "file: is 30 MB; the limit is 25 MB"


def test_sizes_that_read_alike_are_told_in_bytes() -> None:
    limits = AttachmentLimits(max_bytes=25 * MB)
    assert refusal(limits, "image/png", 25 * MB + 1) == (
        "file: is 26214401 bytes; the limit is 26214400 bytes"
    )


def test_empty_files_are_allowed_and_negative_sizes_are_not() -> None:
    limits = AttachmentLimits(max_bytes=0)
    limits.check("empty.txt", "text/plain", 0)
    assert not limits.allows("text/plain", 1)
    assert "must not be negative" in refusal(AttachmentLimits(), "text/plain", -1)
    assert not AttachmentLimits().allows("text/plain", -1)


@pytest.mark.parametrize("max_bytes", [-1, True, 2.5, "100"])
def test_a_limit_is_a_whole_number_of_bytes(max_bytes: object) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        AttachmentLimits(max_bytes=max_bytes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (MB, "1 MB"),
        (25 * MB, "25 MB"),
        (30 * MB + MB // 2, "30.5 MB"),
        (3 * 1024 * MB, "3 GB"),
    ],
)
def test_sizes_read_as_people_write_them(size: int, text: str) -> None:
    assert size_text(size) == text


# ---------------------------------------------------------------- types


def test_exact_types_allow_only_themselves() -> None:
    limits = AttachmentLimits(types=("application/pdf", "image/png"))
    assert limits.allows("application/pdf", 10)
    assert limits.allows("image/png", 10)
    assert not limits.allows("image/jpeg", 10)
    assert not limits.allows("application/pdfx", 10)
    assert not limits.allows("application/x-msdownload", 10)


def test_a_refused_type_is_named() -> None:
    limits = AttachmentLimits(types=("image/*", "application/pdf"))
    assert refusal(limits, "application/x-msdownload", 10) == (
        "file: type application/x-msdownload is not allowed"
    )
    assert refusal(limits, "Application/X-MSDownload", 10, filename="setup.exe") == (
        "file: setup.exe: type application/x-msdownload is not allowed"
    )


def test_the_type_is_told_before_the_size() -> None:
    limits = AttachmentLimits(max_bytes=10, types=("image/*",))
    assert "type text/html is not allowed" in refusal(limits, "text/html", 10_000)


def test_a_type_wildcard_allows_every_subtype_of_that_type_only() -> None:
    limits = AttachmentLimits(types=("image/*",))
    for allowed in ("image/png", "image/svg+xml", "image/vnd.microsoft.icon"):
        assert limits.allows(allowed, 1), allowed
    for refused in ("imagex/png", "application/png", "text/plain", "image"):
        assert not limits.allows(refused, 1), refused


def test_any_type_allows_every_media_type() -> None:
    limits = AttachmentLimits(types=("*/*",))
    for allowed in ("application/x-msdownload", "message/rfc822", "x-custom/thing"):
        assert limits.allows(allowed, 1), allowed


def test_no_pattern_allows_no_file() -> None:
    limits = AttachmentLimits(types=())
    assert not limits.allows("text/plain", 1)
    assert "type text/plain is not allowed" in refusal(limits, "text/plain", 1)


def test_parameters_are_ignored() -> None:
    limits = AttachmentLimits(types=("text/plain",))
    assert limits.allows("text/plain; charset=utf-8", 1)
    assert limits.allows('text/plain;format=flowed; charset="iso-8859-1"', 1)
    assert limits.allows("text/plain;", 1)
    assert not limits.allows("text/html; charset=utf-8", 1)
    assert media_type(" Text/Plain ; charset=UTF-8") == "text/plain"


def test_types_and_patterns_are_compared_without_case() -> None:
    limits = AttachmentLimits(types=(" Image/PNG ", "APPLICATION/*"))
    assert limits.types == ("image/png", "application/*")
    assert limits.allows("IMAGE/png", 1)
    assert limits.allows("image/PNG; Charset=X", 1)
    assert limits.allows("Application/Pdf", 1)
    assert not limits.allows("image/gif", 1)


@pytest.mark.parametrize(
    "content_type",
    [
        "",
        " ",
        "image",
        "image/",
        "/png",
        "image/png/extra",
        "ima ge/png",
        "image /png",
        "*/*",
        "image/*",
        "; charset=utf-8",
        "text/plain\nX-Injected: 1",
        "t\u00e9xt/plain",
        "text/mar\u212adown",  # KELVIN SIGN: lower() makes it an ASCII k
        "-text/plain",
        "image/" + "p" * 200,
    ],
)
def test_a_string_that_is_no_media_type_is_refused_even_by_any_type(content_type: str) -> None:
    limits = AttachmentLimits(types=("*/*",))
    assert media_type(content_type) is None
    assert not limits.allows(content_type, 1)
    message = refusal(limits, content_type, 1, field="attachments.2")
    assert message.startswith("attachments.2: type ")
    assert "is not a media type" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "image",
        "*",
        "*/png",
        "image/png/x",
        "ima ge/*",
        "image/p*",
        "**/*",
        "text/mar\u212adown",  # KELVIN SIGN: lower() makes it an ASCII k
    ],
)
def test_a_pattern_that_is_none_is_refused_when_the_limits_are_made(pattern: str) -> None:
    with pytest.raises(ValueError, match="media-type pattern"):
        AttachmentLimits(types=("image/png", pattern))


def test_types_must_be_a_sequence_not_one_string() -> None:
    with pytest.raises(TypeError, match="not one string"):
        AttachmentLimits(types="image/png")  # a str is an Iterable[str]: refused at run time


def test_limits_are_frozen_values() -> None:
    limits = AttachmentLimits(max_bytes=10, types=["image/png"])
    assert limits.types == ("image/png",)
    assert limits == AttachmentLimits(max_bytes=10, types=("IMAGE/png",))
    with pytest.raises(AttributeError):
        limits.max_bytes = 20  # type: ignore[misc]


# ---------------------------------------------------------------- the message


def test_the_field_is_named_as_given() -> None:
    limits = AttachmentLimits(max_bytes=1)
    with pytest.raises(ValidationFailed) as refused:
        limits.check("a.txt", "text/plain", 2, field="attachments.0")
    assert [e.field for e in refused.value.errors] == ["attachments.0"]


def test_a_file_name_is_shown_on_one_line_and_shortened() -> None:
    limits = AttachmentLimits(types=("image/*",))
    message = refusal(limits, "text/html", 1, filename="evil\r\nX-Header: 1\u202eexe.html")
    assert "\n" not in message
    assert "\r" not in message
    assert "\u202e" not in message
    long_name = "a" * 300 + ".html"
    message = refusal(limits, "text/html", 1, filename=long_name)
    assert long_name not in message
    assert "a" * 79 + "\u2026" in message
