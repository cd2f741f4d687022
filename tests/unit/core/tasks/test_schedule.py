"""Schedules: checking a spec, the next firing (daylight saving neither skips nor doubles a run),
catching up after Keiko was closed, the parsers people type into, and the stored form."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from keiko_desktop.core.tasks.cron import CronExpr
from keiko_desktop.core.tasks.errors import ScheduleError
from keiko_desktop.core.tasks.records import ScheduleSpec
from keiko_desktop.core.tasks.schedule import (
    MAX_MINUTES,
    catch_up,
    check_spec,
    check_time,
    describe,
    local_zone,
    next_run,
    parse_at,
    parse_every,
    parse_weekly,
    spec_from_dict,
    spec_to_dict,
    zone_of,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
# The four changes of clocks in 2026: (zone, the local date they change on)
SPRING_NY, FALL_NY = date(2026, 3, 8), date(2026, 11, 1)  # 02:00 -> 03:00, 02:00 -> 01:00
SPRING_BERLIN, FALL_BERLIN = date(2026, 3, 29), date(2026, 10, 25)  # 02->03, 03->02


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def firings(spec: ScheduleSpec, start: datetime, end: datetime) -> list[datetime]:
    """Every firing in (start, end], by asking for the next one after the last."""
    found: list[datetime] = []
    moment = next_run(spec, start)
    while moment is not None and moment <= end:
        assert moment.tzinfo is UTC
        found.append(moment)
        moment = next_run(spec, moment)
        assert len(found) < 20_000
    return found


def by_wall_clock(cron: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """What the rules say, by brute force: every matching wall minute near the window, named as
    an instant with fold=0 (a gap time shifted forward, a doubled one at its first), each once."""
    expr = CronExpr.parse(cron)
    wall = start.astimezone(zone).replace(tzinfo=None, second=0) - timedelta(days=2)
    last = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=2)
    instants = set()
    while wall <= last:
        if expr.matches(wall):
            instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
            if start < instant <= end:
                instants.add(instant)
        wall += timedelta(minutes=1)
    return sorted(instants)


def around(day: date, zone: ZoneInfo, days: int = 5) -> tuple[datetime, datetime]:
    """From local midnight ``days`` before ``day`` to local midnight ``days`` after."""
    start = datetime.combine(day - timedelta(days=days), datetime.min.time(), zone)
    end = datetime.combine(day + timedelta(days=days), datetime.min.time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def assert_strictly_increasing(moments: list[datetime]) -> None:
    assert all(a < b for a, b in pairwise(moments)), moments


# ---------------------------------------------------------------- once and every


def test_once_fires_at_its_time_and_then_never() -> None:
    spec = ScheduleSpec("once", at=datetime(2026, 12, 24, 9, 0, tzinfo=BERLIN))
    assert next_run(spec, utc(2026, 1, 1)) == utc(2026, 12, 24, 8, 0)
    assert next_run(spec, utc(2026, 12, 24, 7, 59, 59)) == utc(2026, 12, 24, 8, 0)
    assert next_run(spec, utc(2026, 12, 24, 8, 0)) is None  # strictly after
    assert next_run(spec, utc(2027, 1, 1)) is None


def test_every_counts_from_its_anchor_in_absolute_time() -> None:
    spec = ScheduleSpec("every", at=utc(2026, 1, 1, 9, 0), minutes=15)
    assert next_run(spec, utc(2025, 12, 31)) == utc(2026, 1, 1, 9, 0)
    assert next_run(spec, utc(2026, 1, 1, 9, 0)) == utc(2026, 1, 1, 9, 15)
    assert next_run(spec, utc(2026, 1, 1, 9, 14, 59)) == utc(2026, 1, 1, 9, 15)
    assert next_run(spec, utc(2026, 3, 5, 17, 31)) == utc(2026, 3, 5, 17, 45)
    unanchored = ScheduleSpec("every", minutes=90)
    assert next_run(unanchored, utc(2026, 1, 1, 9, 0, 30)) == utc(2026, 1, 1, 10, 30, 30)


@pytest.mark.parametrize("day", [SPRING_NY, FALL_NY])
def test_every_60_minutes_is_evenly_spaced_across_a_change_of_clocks(day: date) -> None:
    anchor = datetime.combine(day - timedelta(days=2), datetime.min.time(), NEW_YORK)
    spec = ScheduleSpec("every", at=anchor, minutes=60, timezone="America/New_York")
    start, end = around(day, NEW_YORK, days=2)
    found = firings(spec, start - timedelta(seconds=1), end)
    assert len(found) == 4 * 24 + (-1 if day == SPRING_NY else 1) + 1  # both ends included
    assert {b - a for a, b in pairwise(found)} == {timedelta(hours=1)}
    on_the_day = [f for f in found if f.astimezone(NEW_YORK).date() == day]
    assert len(on_the_day) == (23 if day == SPRING_NY else 25)


def test_a_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_run(ScheduleSpec("every", minutes=5), datetime(2026, 1, 1))


# ---------------------------------------------------------------- wall clock and DST


@pytest.mark.parametrize(
    ("zone", "day", "hhmm", "expected"),
    [
        (NEW_YORK, SPRING_NY, "02:30", utc(2026, 3, 8, 7, 30)),  # in the gap: 03:30 EDT
        (NEW_YORK, FALL_NY, "01:30", utc(2026, 11, 1, 5, 30)),  # twice: the first, EDT
        (BERLIN, SPRING_BERLIN, "02:30", utc(2026, 3, 29, 1, 30)),  # 03:30 CEST
        (BERLIN, FALL_BERLIN, "02:30", utc(2026, 10, 25, 0, 30)),  # the first, CEST
        (NEW_YORK, SPRING_NY, "09:00", utc(2026, 3, 8, 13, 0)),  # an ordinary time that day
        (BERLIN, FALL_BERLIN, "00:00", utc(2026, 10, 24, 22, 0)),
    ],
)
@pytest.mark.parametrize("kind", ["daily", "weekly", "cron"])
def test_one_firing_a_day_across_a_change_of_clocks(
    kind: str, zone: ZoneInfo, day: date, hhmm: str, expected: datetime
) -> None:
    hour, minute = (int(p) for p in hhmm.split(":"))
    spec = {
        "daily": ScheduleSpec("daily", time=hhmm, timezone=zone.key),
        "weekly": ScheduleSpec("weekly", time=hhmm, weekdays=tuple(range(7)), timezone=zone.key),
        "cron": ScheduleSpec("cron", cron=f"{minute} {hour} * * *", timezone=zone.key),
    }[kind]
    start, end = around(day, zone)
    found = firings(spec, start - timedelta(seconds=1), end - timedelta(seconds=1))
    assert_strictly_increasing(found)
    local_days = [f.astimezone(zone).date() for f in found]
    assert local_days == [day + timedelta(days=n) for n in range(-5, 5)]
    assert [f for f in found if f.astimezone(zone).date() == day] == [expected]
    for moment in found:
        if moment != expected:
            assert moment.astimezone(zone).strftime("%H:%M") == hhmm


def test_a_run_at_the_first_of_a_doubled_time_does_not_fire_the_second() -> None:
    spec = ScheduleSpec("daily", time="01:30", timezone="America/New_York")
    first = utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert next_run(spec, first) == utc(2026, 11, 2, 6, 30)  # not 06:30 today (01:30 EST)
    assert next_run(spec, utc(2026, 11, 1, 6, 0)) == utc(2026, 11, 2, 6, 30)  # 01:00 EST


def test_weekly_on_sundays_fires_once_a_week_over_the_changes() -> None:
    for zone, day in ((NEW_YORK, SPRING_NY), (NEW_YORK, FALL_NY), (BERLIN, SPRING_BERLIN)):
        spec = ScheduleSpec("weekly", time="02:30", weekdays=(6,), timezone=zone.key)
        start, end = around(day, zone, days=15)
        found = firings(spec, start, end)
        assert len(found) == 5
        assert all(f.astimezone(zone).weekday() == 6 for f in found)
        assert_strictly_increasing(found)


def test_weekly_picks_its_days() -> None:
    spec = ScheduleSpec("weekly", time="18:30", weekdays=(0, 2), timezone="Europe/Berlin")
    found = firings(spec, utc(2026, 6, 1), utc(2026, 6, 15))  # June 1st 2026 is a Monday
    assert [f.astimezone(BERLIN).strftime("%a %d %H:%M") for f in found] == [
        "Mon 01 18:30",
        "Wed 03 18:30",
        "Mon 08 18:30",
        "Wed 10 18:30",
    ]


@pytest.mark.parametrize("zone", [NEW_YORK, BERLIN])
@pytest.mark.parametrize("spring", [True, False])
def test_cron_every_15_minutes_over_a_change_is_neither_skipped_nor_doubled(
    zone: ZoneInfo, spring: bool
) -> None:
    day = {
        (NEW_YORK, True): SPRING_NY,
        (NEW_YORK, False): FALL_NY,
        (BERLIN, True): SPRING_BERLIN,
        (BERLIN, False): FALL_BERLIN,
    }[zone, spring]
    spec = ScheduleSpec("cron", cron="*/15 * * * *", timezone=zone.key)
    start, end = around(day, zone, days=1)
    found = firings(spec, start, end)
    assert_strictly_increasing(found)
    walls = [f.astimezone(zone).replace(tzinfo=None) for f in found]
    assert len(set(walls)) == len(walls)  # no wall time fires twice
    steps = {b - a for a, b in pairwise(found)}
    if spring:  # the gap's times land on the hour after it: UTC stays evenly spaced
        assert steps == {timedelta(minutes=15)}
        assert len(found) == (2 * 24 - 1) * 4
    else:  # the repeated hour is not fired again: one pause of 75 minutes
        assert steps == {timedelta(minutes=15), timedelta(minutes=75)}
        assert len(found) == (2 * 24 + 1) * 4 - 4


@pytest.mark.parametrize(
    ("zone_name", "day"),
    [
        ("America/New_York", SPRING_NY),
        ("America/New_York", FALL_NY),
        ("Europe/Berlin", SPRING_BERLIN),
        ("Europe/Berlin", FALL_BERLIN),
        ("Australia/Lord_Howe", date(2026, 4, 5)),  # half an hour back
        ("Australia/Lord_Howe", date(2026, 10, 4)),  # half an hour forward
        ("Pacific/Apia", date(2011, 12, 30)),  # a whole day skipped
    ],
)
@pytest.mark.parametrize(
    "cron",
    ["30 * * * *", "0,50 2,3 * * *", "*/20 1-3 * * *", "15 0-4 * * sun", "0 9 * * *", "* 2 * * *"],
)
def test_cron_firings_are_exactly_what_the_rules_say(zone_name: str, day: date, cron: str) -> None:
    zone = ZoneInfo(zone_name)
    start, end = around(day, zone, days=3)
    spec = ScheduleSpec("cron", cron=cron, timezone=zone_name)
    found = firings(spec, start, end)
    assert found == by_wall_clock(cron, zone, start, end)
    assert_strictly_increasing(found)


def test_a_gap_time_and_the_real_time_it_lands_on_fire_once() -> None:
    spec = ScheduleSpec("cron", cron="30 2,3 * * *", timezone="America/New_York")
    found = firings(spec, utc(2026, 3, 8), utc(2026, 3, 9))
    assert found == [utc(2026, 3, 8, 7, 30)]  # 02:30 EST and 03:30 EDT are one instant


def test_an_earlier_real_time_after_the_gap_comes_before_a_later_gap_time() -> None:
    # 02:50 (in the gap) is 07:50 UTC, 03:00 EDT is 07:00 UTC: 03:00 fires first, 02:50 next.
    spec = ScheduleSpec("cron", cron="0,50 2-3 * * 0", timezone="America/New_York")
    found = firings(spec, utc(2026, 3, 8), utc(2026, 3, 9))
    assert found == [utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 50)]


def test_an_impossible_cron_never_fires_and_says_so_quickly() -> None:
    started = time.perf_counter()
    assert next_run(ScheduleSpec("cron", cron="0 0 30 2 *"), utc(2026, 1, 1)) is None
    assert time.perf_counter() - started < 0.5


# ---------------------------------------------------------------- catching up


def test_catch_up_collapses_a_hundred_missed_runs_into_the_latest() -> None:
    anchor = utc(2026, 1, 1, 9, 0)
    spec = ScheduleSpec("every", at=anchor, minutes=1)
    now = anchor + timedelta(minutes=100, seconds=30)
    missed, following = catch_up(spec, anchor + timedelta(minutes=1), now)
    assert missed == anchor + timedelta(minutes=100)
    assert following == anchor + timedelta(minutes=101)
    assert following is not None
    assert following > now


def test_catch_up_of_a_daily_schedule_closed_for_a_hundred_days() -> None:
    spec = ScheduleSpec("daily", time="09:00", timezone="Europe/Berlin")
    stored = datetime(2026, 1, 1, 9, 0, tzinfo=BERLIN)
    now = datetime(2026, 4, 11, 12, 0, tzinfo=BERLIN)
    missed, following = catch_up(spec, stored, now)
    assert missed == datetime(2026, 4, 11, 9, 0, tzinfo=BERLIN)  # summer time by now
    assert following == datetime(2026, 4, 12, 9, 0, tzinfo=BERLIN)


def test_catch_up_of_a_dense_cron_after_months_is_quick() -> None:
    spec = ScheduleSpec("cron", cron="* * 1 * *", timezone="UTC")
    started = time.perf_counter()
    missed, following = catch_up(spec, utc(2026, 1, 1), utc(2026, 6, 15, 12, 0))
    assert time.perf_counter() - started < 1.0
    assert missed == utc(2026, 6, 1, 23, 59)
    assert following == utc(2026, 7, 1)


def test_catch_up_after_a_year_of_minutes_does_not_walk_them() -> None:
    spec = ScheduleSpec("every", at=utc(2025, 1, 1), minutes=1)
    started = time.perf_counter()
    missed, following = catch_up(spec, utc(2025, 1, 1, 0, 1), utc(2026, 1, 1, 0, 0, 30))
    assert time.perf_counter() - started < 1.0  # 525,600 next_run calls would take seconds
    assert (missed, following) == (utc(2026, 1, 1), utc(2026, 1, 1, 0, 1))


def test_catch_up_of_a_firing_exactly_now_runs_it_and_moves_on() -> None:
    spec = ScheduleSpec("every", at=utc(2026, 1, 1), minutes=60)
    assert catch_up(spec, utc(2026, 1, 1, 3), utc(2026, 1, 1, 5)) == (
        utc(2026, 1, 1, 5),
        utc(2026, 1, 1, 6),
    )


def test_catch_up_of_an_unanchored_every_keeps_its_phase() -> None:
    spec = ScheduleSpec("every", minutes=10)
    stored = utc(2026, 1, 1, 9, 3)
    missed, following = catch_up(spec, stored, stored + timedelta(minutes=105))
    assert (missed, following) == (utc(2026, 1, 1, 10, 43), utc(2026, 1, 1, 10, 53))


def test_catch_up_of_a_once_runs_it_and_ends() -> None:
    at = utc(2026, 5, 1, 9, 0)
    spec = ScheduleSpec("once", at=at)
    assert catch_up(spec, at, utc(2026, 6, 1)) == (at, None)


def test_catch_up_with_nothing_missed_or_nothing_left() -> None:
    spec = ScheduleSpec("daily", time="09:00", timezone="UTC")
    assert catch_up(spec, utc(2026, 1, 2, 9), utc(2026, 1, 2, 8)) == (None, utc(2026, 1, 2, 9))
    assert catch_up(spec, None, utc(2026, 1, 2, 8)) == (None, None)
    with pytest.raises(ValueError, match="aware"):
        catch_up(spec, utc(2026, 1, 2, 9), datetime(2026, 1, 2, 8))


# ---------------------------------------------------------------- zones


def test_local_zone_follows_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert local_zone() == BERLIN
    monkeypatch.setenv("TZ", ":America/New_York")
    assert local_zone() == NEW_YORK
    monkeypatch.setenv("TZ", "/usr/share/zoneinfo/Asia/Tokyo")
    assert local_zone() == ZoneInfo("Asia/Tokyo")
    assert zone_of(ScheduleSpec("daily", time="09:00")) == ZoneInfo("Asia/Tokyo")


def test_local_zone_falls_back_to_etc_localtime_then_a_fixed_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Not/A_Zone")
    monkeypatch.setattr(
        "keiko_desktop.core.tasks.schedule.os.path.realpath",
        lambda path: "/usr/share/zoneinfo/Pacific/Auckland",
    )
    assert local_zone() == ZoneInfo("Pacific/Auckland")
    monkeypatch.delenv("TZ")
    monkeypatch.setattr(
        "keiko_desktop.core.tasks.schedule.os.path.realpath", lambda path: "/etc/localtime"
    )
    zone = local_zone()
    assert isinstance(zone, timezone)
    assert datetime.now(zone).utcoffset() == datetime.now().astimezone().utcoffset()


def test_zone_of_names_a_bad_zone() -> None:
    assert zone_of(ScheduleSpec("daily", time="09:00", timezone="Europe/Berlin")) == BERLIN
    for bad in ("Mars/Olympus_Mons", "Europe", "../../etc/passwd", "x" * 300):
        with pytest.raises(ScheduleError, match="unknown time zone"):
            zone_of(ScheduleSpec("daily", time="09:00", timezone=bad))


# ---------------------------------------------------------------- checking a spec


def test_check_spec_normalizes() -> None:
    at = datetime(2026, 12, 24, 9, 0, tzinfo=BERLIN)
    assert check_spec(ScheduleSpec("once", at=at, minutes=5)) == ScheduleSpec(
        "once", at=utc(2026, 12, 24, 8)
    )
    assert check_spec(ScheduleSpec("daily", time=" 9:05 ", cron="x")) == ScheduleSpec(
        "daily", time="09:05"
    )
    assert check_spec(
        ScheduleSpec("weekly", time="18:30", weekdays=(4, 0), timezone=" Europe/Berlin ")
    ) == ScheduleSpec("weekly", time="18:30", weekdays=(0, 4), timezone="Europe/Berlin")
    assert check_spec(ScheduleSpec("cron", cron="  0  9 * *   1-5 ")).cron == "0 9 * * 1-5"
    assert check_spec(ScheduleSpec("every", minutes=MAX_MINUTES)).minutes == MAX_MINUTES
    assert check_spec(ScheduleSpec("every", minutes=1, at=at)).at == utc(2026, 12, 24, 8)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ScheduleSpec("hourly"), "unknown schedule kind 'hourly'"),  # type: ignore[arg-type]
        (ScheduleSpec("once"), "a once schedule needs its time"),
        (ScheduleSpec("once", at=datetime(2026, 1, 1, 9)), "a once schedule needs its time"),
        (ScheduleSpec("every", minutes=0), "the interval is 0 minutes"),
        (ScheduleSpec("every", minutes=MAX_MINUTES + 1), "must be 1 to 525600"),
        (ScheduleSpec("every", minutes=True), "whole minutes"),
        (ScheduleSpec("every", minutes=5, at=datetime(2026, 1, 1)), "the start of an every"),
        (ScheduleSpec("daily", time="24:00"), "the time '24:00' is not HH:MM"),
        (ScheduleSpec("daily", time="09:60"), "is not HH:MM"),
        (ScheduleSpec("daily", time="0900"), "is not HH:MM"),
        (ScheduleSpec("daily", time="9:5"), "is not HH:MM"),
        (ScheduleSpec("daily"), "is not HH:MM"),
        (ScheduleSpec("weekly", time="09:00"), "needs 1 to 7 weekdays"),
        (ScheduleSpec("weekly", time="09:00", weekdays=(7,)), "0 (Monday) to 6 (Sunday)"),
        (ScheduleSpec("weekly", time="09:00", weekdays=(1, 1)), "given twice"),
        (ScheduleSpec("weekly", time="09:00", weekdays=(True,)), "0 (Monday) to 6"),
        (ScheduleSpec("weekly", time="9", weekdays=(1,)), "the time '9' is not HH:MM"),
        (ScheduleSpec("cron", cron="0 25 * * *"), "cron field 2 (hour): 25 is out of range"),
        (ScheduleSpec("daily", time="09:00", timezone="Mars/Base"), "unknown time zone"),
    ],
)
def test_check_spec_says_what_is_wrong(spec: ScheduleSpec, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        check_spec(spec)
    assert message in caught.value.message
    assert caught.value.hint


def test_check_time() -> None:
    assert [check_time(t) for t in ("0:00", "9:05", "09:05", "23:59")] == [
        "00:00",
        "09:05",
        "09:05",
        "23:59",
    ]


# ---------------------------------------------------------------- describe


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (ScheduleSpec("once", at=utc(2026, 12, 24, 9)), "once at 2026-12-24 09:00 (UTC)"),
        (
            ScheduleSpec("once", at=utc(2026, 12, 24, 8), timezone="Europe/Berlin"),
            "once at 2026-12-24 09:00 (Europe/Berlin)",
        ),
        (ScheduleSpec("once"), "once (no time set)"),
        (ScheduleSpec("every", minutes=1), "every minute"),
        (ScheduleSpec("every", minutes=15), "every 15 minutes"),
        (ScheduleSpec("every", minutes=60), "every hour"),
        (ScheduleSpec("every", minutes=90), "every 90 minutes"),
        (ScheduleSpec("every", minutes=120), "every 2 hours"),
        (ScheduleSpec("every", minutes=1440), "every day"),
        (ScheduleSpec("every", minutes=2880, timezone="Europe/Berlin"), "every 2 days"),
        (ScheduleSpec("daily", time="09:00"), "daily at 09:00"),
        (ScheduleSpec("weekly", time="09:00", weekdays=(0, 2)), "weekly on Mon, Wed at 09:00"),
        (ScheduleSpec("cron", cron="0 9 * * 1-5"), "cron 0 9 * * 1-5"),
        (
            ScheduleSpec("daily", time="09:00", timezone="Europe/Berlin"),
            "daily at 09:00 (Europe/Berlin)",
        ),
    ],
)
def test_describe(spec: ScheduleSpec, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    assert describe(spec).replace(" (UTC)", "") == text.replace(" (UTC)", "")


def test_describe_a_once_in_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert describe(ScheduleSpec("once", at=utc(2026, 12, 24, 14))) == "once at 2026-12-24 09:00"


# ---------------------------------------------------------------- parsers


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("15", 15),
        ("15m", 15),
        ("2h", 120),
        ("1h30m", 90),
        (" 1H 30M ", 90),
        ("1d", 1440),
        ("90min", 90),
        ("2 hours", 120),
        ("1 day 2 hours 3 minutes", 1563),
        ("525600", MAX_MINUTES),
        ("365d", MAX_MINUTES),
    ],
)
def test_parse_every(text: str, minutes: int) -> None:
    assert parse_every(text) == minutes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "is 0 minutes; it must be 1 to 525600"),
        ("0h", "is 0 minutes"),
        ("366d", "is 527040 minutes"),
        ("", "is empty"),
        ("soon", "cannot read 'soon'"),
        ("-5", "cannot read '-5'"),
        ("1.5h", "1 needs a unit"),
        ("1h30", "30 needs a unit"),
        ("30s", "seconds are too fine"),
        ("5 parsecs", "unknown unit 'parsecs'"),
        ("1h2h", "'h' repeats a unit"),
        ("1h" * 30, "too long"),
    ],
)
def test_parse_every_errors(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_every(text)
    assert message in caught.value.message


NOW = datetime(2026, 6, 1, 10, 0, tzinfo=BERLIN)  # 08:00 UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-24 09:00", utc(2026, 12, 24, 8)),  # winter: CET
        ("2026-12-24T09:00", utc(2026, 12, 24, 8)),
        ("2026-07-24 09:00:30", utc(2026, 7, 24, 7, 0, 30)),  # summer: CEST
        ("2026-12-24T09:00+05:00", utc(2026, 12, 24, 4)),
        ("2026-12-24T09:00Z", utc(2026, 12, 24, 9)),
        ("09:00", utc(2026, 6, 2, 7)),  # passed today: tomorrow
        ("9:00", utc(2026, 6, 2, 7)),
        ("10:00", utc(2026, 6, 2, 8)),  # now exactly: strictly after, so tomorrow
        ("11:00", utc(2026, 6, 1, 9)),
        ("+10m", utc(2026, 6, 1, 8, 10)),
        ("+2h", utc(2026, 6, 1, 10)),
        ("+1h30m", utc(2026, 6, 1, 9, 30)),
        ("+1d", utc(2026, 6, 2, 8)),
        ("tomorrow 09:00", utc(2026, 6, 2, 7)),
        ("Tomorrow  9:00", utc(2026, 6, 2, 7)),
        ("today 23:00", utc(2026, 6, 1, 21)),
    ],
)
def test_parse_at(text: str, expected: datetime) -> None:
    found = parse_at(text, NOW, BERLIN)
    assert found == expected
    assert found.tzinfo is UTC


def test_parse_at_uses_the_zones_date_and_its_rules() -> None:
    late = utc(2026, 6, 1, 23, 30)  # already 01:30 on June 2nd in Berlin
    assert parse_at("09:00", late, BERLIN) == utc(2026, 6, 2, 7)
    assert parse_at("tomorrow 09:00", late, BERLIN) == utc(2026, 6, 3, 7)
    eve = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    assert parse_at("tomorrow 02:30", eve, BERLIN) == utc(2026, 3, 29, 1, 30)  # in the gap
    assert parse_at("2026-10-25 02:30", eve, BERLIN) == utc(2026, 10, 25, 0, 30)  # the first


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("soon", "cannot read the time 'soon'"),
        ("2026-12-24", "has a date but no time of day"),
        ("2026-13-01 09:00", "cannot read the time"),
        ("25:00", "the time '25:00' is not HH:MM"),
        ("tomorrow", "is not HH:MM"),
        ("tomorrow noon", "the time 'noon' is not HH:MM"),
        ("+0m", "must be 1 minute to 10 years"),
        ("+4000d", "must be 1 minute to 10 years"),
        ("+5s", "seconds are too fine"),
        ("+", "is empty"),
        ("x" * 101, "too long"),
    ],
)
def test_parse_at_errors(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_at(text, NOW, BERLIN)
    assert message in caught.value.message


def test_parse_at_wants_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_at("09:00", datetime(2026, 1, 1), BERLIN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon,wed 09:00", ((0, 2), "09:00")),
        ("Mon-Fri 18:30", ((0, 1, 2, 3, 4), "18:30")),
        ("Monday, Wednesday 9:00", ((0, 2), "09:00")),
        ("fri-mon 7:05", ((0, 4, 5, 6), "07:05")),
        ("weekdays at 8:00", ((0, 1, 2, 3, 4), "08:00")),
        ("weekend 10:00", ((5, 6), "10:00")),
        ("mon,mon-tue,SUN 09:00", ((0, 1, 6), "09:00")),
        ("thurs 23:59", ((3,), "23:59")),
    ],
)
def test_parse_weekly(text: str, expected: tuple[tuple[int, ...], str]) -> None:
    assert parse_weekly(text) == expected
    days, hhmm = parse_weekly(text)
    assert check_spec(ScheduleSpec("weekly", weekdays=days, time=hhmm)).weekdays == days


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("09:00", "needs days and a time"),
        ("mon", "needs days and a time"),
        ("", "needs days and a time"),
        ("funday 09:00", "'funday' is not a weekday"),
        ("mo 09:00", "'mo' is not a weekday"),
        ("mon,,tue 09:00", "'' is not a weekday"),
        ("1,3 09:00", "'1' is not a weekday"),
        ("mon 25:00", "the time '25:00' is not HH:MM"),
        ("mon noon", "the time 'noon' is not HH:MM"),
    ],
)
def test_parse_weekly_errors(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_weekly(text)
    assert message in caught.value.message


# ---------------------------------------------------------------- stored form


@pytest.mark.parametrize(
    "spec",
    [
        ScheduleSpec("once", at=utc(2026, 12, 24, 8, 0, 30)),
        ScheduleSpec("every", minutes=15),
        ScheduleSpec("every", minutes=15, at=utc(2026, 1, 1, 9), timezone="Europe/Berlin"),
        ScheduleSpec("daily", time="09:00"),
        ScheduleSpec("weekly", time="18:30", weekdays=(0, 2, 6), timezone="America/New_York"),
        ScheduleSpec("cron", cron="*/15 9-17 * * mon-fri"),
        ScheduleSpec("cron", cron="@daily", timezone="Pacific/Apia"),
    ],
)
def test_a_spec_survives_json(spec: ScheduleSpec) -> None:
    stored = json.loads(json.dumps(spec_to_dict(spec)))
    assert spec_from_dict(stored) == spec
    assert spec_from_dict({**stored, "from_a_later_version": 1}) == spec


def test_a_spec_from_elsewhere_is_normalized() -> None:
    stored = {"kind": "once", "at": "2026-12-24T09:00:00+01:00", "minutes": 3}
    assert spec_from_dict(stored) == ScheduleSpec("once", at=utc(2026, 12, 24, 8))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not an object"),
        ({}, "kind '' is unknown"),
        ({"kind": "hourly"}, "kind 'hourly' is unknown"),
        ({"kind": 3}, "'kind' is damaged"),
        ({"kind": "once", "at": "yesterday"}, "time 'yesterday' is damaged"),
        ({"kind": "once", "at": 5}, "'at' is damaged"),
        ({"kind": "once", "at": "2026-01-01T09:00"}, "needs its time"),
        ({"kind": "every", "minutes": "15"}, "'minutes' is damaged"),
        ({"kind": "every", "minutes": True}, "'minutes' is damaged"),
        ({"kind": "weekly", "time": "09:00", "weekdays": "mon"}, "'weekdays' is damaged"),
        ({"kind": "weekly", "time": "09:00", "weekdays": [1, "2"]}, "0 (Monday) to 6"),
        ({"kind": "daily", "time": 900}, "'time' is damaged"),
        ({"kind": "daily", "time": "09:00", "timezone": 1}, "'timezone' is damaged"),
        ({"kind": "daily", "time": "09:00", "timezone": "Nowhere/X"}, "unknown time zone"),
        ({"kind": "cron", "cron": "0 25 * * *"}, "cron field 2 (hour)"),
        ({"kind": "cron", "cron": None}, "'cron' is damaged"),
    ],
)
def test_a_damaged_spec_is_a_schedule_error(data: object, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        spec_from_dict(data)  # type: ignore[arg-type]
    assert message in caught.value.message
