"""The placeholder grammar of canned responses: what parses, what is refused, how it renders."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_core.domain.errors import ValidationFailed
from helpdesk_core.domain.templates import (
    PLACEHOLDERS,
    Placeholder,
    Template,
    first_name,
    html_escape,
    parse_template,
    render,
)

# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text",
    [
        "{{customer.first_name}}",
        "{{ customer.first_name }}",
        "{{   customer.first_name\t}}",
        '{{ customer.first_name | default("") }}',
    ],
)
def test_spaces_are_optional(text: str) -> None:
    (placeholder,) = parse_template(text).parts
    assert isinstance(placeholder, Placeholder)
    assert placeholder.path == "customer.first_name"


def test_a_default_is_a_quoted_string_with_escaped_quotes_and_backslashes() -> None:
    template = parse_template(r'Hi {{customer.first_name|default("the \"team\" \\ you")}}!')
    assert template.parts == (
        "Hi ",
        Placeholder("customer.first_name", 'the "team" \\ you'),
        "!",
    )


def test_text_around_placeholders_is_kept_and_closing_braces_alone_are_text() -> None:
    template = parse_template("}} a {{ ticket.number }}}} b }")
    assert template.parts == ("}} a ", Placeholder("ticket.number"), "}} b }")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Call {{ customer.phone }}", "unknown placeholder customer.phone"),
        ("{{ agent }}", "unknown placeholder agent"),
        ("{{ Customer.Name }}", "unknown placeholder Customer.Name"),
        ("Hi {{ customer.name", "malformed placeholder {{ customer.name"),
        ("{{ }}", "malformed placeholder {{ }}"),
        ("{{ customer.name | default(there) }}", "malformed placeholder"),
        ("{{ customer.name | upper }}", "malformed placeholder {{ customer.name | upper }}"),
        ('{{ customer.name | default("a\\nb") }}', "malformed placeholder"),
        ('{{ customer.name | default("open) }}', "malformed placeholder"),
        ("{{{ customer.name }}}", "malformed placeholder {{{ customer.name }}"),
        ("{{ customer. name }}", "malformed placeholder"),
    ],
)
def test_unknown_and_malformed_placeholders_are_refused_naming_field_and_placeholder(
    text: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_template(text, "body")
    (error,) = refused.value.errors
    assert error.field == "body"
    assert error.message.startswith(message)


def test_a_long_malformed_placeholder_is_quoted_shortened() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_template("{{ " + "x" * 500)
    assert len(refused.value.errors[0].message) < 100


# ---------------------------------------------------------------- rendering


def test_a_missing_value_takes_its_default_or_becomes_empty_and_is_reported() -> None:
    body = (
        'Hi {{ customer.first_name | default("there") }}, '
        "{{ department.name }}/{{ agent.signature }}/{{ department.name }}."
    )
    assert render(body, {}) == ("Hi there, //.", ("department.name", "agent.signature"))
    assert render(body, {"customer.first_name": "", "department.name": None}).text == (
        "Hi there, //."
    )
    filled = {"customer.first_name": "Ann", "department.name": "Sales", "agent.signature": "B"}
    assert render(body, filled) == ("Hi Ann, Sales/B/Sales.", ())


def test_a_value_is_never_read_as_a_template() -> None:
    values = {"customer.name": "{{ agent.signature }}", "agent.signature": "secret"}
    text, unresolved = render("Dear {{ customer.name }}", values)
    assert (text, unresolved) == ("Dear {{ agent.signature }}", ())


def test_html_escapes_values_and_leaves_the_template_as_written() -> None:
    template = '<p>{{ customer.name }} {{ agent.signature | default("<i>us</i>") }}</p>'
    values = {"customer.name": "<script>alert('x')</script> & \"co\""}
    text, _ = render(template, values, html_escape)
    assert text == (
        "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;co&quot; <i>us</i></p>"
    )
    assert render(template, values).text.startswith("<p><script>")  # plain text: as it is


@pytest.mark.parametrize(
    ("name", "first"),
    [("Ann Lee", "Ann"), ("  Ann\tLee ", "Ann"), ("Cher", "Cher"), ("", None), (None, None)],
)
def test_the_first_name_is_the_first_word(name: str | None, first: str | None) -> None:
    assert first_name(name) == first


# ---------------------------------------------------------------- properties

# Text without "{" or "}" cannot start or close a placeholder, whatever it is next to.
plain = st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)))
defaults = st.none() | st.text(st.characters(blacklist_categories=("Cs",)))
placeholders = st.builds(Placeholder, st.sampled_from(sorted(PLACEHOLDERS)), defaults)


@st.composite
def templates(draw: st.DrawFn) -> Template:
    parts: list[str | Placeholder] = []
    for part in draw(st.lists(plain | placeholders, max_size=8)):
        if isinstance(part, str):
            if not part:
                continue
            if parts and isinstance(parts[-1], str):
                parts[-1] += part
                continue
        parts.append(part)
    return Template(tuple(parts))


@given(templates())
def test_any_valid_template_round_trips(template: Template) -> None:
    assert parse_template(template.source()) == template
    assert parse_template(template.source()).source() == template.source()


@given(templates(), st.dictionaries(st.sampled_from(sorted(PLACEHOLDERS)), st.none() | plain))
def test_rendering_leaves_no_placeholder_behind(
    template: Template, values: dict[str, str | None]
) -> None:
    text, unresolved = render(template.source(), values)
    default_braces = any(
        "{" in (p.default or "") or "}" in (p.default or "") for p in template.placeholders
    )
    if not default_braces:
        assert "{{" not in text
        assert "}}" not in text
    for path in unresolved:
        assert not values.get(path)
    assert len(set(unresolved)) == len(unresolved)


@given(templates(), st.dictionaries(st.sampled_from(sorted(PLACEHOLDERS)), st.text()))
def test_values_come_out_exactly_as_given_once_escaped(
    template: Template, values: dict[str, str]
) -> None:
    text, _ = render(template, values, html_escape)
    expected = "".join(
        part
        if isinstance(part, str)
        else html_escape(values[part.path])
        if values.get(part.path)
        else part.default or ""
        for part in template.parts
    )
    assert text == expected
