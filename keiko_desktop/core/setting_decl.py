"""How a setting is declared: ``Section``, ``Effect``, ``Setting`` and ``setting()``.

``config.Settings`` declares every setting with ``setting()``; ``config.SETTINGS`` is the
declaration by key. Kept apart from ``config`` so that file holds the settings themselves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from keiko_desktop.core.errors import SettingsError


@dataclass(frozen=True)
class Section:
    """A table of settings.toml, and a page of the Settings dialog."""

    name: str
    title: str


class Effect(enum.Enum):
    """When a changed setting takes effect."""

    LIVE = "applies at once"
    RELOAD_MODEL = "reloads the model"
    RESTART = "applies at the next start"


KINDS: dict[type, str] = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    tuple: "a list of text",
}


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Setting:
    """One setting's declaration. For numbers ``minimum``/``maximum`` bound the value, for text
    they bound its length; ``choices`` (text) lists every allowed value."""

    key: str
    section: str
    kind: type
    default: Any
    label: str
    description: str
    effect: Effect = Effect.LIVE
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return self.kind in (int, float)

    @property
    def bounds(self) -> tuple[float, float]:
        """(minimum, maximum) of a number (every number setting declares both)."""
        if self.minimum is None or self.maximum is None:
            raise TypeError(f"setting {self.key!r} has no range")
        return self.minimum, self.maximum

    def coerce(self, value: Any, source: str = "", *, flag: str = "") -> Any:
        """``value`` as this setting's type (an int for a float, a list for a tuple) and checked;
        SettingsError naming the key (or ``flag``, see ``check``) otherwise."""
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif self.kind is tuple and isinstance(value, list):
            value = tuple(value)
        self.check(value, source, flag=flag)
        return value

    def check(self, value: Any, source: str = "", *, flag: str = "") -> None:
        """Raise SettingsError unless ``value`` is allowed. The message names the key and its
        section (and ``source``, the file), or, for a value given on the command line, the
        ``flag`` (``--max-tokens``) and how to give it right."""
        if flag:
            where = f"The value of {flag}"
            hint = self._flag_hint(flag)
        else:
            where = f"Setting '{self.key}' in [{self.section}]" + (
                f" of {source}" if source else ""
            )
            hint = f"Fix '{self.key}' under [{self.section}] in settings.toml, or remove it."
        if not self._has_kind(value):
            raise SettingsError(
                f"{where} must be {KINDS[self.kind]}, not {type(value).__name__} ({value!r}).",
                hint,
            )
        if self.choices and self.kind is tuple:
            allowed = ", ".join(repr(c) for c in self.choices)
            for item in value:
                if item not in self.choices:
                    raise SettingsError(f"{where} lists {item!r}; use only {allowed}.", hint)
            if len(set(value)) != len(value):
                raise SettingsError(f"{where} names an entry twice.", hint)
        elif self.choices and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise SettingsError(f"{where} is {value!r}; use one of {allowed}.", hint)
        if self.kind is str:
            size = len(value)
            if self.minimum is not None and size < self.minimum:
                least = f"at least {_num(self.minimum)} characters long"
                raise SettingsError(
                    f"{where} must {'not be empty' if self.minimum == 1 else 'be ' + least}.", hint
                )
            if self.maximum is not None and size > self.maximum:
                raise SettingsError(
                    f"{where} is {size} characters long; at most {_num(self.maximum)} fit.", hint
                )
        elif self.kind is tuple and self.maximum is not None and len(value) > self.maximum:
            raise SettingsError(
                f"{where} lists {len(value)} entries; at most {_num(self.maximum)} fit.", hint
            )
        elif self.numeric and not self.bounds[0] <= value <= self.bounds[1]:
            low, high = self.bounds
            raise SettingsError(
                f"{where} is {_num(value)}; it must be between {_num(low)} and {_num(high)}.",
                hint,
            )

    def _flag_hint(self, flag: str) -> str:
        default = f"the setting '{self.key}'"
        if self.choices:
            allowed = ", ".join(self.choices)
            return f"Give {flag} one of {allowed}, or leave it out to use {default}."
        if self.numeric:
            low, high = self.bounds
            return (
                f"Give {flag} a value from {_num(low)} to {_num(high)}, or leave it out to use "
                f"{default}."
            )
        return f"Give {flag} a valid value, or leave it out to use {default}."

    def _has_kind(self, value: Any) -> bool:
        if self.kind is tuple:
            return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
        if isinstance(value, bool):
            return self.kind is bool
        if self.kind is float:
            return isinstance(value, int | float)
        return isinstance(value, self.kind)


def setting(
    section: str,
    default: Any,
    label: str,
    description: str,
    *,
    effect: Effect = Effect.LIVE,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """Declare a ``Settings`` field (its name is the key, its annotation the type)."""
    spec = {
        "section": section,
        "label": label,
        "description": description,
        "effect": effect,
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
    }
    return field(default=default, metadata={"setting": spec})
