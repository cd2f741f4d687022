"""The elicitation form: parsed from the spec's restricted schema, answers checked against it,
and the broker that asks the registered elicitor (issue 16, item 1)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keiko_desktop.core.tools.elicitation import (
    MAX_MESSAGE,
    ElicitAction,
    ElicitAnswer,
    ElicitationBroker,
    ElicitationRequest,
    form_request,
    url_request,
)
from keiko_desktop.core.tools.elicitation_form import (
    MAX_FIELDS,
    MAX_STRING,
    UnsupportedFormError,
    parse_form,
)

EVERY_KIND: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Your name", "minLength": 2, "maxLength": 5},
        "email": {"type": "string", "format": "email", "default": "a@b.co"},
        "site": {"type": "string", "format": "uri"},
        "day": {"type": "string", "format": "date", "default": "2026-07-28"},
        "at": {"type": "string", "format": "date-time"},
        "guests": {"type": "integer", "minimum": 1, "maximum": 8, "default": 2},
        "budget": {"type": "number", "minimum": 0, "maximum": 10.5},
        "vip": {"type": "boolean", "default": False},
        "seat": {"type": "string", "enum": ["window", "aisle"], "default": "aisle"},
        "meal": {
            "type": "string",
            "oneOf": [{"const": "veg", "title": "Vegetarian"}, {"const": "fish", "title": "Fish"}],
        },
        "cabin": {"type": "string", "enum": ["eco", "biz"], "enumNames": ["Economy", "Business"]},
        "extras": {
            "type": "array",
            "items": {"type": "string", "enum": ["wifi", "bag"]},
            "minItems": 1,
            "maxItems": 1,
            "default": ["wifi"],
        },
        "topics": {
            "type": "array",
            "items": {"anyOf": [{"const": "art", "title": "Art"}, {"const": "food", "title": "F"}]},
        },
    },
    "required": ["name", "meal"],
}


def test_every_field_kind_is_parsed_with_its_bounds_titles_and_defaults() -> None:
    form = parse_form(EVERY_KIND)
    kinds = {f.name: f.kind for f in form.fields}
    assert kinds == {
        "name": "string",
        "email": "string",
        "site": "string",
        "day": "string",
        "at": "string",
        "guests": "integer",
        "budget": "number",
        "vip": "boolean",
        "seat": "choice",
        "meal": "choice",
        "cabin": "choice",
        "extras": "multi",
        "topics": "multi",
    }
    name = form.field("name")
    assert (name.label, name.required, name.min_length, name.max_length) == (
        "Your name",
        True,
        2,
        5,
    )
    assert form.field("guests").minimum == 1
    assert form.field("guests").maximum == 8
    assert [c.title for c in form.field("meal").choices] == ["Vegetarian", "Fish"]
    assert [(c.value, c.title) for c in form.field("cabin").choices] == [
        ("eco", "Economy"),
        ("biz", "Business"),
    ]
    assert [c.title for c in form.field("topics").choices] == ["Art", "F"]
    assert form.field("site").label == "site"  # no title: its name
    assert form.defaults() == {
        "email": "a@b.co",
        "day": "2026-07-28",
        "guests": 2,
        "vip": False,
        "seat": "aisle",
        "extras": ["wifi"],
    }
    assert [f.name for f in form.missing_defaults()] == ["name", "meal"]


def test_an_accepted_answer_carries_the_defaults_and_passes() -> None:
    form = parse_form(EVERY_KIND)
    content = form.complete({"name": "Ann", "meal": "fish", "site": ""})
    assert content == {**form.defaults(), "name": "Ann", "meal": "fish"}  # empty optional: left out
    assert form.problems(content) == {}


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("name", "A", "Your name needs at least 2 characters."),
        ("name", "Annabel", "Your name takes at most 5 characters."),
        ("email", "not-an-address", "email must be an email address"),
        ("site", "no link", "site must be a link"),
        ("day", "28/07/2026", "day must be a date"),
        ("at", "tomorrow", "at must be a date and time"),
        ("guests", 9, "guests must be at most 8."),
        ("guests", 2.5, "guests must be a whole number."),
        ("guests", True, "guests must be a number."),
        ("budget", -1, "budget must be at least 0."),
        ("vip", "yes", "vip must be yes or no."),
        ("seat", "roof", "seat must be one of the choices."),
        ("extras", [], "Choose at least 1 for extras."),
        ("extras", ["wifi", "bag"], "Choose at most 1 for extras."),
        ("topics", ["art", "art"], "topics lists a choice twice."),
        ("topics", ["sky"], "topics may only hold the choices offered."),
    ],
)
def test_each_bad_value_gets_its_own_message(name: str, value: Any, words: str) -> None:
    form = parse_form(EVERY_KIND)
    problems = form.problems(form.complete({"name": "Ann", "meal": "veg", name: value}))
    assert list(problems) == [name]
    assert words in problems[name]


def test_required_fields_left_out_are_named() -> None:
    form = parse_form(EVERY_KIND)
    assert form.problems(form.complete({})) == {
        "name": "Your name is required.",
        "meal": "meal is required.",
    }


def test_strings_are_capped_whatever_the_schema_allows() -> None:
    form = parse_form({"type": "object", "properties": {"t": {"type": "string"}}})
    assert "at most" in form.problems({"t": "x" * (MAX_STRING + 1)})["t"]


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "array"}, "not an object schema"),
        ({"type": "object", "properties": {"a": {"type": "object"}}}, "kind a form cannot show"),
        ({"type": "object", "properties": {"a": {"type": "array"}}}, "does not say what it may"),
        ({"type": "object", "properties": {"a": {"type": "string", "format": "ipv4"}}}, "format"),
        ({"type": "object", "properties": {}, "required": ["x"]}, "does not define"),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "integer", "minimum": 5, "maximum": 1}},
            },
            "lower bound above",
        ),
        ({"type": "object", "properties": {"a": {"type": "string", "enum": []}}}, "no choices"),
        (
            {"type": "object", "properties": {f"f{i}": {"type": "boolean"} for i in range(51)}},
            f"at most {MAX_FIELDS}",
        ),
    ],
)
def test_schemas_outside_the_spec_are_refused_with_a_reason(
    schema: dict[str, Any], reason: str
) -> None:
    with pytest.raises(UnsupportedFormError) as caught:
        parse_form(schema)
    assert reason in caught.value.reason


def test_server_text_is_escaped_and_a_default_that_does_not_fit_is_dropped() -> None:
    form = parse_form(
        {
            "type": "object",
            "properties": {
                "n": {"type": "integer", "title": "N\x1b[2J\u202e", "maximum": 3, "default": 7},
            },
        }
    )
    assert form.field("n").title == "N\\x1b[2J\\u202e"
    assert form.defaults() == {}


def test_requests_escape_the_message_and_refuse_bad_schemas_and_links() -> None:
    request = form_request("srv", "hi\x1b]0;title\x07" + "x" * 5000, {"type": "array"}, 5)
    assert "\\x1b" in request.message
    assert len(request.message) < MAX_MESSAGE + 40
    assert request.form is None
    assert "cannot show this form" in request.problem
    assert url_request("srv", "m", "javascript:alert(1)", 5).problem
    assert url_request("srv", "m", "file:///etc/passwd", 5).problem
    assert url_request("srv", "m", "https://a.example/\nx", 5).problem
    good = url_request("srv", "m", "https://login.example.com/a?b=1", 5)
    assert (good.problem, good.host) == ("", "login.example.com")


class Scripted:
    """An elicitor that answers with what a test says, or waits forever."""

    def __init__(self, answer: ElicitAnswer | None) -> None:
        self.answer = answer
        self.asked: list[ElicitationRequest] = []

    async def elicit(self, request: ElicitationRequest) -> ElicitAnswer:
        self.asked.append(request)
        if self.answer is None:
            await asyncio.Event().wait()
        assert self.answer is not None
        return self.answer


async def test_the_broker_declines_without_an_elicitor_and_cancels_on_timeout() -> None:
    broker = ElicitationBroker(timeout=0.05)
    outcome = await broker.ask(broker.form("srv", "m", EVERY_KIND))
    assert outcome.answer == ElicitAnswer.decline()
    assert "nobody can answer" in outcome.reason
    broker.set_elicitor(Scripted(None))
    outcome = await broker.ask(broker.form("srv", "m", EVERY_KIND))
    assert outcome.answer == ElicitAnswer.cancel()
    assert broker.pending() == []


async def test_the_broker_completes_and_rechecks_an_accepted_form() -> None:
    broker = ElicitationBroker(
        elicitor=Scripted(ElicitAnswer.accept({"name": "Ann", "meal": "veg"}))
    )
    outcome = await broker.ask(broker.form("srv", "m", EVERY_KIND))
    assert outcome.answer.action is ElicitAction.ACCEPT
    assert outcome.answer.content is not None
    assert outcome.answer.content["guests"] == 2  # the default, sent
    bad = ElicitationBroker(elicitor=Scripted(ElicitAnswer.accept({"name": "A"})))
    outcome = await bad.ask(bad.form("srv", "m", EVERY_KIND))
    assert outcome.answer == ElicitAnswer.cancel()  # never content that does not fit
    refused = ElicitationBroker(elicitor=Scripted(ElicitAnswer.accept({})))
    outcome = await refused.ask(refused.form("srv", "m", {"type": "array"}))
    assert outcome.answer == ElicitAnswer.decline()
    link = ElicitationBroker(elicitor=Scripted(ElicitAnswer.accept({"x": 1})))
    outcome = await link.ask(link.url("srv", "m", "https://a.example/"))
    assert outcome.answer == ElicitAnswer.accept()  # no content in URL mode
