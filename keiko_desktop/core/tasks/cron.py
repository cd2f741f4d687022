"""Five-field cron expressions, parsed and matched against wall-clock minutes (no croniter).

Fields: minute hour day-of-month month day-of-week, each ``*``, a number, a range ``1-5``, a
step ``*/15``, ``1-10/2`` or ``5/15`` (from 5 to the field's end), or a comma list of those;
months ``jan``-``dec`` and weekdays ``sun``-``sat`` by name (any case), 0 and 7 both Sunday.
The macros ``@hourly @daily @midnight @weekly @monthly @yearly @annually`` stand for the
fields they always meant. Days follow Vixie cron: when both day fields are restricted (neither
starts with ``*``), a day matches if EITHER does; otherwise both must (a ``*`` one always does).

This module knows nothing of time zones: it answers on naive wall-clock times; what a wall
time means on a night the clocks change is ``schedule.py``'s business.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from keiko_desktop.core.tasks.errors import ScheduleError

MAX_TEXT = 200
SEARCH_DAYS = 8 * 366 + 1
"""How far ``next_local_after`` looks before it gives up. Eight years, not five: Feb 29
skips 2100, so ``0 0 29 2 *`` may wait seven years for its next day."""

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    # name, low, high, names (index + offset is the value)
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_NUMBER = re.compile(r"[0-9]+")
_HINT = 'Write five fields, e.g. "0 9 * * 1-5" (minute hour day month weekday).'


@dataclass(frozen=True)
class CronExpr:
    """A parsed expression: each field's allowed values, sorted (weekdays 0-6, 0 = Sunday)."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, text: str) -> CronExpr:
        """The expression ``text`` means, or a ``ScheduleError`` naming the field and why."""
        if not isinstance(text, str):
            raise ScheduleError("a cron expression must be text", _HINT)
        return _parse(text)

    def matches(self, local: datetime) -> bool:
        """Whether the wall-clock minute ``local`` is one the expression fires at."""
        return (
            local.minute in self.minutes
            and local.hour in self.hours
            and local.month in self.months
            and self._day_matches(local.date())
        )

    def next_local_after(self, local: datetime) -> datetime | None:
        """The first matching wall-clock minute strictly after ``local`` (naive), or None when
        there is none within ``SEARCH_DAYS`` (``0 0 30 2 *``). It skips whole months, days and
        hours that cannot match, so a year's search costs a few hundred steps, not 500,000."""
        if local.tzinfo is not None:
            raise ValueError("next_local_after wants a naive wall-clock time")
        try:
            start = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
            day, hour, minute = start.date(), start.hour, start.minute
            limit = day + timedelta(days=min(SEARCH_DAYS, (date.max - day).days))
            while day <= limit:
                if day.month not in self.months:
                    day = _next_month(day)
                else:
                    if self._day_matches(day):
                        found = self._time_from(hour, minute)
                        if found is not None:
                            return datetime.combine(day, found)
                    day += timedelta(days=1)
                hour = minute = 0
        except (OverflowError, ValueError):  # past the year 9999
            return None
        return None

    def _day_matches(self, day: date) -> bool:
        in_days = day.day in self.days
        in_weekdays = day.isoweekday() % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def _time_from(self, hour: int, minute: int) -> time | None:
        """The first allowed time of day at or after ``hour:minute``."""
        for i in range(bisect_left(self.hours, hour), len(self.hours)):
            h = self.hours[i]
            j = bisect_left(self.minutes, minute if h == hour else 0)
            if j < len(self.minutes):
                return time(h, self.minutes[j])
        return None


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


@lru_cache(maxsize=256)
def _parse(text: str) -> CronExpr:
    if len(text) > MAX_TEXT:
        raise ScheduleError(f"a cron expression may have at most {MAX_TEXT} characters", _HINT)
    fields = text.split()
    if not fields:
        raise ScheduleError("the cron expression is empty", _HINT)
    if len(fields) == 1 and fields[0].startswith("@"):
        macro = fields[0].lower()
        if macro not in MACROS:
            known = " ".join(MACROS)
            raise ScheduleError(f"unknown cron macro {fields[0]!r}", f"Use one of {known}.")
        return _build(macro, MACROS[macro].split())
    if len(fields) != len(_FIELDS):
        raise ScheduleError(
            f"a cron expression needs 5 fields (minute hour day-of-month month day-of-week),"
            f" got {len(fields)}",
            _HINT,
        )
    return _build(" ".join(fields), fields)


def _build(text: str, fields: list[str]) -> CronExpr:
    values = [_field(n, f) for n, f in enumerate(fields)]
    weekdays = tuple(sorted({0 if d == 7 else d for d in values[4]}))
    return CronExpr(
        text=text,
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=weekdays,
        days_restricted=not fields[2].startswith("*"),
        weekdays_restricted=not fields[4].startswith("*"),
    )


def _field(index: int, text: str) -> tuple[int, ...]:
    name, low, high, names = _FIELDS[index]

    def fail(why: str) -> ScheduleError:
        return ScheduleError(f"cron field {index + 1} ({name}): {why}", _HINT)

    def value(part: str) -> int:
        lowered = part.lower()
        if lowered in names:
            return names.index(lowered) + low
        if not _NUMBER.fullmatch(part):
            named = f" or a name {names[0]}-{names[-1]}" if names else ""
            raise fail(f"{part!r} is not a number {low}-{high}{named}")
        number = int(part)
        if not low <= number <= high:
            raise fail(f"{number} is out of range {low}-{high}")
        return number

    chosen: set[int] = set()
    for item in text.split(","):
        if not item:
            raise fail("a list has an empty item")
        span, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _NUMBER.fullmatch(step_text) or not 1 <= int(step_text) <= high:
                raise fail(f"step {step_text!r} is not a number 1-{high}")
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = value(a), value(b)
            if index == 4 and b.lower() == "sun" and first > 0:
                last = 7  # "fri-sun" ends on the Sunday after, not before
            if first > last:
                raise fail(f"range {span} runs backwards")
        else:
            first = value(span)
            last = high if slash else first
        chosen.update(range(first, last + 1, step))
    return tuple(sorted(chosen))
