"""The form an MCP server asks the user to fill (elicitation, form mode), parsed from the
schema it sent, and the checks of an answer against it.

The spec restricts ``requestedSchema`` to a flat object of primitive properties: strings
(``minLength``/``maxLength``, ``format`` email, uri, date, date-time), numbers and integers
(``minimum``/``maximum``), booleans, single choices (plain ``enum``, titled ``oneOf`` of
``const``/``title``, legacy ``enumNames``) and multiple choices (``type: array`` whose
``items`` have an ``enum`` or a titled ``anyOf``, with ``minItems``/``maxItems``). Anything
else is refused with a reason a person can read (``UnsupportedFormError``), so the question is
declined rather than shown half. Everything the server wrote is data: titles, descriptions and
choice titles are escaped for display (``safe_text.one_line``) and every size is bounded.
Defaults are kept as the server sent them (when they fit the field) and are part of an
accepted answer: the spec says a client that accepts must send them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from keiko_desktop.core.safe_text import one_line

MAX_FIELDS = 50
MAX_CHOICES = 100
MAX_NAME = 100
MAX_TITLE = 200
MAX_DESCRIPTION = 1_000
MAX_STRING = 10_000
"""Longest string answer, whatever the schema allows."""
MAX_CHOICE_VALUE = 500

FieldKind = Literal["string", "number", "integer", "boolean", "choice", "multi"]
Value = str | int | float | bool | list[str]
FORMATS = ("email", "uri", "date", "date-time")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UnsupportedFormError(Exception):
    """The schema is not one the spec allows (or is too big); ``reason`` says why, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Choice:
    """One option of a choice field: the ``value`` sent back and the ``title`` shown (escaped)."""

    value: str
    title: str


@dataclass(frozen=True)
class FormField:
    """One property of the requested schema. ``title`` and ``description`` are escaped."""

    name: str
    kind: FieldKind
    title: str = ""
    description: str = ""
    required: bool = False
    default: Value | None = None
    min_length: int | None = None
    max_length: int | None = None
    format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Choice, ...] = ()
    min_items: int | None = None
    max_items: int | None = None

    @property
    def label(self) -> str:
        """What the field is called on screen: its title, else its (escaped) name."""
        return self.title or one_line(self.name, MAX_NAME)

    def check(self, value: Any) -> str | None:
        """Why ``value`` does not fit this field, in words; None when it does."""
        label = self.label
        if self.kind == "boolean":
            return None if isinstance(value, bool) else f"{label} must be yes or no."
        if self.kind in ("number", "integer"):
            return self._check_number(value)
        if self.kind == "choice":
            if value in {c.value for c in self.choices}:
                return None
            return f"{label} must be one of the choices."
        if self.kind == "multi":
            return self._check_multi(value)
        return self._check_string(value)

    def _check_number(self, value: Any) -> str | None:
        label = self.label
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{label} must be a number."
        if self.kind == "integer" and not (isinstance(value, int) or float(value).is_integer()):
            return f"{label} must be a whole number."
        if isinstance(value, float) and not math.isfinite(value):
            return f"{label} must be a finite number."
        if self.minimum is not None and value < self.minimum:
            return f"{label} must be at least {_number(self.minimum)}."
        if self.maximum is not None and value > self.maximum:
            return f"{label} must be at most {_number(self.maximum)}."
        return None

    def _check_multi(self, value: Any) -> str | None:
        label = self.label
        allowed = {c.value for c in self.choices}
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{label} must be a list of choices."
        if any(v not in allowed for v in value):
            return f"{label} may only hold the choices offered."
        if len(set(value)) != len(value):
            return f"{label} lists a choice twice."
        if self.min_items is not None and len(value) < self.min_items:
            return f"Choose at least {self.min_items} for {label}."
        if self.max_items is not None and len(value) > self.max_items:
            return f"Choose at most {self.max_items} for {label}."
        return None

    def _check_string(self, value: Any) -> str | None:
        label = self.label
        if not isinstance(value, str):
            return f"{label} must be text."
        if self.min_length is not None and len(value) < self.min_length:
            return f"{label} needs at least {self.min_length} characters."
        limit = min(self.max_length if self.max_length is not None else MAX_STRING, MAX_STRING)
        if len(value) > limit:
            return f"{label} takes at most {limit} characters."
        if self.format and not _fits_format(value, self.format):
            return f"{label} must be {_FORMAT_WORDS[self.format]}."
        return None


