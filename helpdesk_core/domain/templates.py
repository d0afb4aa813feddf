"""Placeholders in text an agent sends: one small, whitelisted grammar.

A placeholder is ``{{ path }}`` or ``{{ path | default("text") }}`` (spaces optional), where
``path`` is one of :data:`PLACEHOLDERS` and the default is a double-quoted string in which
``\\"`` is a quote and ``\\\\`` a backslash. Every ``{{`` in a template starts a placeholder:
one that does not parse, or names an unknown path, is refused when the template is saved
(:func:`parse_template` raises ValidationFailed naming the field and the placeholder).

Rendering (:func:`render`) is one pass over the parsed template: a value is inserted as it is
(escaped for where it goes), never read again, so a customer whose name is ``{{ agent.name }}``
shows as exactly that. A value that is missing (None or empty) takes the placeholder's default,
or becomes empty and is reported as unresolved: a raw token is never left in the text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

import attrs

from helpdesk_core.domain.errors import ValidationFailed

PLACEHOLDERS = frozenset(
    {
        "ticket.number",
        "ticket.subject",
        "ticket.status",
        "customer.name",
        "customer.first_name",
        "customer.email",
        "agent.name",
        "agent.first_name",
        "agent.signature",
        "department.name",
    }
)
"""Every path a placeholder may name."""

OPEN = "{{"
_CLOSE = "}}"
_PATH = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
_PLACEHOLDER = re.compile(
    rf"\{{\{{\s*(?P<path>{_PATH})\s*"
    r'(?:\|\s*default\s*\(\s*"(?P<default>(?:[^"\\]|\\["\\])*)"\s*\)\s*)?'
    r"\}\}"
)
_ESCAPED = re.compile(r'\\(["\\])')
_SHOWN_MAX = 60  # how much of a malformed placeholder an error quotes


@attrs.frozen
class Placeholder:
    """One ``{{ path }}`` of a template, with its default text when it names one."""

    path: str
    default: str | None = None

    def source(self) -> str:
        """The placeholder as written in canonical form."""
        if self.default is None:
            return f"{{{{ {self.path} }}}}"
        quoted = self.default.replace("\\", "\\\\").replace('"', '\\"')
        return f'{{{{ {self.path} | default("{quoted}") }}}}'


Part = str | Placeholder


@attrs.frozen
class Template:
    """A parsed template: its literal text and placeholders, in order (no two texts
    adjacent, no empty text)."""

    parts: tuple[Part, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(part for part in self.parts if isinstance(part, Placeholder))

    def source(self) -> str:
        """The template as text, each placeholder in canonical form: parsing it gives this
        template again."""
        return "".join(part if isinstance(part, str) else part.source() for part in self.parts)


class Rendered(NamedTuple):
    """A rendered template: its text, and the paths that had no value and no default (each
    once, in the order they first appear)."""

    text: str
    unresolved: tuple[str, ...]


def parse_template(text: str, field: str = "body") -> Template:
    """The template ``text``; ValidationFailed naming ``field`` for a malformed ``{{ ... }}``
    or an unknown placeholder ("unknown placeholder customer.phone")."""
    parts: list[Part] = []
    position = 0
    while True:
        start = text.find(OPEN, position)
        if start < 0:
            break
        match = _PLACEHOLDER.match(text, start)
        if match is None:
            raise ValidationFailed.field(field, f"malformed placeholder {_shown(text, start)}")
        path = match["path"]
        if path not in PLACEHOLDERS:
            raise ValidationFailed.field(field, f"unknown placeholder {path}")
        default = match["default"]
        if start > position:
            parts.append(text[position:start])
        parts.append(Placeholder(path, None if default is None else _ESCAPED.sub(r"\1", default)))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return Template(tuple(parts))


def check_template(text: str, field: str = "body") -> str:
    """``text`` itself once it parses (:func:`parse_template`)."""
    parse_template(text, field)
    return text


def render(
    template: str | Template,
    values: Mapping[str, str | None],
    escape: Callable[[str], str] = str,
) -> Rendered:
    """``template`` with each placeholder replaced by ``escape(value)``, or its default when
    the value is missing (None or empty), or nothing (and its path reported unresolved).

    One pass: an inserted value is never read as a template. The template's own text, its
    defaults included, is as its author wrote it; only values are escaped."""
    parsed = parse_template(template) if isinstance(template, str) else template
    out: list[str] = []
    unresolved: dict[str, None] = {}
    for part in parsed.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part.path)
        if value:
            out.append(escape(value))
        elif part.default is not None:
            out.append(part.default)
        else:
            unresolved[part.path] = None
    return Rendered("".join(out), tuple(unresolved))


def html_escape(value: str) -> str:
    """A value as HTML text: ``<``, ``>``, ``&`` and both quotes escaped."""
    return html.escape(value, quote=True)


ESCAPES: Mapping[str, Callable[[str], str]] = {"text": str, "html": html_escape}
"""How values are escaped for each format a draft is rendered for."""


def first_name(name: str | None) -> str | None:
    """The first word of a display name (``"Ann Lee"`` -> ``"Ann"``), None for none."""
    words = (name or "").split()
    return words[0] if words else None


def used_paths(templates: Iterable[str | Template]) -> frozenset[str]:
    """The paths the templates name (what rendering them needs looked up)."""
    return frozenset(
        placeholder.path
        for template in templates
        for placeholder in (
            parse_template(template) if isinstance(template, str) else template
        ).placeholders
    )


def _shown(text: str, start: int) -> str:
    """The malformed placeholder at ``start`` as an error quotes it: up to its ``}}``."""
    end = text.find(_CLOSE, start + len(OPEN))
    shown = text[start : end + len(_CLOSE)] if end >= 0 else text[start:]
    return shown if len(shown) <= _SHOWN_MAX else shown[: _SHOWN_MAX - 1] + "…"
