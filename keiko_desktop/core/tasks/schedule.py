"""When a schedule fires: its spec checked, its next firing, catching up on start, and the
parsers for what people type (``--every 1h30m``, ``--at tomorrow 09:00``).

Times come in aware and go out aware in UTC. ``once`` fires at its instant; ``every`` at
``anchor + k * minutes`` in absolute time (the anchor is ``spec.at``, else the ``after`` asked
about), so a change of clocks neither moves nor stretches it. ``daily``, ``weekly`` and ``cron``
are wall-clock times in the spec's zone (``timezone``, else the machine's), and the nights the
clocks change follow two rules:

- A wall time that does not exist (the spring-forward gap: 02:30 on the night New York goes
  from 02:00 to 03:00) fires once, at the instant zoneinfo gives it with ``fold=0``: the offset
  from before the change, so 02:30 EST = 07:30 UTC = 03:30 EDT. It is never skipped.
- A wall time that occurs twice (fall back: 01:30 on the night 02:00 becomes 01:00 again)
  fires once, at its first occurrence (``fold=0``), never doubled: both occurrences name the
  same instant, and ``next_run`` looks strictly after the last firing.

Where a shifted gap time lands on the instant of a real time after the gap (cron
``30 * * * *``: 02:30 and 03:30 are both 07:30 UTC) the two fire once. So the firings are the
instants all matching wall times map to, each once, strictly increasing, none skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from keiko_desktop.core.tasks.cron import CronExpr
from keiko_desktop.core.tasks.errors import ScheduleError
from keiko_desktop.core.tasks.records import SCHEDULE_KINDS, ScheduleKind, ScheduleSpec

MAX_MINUTES = 525_600
"""The longest interval: a year of minutes."""
MAX_AHEAD = 10 * MAX_MINUTES
"""The furthest a relative ``--at +…`` reaches."""
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_WORDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNITS = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hr": 60}
_UNITS |= {"hrs": 60, "hour": 60, "hours": 60, "d": 1440, "day": 1440, "days": 1440}
_PART = re.compile(r"\s*([0-9]{1,7})\s*([a-z]*)\s*")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_LOOKBACK = timedelta(hours=26)
"""How far back a clock change may still shift a gap time past ``after`` (Samoa's 24 h)."""
_EVERY_HINT = "Write minutes, or with units: 15m, 2h, 1h30m, 1d."
_AT_HINT = 'Write "2026-12-24 09:00", "09:00", "tomorrow 09:00", "+10m" or ISO with an offset.'
_REDO = "Delete the schedule and make it again."
_WEEKLY_HINT = 'Write days and a time: "mon,wed 09:00" or "Mon-Fri 18:30".'


def local_zone() -> tzinfo:
    """The machine's zone: ``TZ``, else what /etc/localtime links to, else today's fixed
    offset (no DST: what Windows gets without a zone database lookup), else UTC."""
    tz = os.environ.get("TZ", "").strip().removeprefix(":")
    tz = tz.partition("/zoneinfo/")[2] or tz
    try:
        linked = os.path.realpath("/etc/localtime").partition("/zoneinfo/")[2]
    except OSError:
        linked = ""
    for key in (tz, linked):
        if key and (zone := _zone_or_none(key)) is not None:
            return zone
    offset = datetime.now().astimezone().utcoffset()
    return UTC if offset is None else timezone(offset)


def zone_of(spec: ScheduleSpec) -> tzinfo:
    """The zone a spec's wall times are in; a name tzdata does not know is a ScheduleError."""
    if not spec.timezone:
        return local_zone()
    zone = _zone_or_none(spec.timezone) if len(spec.timezone) <= 100 else None
    if zone is None:
        raise ScheduleError(
            f"unknown time zone {spec.timezone!r:.60}",
            'Use an IANA name such as "Europe/Berlin", or none for this machine\'s.',
        )
    return zone


def _zone_or_none(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_spec(spec: ScheduleSpec) -> ScheduleSpec:
    """``spec`` normalized (times UTC, "9:05" as "09:05", weekdays sorted, fields its kind does
    not use cleared), or a ScheduleError saying what is wrong."""
    if spec.kind not in SCHEDULE_KINDS:
        hint = "Use once, every, daily, weekly or cron."
        raise ScheduleError(f"unknown schedule kind {spec.kind!r:.40}", hint)
    if not isinstance(spec.timezone, str):
        raise ScheduleError("the time zone must be text", "Use a name such as Europe/Berlin.")
    tz = spec.timezone.strip()
    if tz:
        zone_of(replace(spec, timezone=tz))
    if spec.kind == "once":
        when = _aware(spec.at, "a once schedule needs its time")
        return ScheduleSpec("once", at=when, timezone=tz)
    if spec.kind == "every":
        at = None if spec.at is None else _aware(spec.at, "the start of an every schedule")
        return ScheduleSpec("every", at=at, minutes=_interval(spec.minutes), timezone=tz)
    if spec.kind == "cron":
        return ScheduleSpec("cron", cron=CronExpr.parse(spec.cron).text, timezone=tz)
    hhmm = check_time(spec.time)
    if spec.kind == "daily":
        return ScheduleSpec("daily", time=hhmm, timezone=tz)
    return ScheduleSpec("weekly", time=hhmm, weekdays=_weekdays(spec.weekdays), timezone=tz)


def _aware(at: object, what: str) -> datetime:
    if not isinstance(at, datetime) or at.utcoffset() is None:
        raise ScheduleError(f"{what}: a date and time with its zone", _AT_HINT)
    return at.astimezone(UTC)


def _interval(minutes: object) -> int:
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise ScheduleError(f"the interval must be whole minutes, not {minutes!r:.40}", _EVERY_HINT)
    if not 1 <= minutes <= MAX_MINUTES:
        raise ScheduleError(
            f"the interval is {minutes} minutes; it must be 1 to {MAX_MINUTES} (a year)",
            _EVERY_HINT,
        )
    return minutes


def check_time(text: object) -> str:
    """A time of day "H:MM" or "HH:MM" (00:00-23:59) as "HH:MM"."""
    found = _TIME.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        raise ScheduleError(f"the time {text!r:.40} is not HH:MM (00:00-23:59)", "E.g. 09:00.")
    return f"{int(found[1]):02d}:{found[2]}"


def _weekdays(days: object) -> tuple[int, ...]:
    if not isinstance(days, tuple | list) or not 1 <= len(days) <= 7:
        raise ScheduleError("a weekly schedule needs 1 to 7 weekdays", _WEEKLY_HINT)
    if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days):
        raise ScheduleError(f"weekdays are 0 (Monday) to 6 (Sunday): {days!r:.40}", _WEEKLY_HINT)
    if len(set(days)) != len(days):
        raise ScheduleError(f"a weekday is given twice in {days!r:.40}", _WEEKLY_HINT)
    return tuple(sorted(days))


def next_run(spec: ScheduleSpec, after: datetime) -> datetime | None:
    """The first firing strictly after the aware ``after``, in UTC; None: it never fires again
    (a once that has passed, a cron with no date left)."""
    if after.utcoffset() is None:
        raise ValueError("next_run wants an aware datetime")
    spec = check_spec(spec)
    after = after.astimezone(UTC)
    try:
        if spec.kind == "once":
            return spec.at if spec.at is not None and spec.at > after else None
        if spec.kind == "every":
            step, anchor = timedelta(minutes=spec.minutes), spec.at or after
            return anchor if anchor > after else anchor + ((after - anchor) // step + 1) * step
        return _next_wall(_wall_expr(spec), zone_of(spec), after)
    except OverflowError:  # the year 9999
        return None


def _wall_expr(spec: ScheduleSpec) -> CronExpr:
    if spec.kind == "cron":
        return CronExpr.parse(spec.cron)
    hour, minute = spec.time.split(":")
    days = ",".join(str((d + 1) % 7) for d in spec.weekdays) if spec.kind == "weekly" else "*"
    return CronExpr.parse(f"{int(minute)} {int(hour)} * * {days}")


def _instant(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a wall time names: the first if it occurs twice, shifted if in a gap."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _offset(moment: datetime, zone: tzinfo) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta(0)


def _next_wall(expr: CronExpr, zone: tzinfo, after: datetime) -> datetime | None:
    # Start at after's wall time under the smaller of today's and yesterday's offset: a gap
    # time just before after's wall time may still map to an instant after it.
    offset = min(_offset(after, zone), _offset(after - _LOOKBACK, zone))
    wall = expr.next_local_after(after.replace(tzinfo=None) + offset - timedelta(minutes=1))
    while wall is not None and _instant(wall, zone) <= after:
        wall = expr.next_local_after(wall)
    if wall is None:
        return None
    best = _instant(wall, zone)
    shifted = best.astimezone(zone).replace(tzinfo=None)
    # In a gap, real times up to the shifted one map to earlier instants: the earliest wins.
    later = expr.next_local_after(wall) if shifted != wall else None
    while later is not None and later < shifted:
        if after < (moment := _instant(later, zone)) < best:
            best = moment
        later = expr.next_local_after(later)
    return best


def catch_up(
    spec: ScheduleSpec, next_at: datetime | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """On start: (the missed firing to run once, or None; the next firing after ``now``).
    Firings missed while Keiko was closed collapse into one, the latest of them. A stored
    ``next_at`` of None means the schedule is done: (None, None)."""
    if now.utcoffset() is None:
        raise ValueError("catch_up wants an aware datetime")
    now = now.astimezone(UTC)
    if next_at is None:
        return None, None
    next_at = next_at.astimezone(UTC)
    if next_at > now:
        return None, next_at
    if spec.kind == "every" and spec.at is None:
        spec = replace(spec, at=next_at)  # keep the phase the stored firing had
    return _last_firing(spec, next_at, now), next_run(spec, now)


def _last_firing(spec: ScheduleSpec, low: datetime, now: datetime) -> datetime:
    """The latest firing in [low, now], ``low`` being one: a bisection, ~30 steps for years."""
    high = now  # no firing in (high, now]
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        found = next_run(spec, mid)
        if found is not None and found <= now:
            low = found
        else:
            high = mid
    found = next_run(spec, low)
    while found is not None and found <= now:
        low, found = found, next_run(spec, found)
    return low


def describe(spec: ScheduleSpec) -> str:
    """One line for people: "daily at 09:00", "weekly on Mon, Wed at 09:00 (Europe/Berlin)"
    (the zone is named when the spec has one, except for ``every``, which has no wall time)."""
    zone = f" ({spec.timezone})" if spec.timezone else ""
    if spec.kind == "once":
        if spec.at is None:
            return "once (no time set)"
        try:
            local = spec.at.astimezone(zone_of(spec))
        except ScheduleError:
            local = spec.at.astimezone(UTC)
        return f"once at {local:%Y-%m-%d %H:%M}{zone}"
    if spec.kind == "every":
        for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
            if spec.minutes >= size and spec.minutes % size == 0:
                count = spec.minutes // size
                return f"every {unit}" if count == 1 else f"every {count} {unit}s"
        return f"every {spec.minutes} minutes"
    if spec.kind == "daily":
        return f"daily at {spec.time}{zone}"
    if spec.kind == "weekly":
        days = ", ".join(WEEKDAY_NAMES[d] for d in spec.weekdays if 0 <= d <= 6)
        return f"weekly on {days} at {spec.time}{zone}"
    return f"cron {spec.cron}{zone}"


def _duration(text: str, what: str) -> int:
    """Minutes in "15", "15m", "2h", "1h30m", "1d", "90min", "2 hours"."""
    s = text.strip().lower()
    if re.fullmatch(r"[0-9]{1,7}", s):
        return int(s)
    if not s or len(s) > 50:
        raise ScheduleError(f"{what} {text!r:.60} is empty or too long", _EVERY_HINT)
    total, pos, seen = 0, 0, set()
    while pos < len(s):
        part = _PART.match(s, pos)
        if part is None:
            raise ScheduleError(f"{what} {text!r}: cannot read {s[pos:]!r}", _EVERY_HINT)
        number, unit = part[1], part[2]
        if unit in ("s", "sec", "secs", "second", "seconds"):
            raise ScheduleError(f"{what} {text!r}: seconds are too fine", _EVERY_HINT)
        if unit not in _UNITS:
            why = f"{number} needs a unit" if not unit else f"unknown unit {unit!r}"
            raise ScheduleError(f"{what} {text!r}: {why}", _EVERY_HINT)
        if _UNITS[unit] in seen:
            raise ScheduleError(f"{what} {text!r}: {unit!r} repeats a unit", _EVERY_HINT)
        seen.add(_UNITS[unit])
        total, pos = total + int(number) * _UNITS[unit], part.end()
    return total


def parse_every(text: str) -> int:
    """An interval in minutes, 1 to ``MAX_MINUTES``."""
    minutes = _duration(text, "the interval")
    if not 1 <= minutes <= MAX_MINUTES:
        raise ScheduleError(
            f"the interval {text.strip()!r} is {minutes} minutes; it must be 1 to"
            f" {MAX_MINUTES} (a year)",
            _EVERY_HINT,
        )
    return minutes


def parse_at(text: str, now: datetime, zone: tzinfo) -> datetime:
    """An instant in UTC: "2026-12-24 09:00" (or with T, or ISO with an offset), "09:00" (the
    next one after ``now``), "today 09:00", "tomorrow 09:00", "+10m", "+2h". Wall times are in
    ``zone`` (a gap time shifts forward, a doubled one is its first)."""
    if now.utcoffset() is None:
        raise ValueError("parse_at wants an aware now")
    s = " ".join(text.split())
    if not s or len(s) > 100:
        raise ScheduleError(f"the time {s[:60]!r} is empty or too long", _AT_HINT)
    if s.startswith("+"):
        minutes = _duration(s[1:], "the relative time")
        if not 1 <= minutes <= MAX_AHEAD:
            raise ScheduleError(f"the relative time {s!r} must be 1 minute to 10 years", _AT_HINT)
        return (now + timedelta(minutes=minutes)).astimezone(UTC)
    today = now.astimezone(zone).date()
    word, _, rest = s.lower().partition(" ")
    if word in ("today", "tomorrow"):
        day = today + timedelta(days=1 if word == "tomorrow" else 0)
        return _instant(datetime.combine(day, _clock(rest)), zone)
    if _TIME.fullmatch(s):
        first = _instant(datetime.combine(today, _clock(s)), zone)
        tomorrow = datetime.combine(today + timedelta(days=1), _clock(s))
        return first if first > now else _instant(tomorrow, zone)
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        raise ScheduleError(f"cannot read the time {s!r}", _AT_HINT) from None
    if not re.search(r"[T ]", s, re.IGNORECASE):
        raise ScheduleError(f"{s!r} has a date but no time of day", _AT_HINT)
    return _instant(parsed, zone) if parsed.utcoffset() is None else parsed.astimezone(UTC)


def _clock(text: str) -> time:
    hour, minute = check_time(text).split(":")
    return time(int(hour), int(minute))


def parse_weekly(text: str) -> tuple[tuple[int, ...], str]:
    """(weekdays, "HH:MM") from "mon,wed 09:00", "Mon-Fri 18:30", "weekdays at 8:00"; ranges
    may wrap ("fri-mon")."""
    s = " ".join(text.split()).lower()
    days_text, _, hhmm = s.rpartition(" ")
    days_text = days_text.removesuffix(" at").replace(" ", "")
    if not days_text:
        raise ScheduleError(f"{text.strip()!r:.60} needs days and a time", _WEEKLY_HINT)
    days: set[int] = set()
    for item in days_text.split(","):
        if item in ("weekdays", "weekend", "weekends"):
            days.update(range(5) if item == "weekdays" else (5, 6))
            continue
        first, dash, last = item.partition("-")
        a = _day(first)
        b = _day(last) if dash else a
        days.update(d % 7 for d in range(a, b + 1 if b >= a else b + 8))
    return tuple(sorted(days)), check_time(hhmm)


def _day(word: str) -> int:
    for number, name in enumerate(_DAY_WORDS):
        if len(word) >= 3 and name.startswith(word):
            return number
    raise ScheduleError(f"{word!r:.40} is not a weekday", "Use mon tue wed thu fri sat sun.")


def spec_to_dict(spec: ScheduleSpec) -> dict[str, Any]:
    """The spec as JSON-safe values (``at`` as ISO text), for the store."""
    at = None if spec.at is None else spec.at.isoformat()
    return {**asdict(spec), "at": at, "weekdays": list(spec.weekdays)}


def spec_from_dict(data: Mapping[str, Any]) -> ScheduleSpec:
    """The spec ``spec_to_dict`` made, checked; damaged input is a ScheduleError."""
    if not isinstance(data, Mapping):
        raise ScheduleError("the stored schedule is not an object", _REDO)

    def field(key: str, kind: Any, default: object) -> Any:
        value = data.get(key, default)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ScheduleError(f"the stored schedule's {key!r} is damaged: {value!r:.40}", _REDO)
        return value

    kind = field("kind", str, "")
    if kind not in SCHEDULE_KINDS:
        raise ScheduleError(f"the stored schedule's kind {kind!r:.40} is unknown", _REDO)
    at_text = field("at", str | None, None)
    try:
        at = None if at_text is None else datetime.fromisoformat(at_text)
    except ValueError:
        raise ScheduleError(
            f"the stored schedule's time {at_text!r:.40} is damaged", _REDO
        ) from None
    texts = {key: field(key, str, "") for key in ("time", "cron", "timezone")}
    weekdays = tuple(field("weekdays", list, []))
    minutes = field("minutes", int, 0)
    kind = cast(ScheduleKind, kind)
    return check_spec(ScheduleSpec(kind=kind, at=at, minutes=minutes, weekdays=weekdays, **texts))