_FORMAT_WORDS = {
    "email": "an email address, like name@example.com",
    "uri": "a link, like https://example.com/",
    "date": "a date, like 2026-07-28",
    "date-time": "a date and time, like 2026-07-28T14:30:00",
}


def _fits_format(value: str, fmt: str) -> bool:
    if fmt == "email":
        return bool(_EMAIL.match(value))
    if fmt == "uri":
        parts = urlsplit(value)
        return bool(parts.scheme) and bool(parts.netloc or parts.path) and " " not in value
    try:
        if fmt == "date":
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class ElicitForm:
    """The fields of a form-mode question, in the order the server listed them."""

    fields: tuple[FormField, ...]

    def field(self, name: str) -> FormField:
        return next(f for f in self.fields if f.name == name)

    def defaults(self) -> dict[str, Value]:
        """The server's defaults: what the form shows before the user changes anything."""
        return {f.name: f.default for f in self.fields if f.default is not None}

    def complete(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with the defaults of the fields they leave out, without unknown names
        and without empty optional text (an optional field left empty is not answered)."""
        content: dict[str, Any] = {}
        for f in self.fields:
            value = values.get(f.name, f.default)
            if value is None or (f.kind == "string" and value == "" and not f.required):
                continue
            if f.kind == "integer" and isinstance(value, float) and value.is_integer():
                value = int(value)
            content[f.name] = value
        return content

    def problems(self, content: Mapping[str, Any]) -> dict[str, str]:
        """Per field name, why ``content`` (as ``complete`` gives it) cannot be sent."""
        found: dict[str, str] = {}
        for f in self.fields:
            if f.name not in content:
                if f.required:
                    found[f.name] = f"{f.label} is required."
                continue
            problem = f.check(content[f.name])
            if problem is None and f.required and content[f.name] in ("", []):
                problem = f"{f.label} is required."
            if problem is not None:
                found[f.name] = problem
        return found

    def missing_defaults(self) -> list[FormField]:
        """Required fields without a usable default: what ``--yes`` cannot answer."""
        defaults = self.defaults()
        return [f for f in self.fields if f.required and f.name not in defaults]


# ---------------------------------------------------------------------- parsing
def parse_form(schema: Any) -> ElicitForm:
    """The form ``schema`` asks for. Raises ``UnsupportedFormError`` with the reason otherwise."""
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        raise UnsupportedFormError("the form it sent is not an object schema")
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        raise UnsupportedFormError("the form's properties are not a list of fields")
    if len(properties) > MAX_FIELDS:
        raise UnsupportedFormError(f"the form has {len(properties)} fields (at most {MAX_FIELDS})")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise UnsupportedFormError("the form's list of required fields is malformed")
    unknown = [r for r in required if r not in properties]
    if unknown:
        raise UnsupportedFormError(
            f"the form requires a field it does not define ({_names(unknown)})"
        )
    fields = []
    for name, prop in properties.items():
        if not isinstance(name, str) or not name or len(name) > MAX_NAME:
            raise UnsupportedFormError("a field's name is empty or too long")
        if not isinstance(prop, Mapping):
            raise UnsupportedFormError(f"the field {_names([name])} is not a schema")
        fields.append(_field(name, prop, name in required))
    return ElicitForm(tuple(fields))


def _names(names: list[str]) -> str:
    return ", ".join(one_line(repr(n), MAX_NAME) for n in names[:5])


def _field(name: str, prop: Mapping[str, Any], required: bool) -> FormField:
    what = _names([name])
    kind = prop.get("type")
    common: dict[str, Any] = {
        "name": name,
        "required": required,
        "title": one_line(_text(prop.get("title")), MAX_TITLE),
        "description": one_line(_text(prop.get("description")), MAX_DESCRIPTION),
    }
    if kind == "string" and ("enum" in prop or "oneOf" in prop):
        f = FormField(kind="choice", choices=_choices(prop, what), **common)
    elif kind == "string":
        fmt = prop.get("format")
        if fmt is not None and fmt not in FORMATS:
            raise UnsupportedFormError(
                f"the field {what} has a format Keiko does not know ({fmt!r})"
            )
        f = FormField(
            kind="string",
            min_length=_count(prop, "minLength", what),
            max_length=_count(prop, "maxLength", what),
            format=fmt,
            **common,
        )
        _ordered(f.min_length, f.max_length, what)
    elif kind in ("number", "integer"):
        f = FormField(
            kind=kind,
            minimum=_bound(prop, "minimum", what),
            maximum=_bound(prop, "maximum", what),
            **common,
        )
        _ordered(f.minimum, f.maximum, what)
    elif kind == "boolean":
        f = FormField(kind="boolean", **common)
    elif kind == "array":
        items = prop.get("items")
        if not isinstance(items, Mapping):
            raise UnsupportedFormError(f"the list field {what} does not say what it may hold")
        f = FormField(
            kind="multi",
            choices=_choices(items, what, titled_key="anyOf"),
            min_items=_count(prop, "minItems", what),
            max_items=_count(prop, "maxItems", what),
            **common,
        )
        _ordered(f.min_items, f.max_items, what)
    else:
        raise UnsupportedFormError(f"the field {what} is of a kind a form cannot show ({kind!r})")
    default = prop.get("default")
    if default is not None and f.check(default) is None:
        return _with_default(f, default)
    return f


def _with_default(f: FormField, default: Value) -> FormField:
    return replace(f, default=list(default) if isinstance(default, list) else default)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _choices(prop: Mapping[str, Any], what: str, titled_key: str = "oneOf") -> tuple[Choice, ...]:
    if titled_key in prop:
        options = prop[titled_key]
        if not isinstance(options, list) or not all(
            isinstance(o, Mapping) and isinstance(o.get("const"), str) for o in options
        ):
            raise UnsupportedFormError(f"the choices of {what} are malformed")
        pairs = [(o["const"], _text(o.get("title")) or o["const"]) for o in options]
    else:
        values = prop.get("enum")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise UnsupportedFormError(f"the field {what} offers no list of text choices")
        names = prop.get("enumNames")
        if isinstance(names, list) and len(names) == len(values):
            pairs = [(v, _text(n) or v) for v, n in zip(values, names, strict=True)]
        else:
            pairs = [(v, v) for v in values]
    if not pairs:
        raise UnsupportedFormError(f"the field {what} offers no choices")
    if len(pairs) > MAX_CHOICES:
        raise UnsupportedFormError(f"the field {what} offers {len(pairs)} choices (at most 100)")
    if any(len(v) > MAX_CHOICE_VALUE for v, _ in pairs) or len({v for v, _ in pairs}) != len(pairs):
        raise UnsupportedFormError(f"the choices of {what} are too long or repeated")
    return tuple(Choice(v, one_line(t, MAX_TITLE)) for v, t in pairs)


def _count(prop: Mapping[str, Any], key: str, what: str) -> int | None:
    value = prop.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnsupportedFormError(f"the field {what} has a bad {key} ({value!r})")
    return value


def _bound(prop: Mapping[str, Any], key: str, what: str) -> float | None:
    value = prop.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UnsupportedFormError(f"the field {what} has a bad {key} ({value!r})")
    return value


def _ordered(low: float | None, high: float | None, what: str) -> None:
    if low is not None and high is not None and low > high:
        raise UnsupportedFormError(f"the field {what} has a lower bound above its upper bound")
