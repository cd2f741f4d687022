"""Cron expressions: the field grammar, the Vixie day rule, macros, errors that name their field,
and a next-match search that agrees with a minute-by-minute scan and gives up quickly."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

import pytest

from keiko_desktop.core.tasks.cron import MACROS, CronExpr
from keiko_desktop.core.tasks.errors import ScheduleError


def test_stars_steps_ranges_and_lists() -> None:
    expr = CronExpr.parse("*/15 1-10/2 1,15,31 * *")
    assert expr.minutes == (0, 15, 30, 45)
    assert expr.hours == (1, 3, 5, 7, 9)
    assert expr.days == (1, 15, 31)
    assert expr.months == tuple(range(1, 13))
    assert expr.weekdays == tuple(range(7))
    assert CronExpr.parse("5/15 * * * *").minutes == (5, 20, 35, 50)
    assert CronExpr.parse("0-5,3,58-59 * * * *").minutes == (0, 1, 2, 3, 4, 5, 58, 59)
    assert CronExpr.parse("  0   9 * *  *  ").text == "0 9 * * *"


def test_names_any_case_and_both_sundays() -> None:
    expr = CronExpr.parse("0 9 * JAN,mar,Dec-dec Mon-FRI")
    assert expr.months == (1, 3, 12)
    assert expr.weekdays == (1, 2, 3, 4, 5)
    assert CronExpr.parse("0 0 * * 7").weekdays == (0,)
    assert CronExpr.parse("0 0 * * 0,7").weekdays == (0,)
    assert CronExpr.parse("0 0 * * fri-sun").weekdays == (0, 5, 6)
    assert CronExpr.parse("0 0 * * 5-7").weekdays == (0, 5, 6)
    assert CronExpr.parse("0 0 * * sun").weekdays == (0,)
    assert CronExpr.parse("0 0 * * sun-sun").weekdays == (0,)
    assert CronExpr.parse("0 0 * * sun-tue").weekdays == (0, 1, 2)


def test_matches() -> None:
    expr = CronExpr.parse("30 9 * * mon-fri")
    assert expr.matches(datetime(2026, 6, 1, 9, 30))  # a Monday
    assert expr.matches(datetime(2026, 6, 1, 9, 30, 59))
    assert not expr.matches(datetime(2026, 6, 1, 9, 31))
    assert not expr.matches(datetime(2026, 6, 6, 9, 30))  # a Saturday
    assert CronExpr.parse("0 0 * * 7").matches(datetime(2026, 6, 7))  # a Sunday


def test_vixie_rule_either_day_field_when_both_are_restricted() -> None:
    friday_13th = CronExpr.parse("0 0 13 * fri")
    assert friday_13th.matches(datetime(2026, 2, 13))  # a Friday, the 13th
    assert friday_13th.matches(datetime(2026, 5, 13))  # a Wednesday, the 13th
    assert friday_13th.matches(datetime(2026, 5, 15))  # a Friday, the 15th
    assert not friday_13th.matches(datetime(2026, 5, 14))  # a Thursday, the 14th
    # A field starting with * is not restricted: then both must match (as Vixie cron does).
    odd_fridays = CronExpr.parse("0 0 */2 * fri")
    assert odd_fridays.matches(datetime(2026, 5, 15))
    assert not odd_fridays.matches(datetime(2026, 5, 13))
    assert not odd_fridays.matches(datetime(2026, 5, 8))
    only_13th = CronExpr.parse("0 0 13 * *")
    assert only_13th.matches(datetime(2026, 5, 13))
    assert not only_13th.matches(datetime(2026, 5, 15))
    only_fridays = CronExpr.parse("0 0 * * fri")
    assert only_fridays.matches(datetime(2026, 5, 15))
    assert not only_fridays.matches(datetime(2026, 5, 13))


@pytest.mark.parametrize("macro", sorted(MACROS))
def test_macros_mean_their_fields(macro: str) -> None:
    expr = CronExpr.parse(macro.upper())
    spelled = CronExpr.parse(MACROS[macro])
    assert expr.text == macro
    for field in ("minutes", "hours", "days", "months", "weekdays"):
        assert getattr(expr, field) == getattr(spelled, field)
    assert (expr.days_restricted, expr.weekdays_restricted) == (
        spelled.days_restricted,
        spelled.weekdays_restricted,
    )


def test_the_macros_fire_when_they_should() -> None:
    start = datetime(2026, 5, 13, 10, 20)  # a Wednesday
    assert CronExpr.parse("@hourly").next_local_after(start) == datetime(2026, 5, 13, 11, 0)
    assert CronExpr.parse("@daily").next_local_after(start) == datetime(2026, 5, 14)
    assert CronExpr.parse("@midnight").next_local_after(start) == datetime(2026, 5, 14)
    assert CronExpr.parse("@weekly").next_local_after(start) == datetime(2026, 5, 17)
    assert CronExpr.parse("@monthly").next_local_after(start) == datetime(2026, 6, 1)
    assert CronExpr.parse("@yearly").next_local_after(start) == datetime(2027, 1, 1)
    assert CronExpr.parse("@annually").next_local_after(start) == datetime(2027, 1, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 25 * * *", "cron field 2 (hour): 25 is out of range 0-23"),
        ("60 * * * *", "cron field 1 (minute): 60 is out of range 0-59"),
        ("0 0 0 * *", "cron field 3 (day of month): 0 is out of range 1-31"),
        ("0 0 32 * *", "cron field 3 (day of month): 32 is out of range 1-31"),
        ("0 0 * 13 *", "cron field 4 (month): 13 is out of range 1-12"),
        ("0 0 * * 8", "cron field 5 (day of week): 8 is out of range 0-7"),
        ("0 0 * foo *", "cron field 4 (month): 'foo' is not a number 1-12 or a name jan-dec"),
        ("0 0 * * funday", "cron field 5 (day of week): 'funday' is not a number 0-7"),
        ("0 mon * * *", "cron field 2 (hour): 'mon' is not a number 0-23"),
        ("x * * * *", "cron field 1 (minute): 'x' is not a number 0-59"),
        ("-5 * * * *", "cron field 1 (minute): '' is not a number"),
        ("\u0663 * * * *", "cron field 1 (minute)"),  # an Arabic-Indic three is not a digit here
        ("*/0 * * * *", "cron field 1 (minute): step '0' is not a number 1-59"),
        ("*/x * * * *", "cron field 1 (minute): step 'x'"),
        ("0 */24 * * *", "cron field 2 (hour): step '24' is not a number 1-23"),
        ("0 0 20-10 * *", "cron field 3 (day of month): range 20-10 runs backwards"),
        ("1,,2 * * * *", "cron field 1 (minute): a list has an empty item"),
        ("0 0 * * *,", "cron field 5 (day of week): a list has an empty item"),
        ("* * * *", "needs 5 fields"),
        ("* * * * * *", "got 6"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("@reboot", "unknown cron macro '@reboot'"),
        ("@daily 5", "needs 5 fields"),
        ("* " * 101, "at most 200 characters"),
    ],
)
def test_errors_name_the_field_and_why(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        CronExpr.parse(text)
    assert message in caught.value.message
    assert caught.value.hint


def test_not_text_is_an_error() -> None:
    with pytest.raises(ScheduleError, match="must be text"):
        CronExpr.parse(5)  # type: ignore[arg-type]


def test_next_is_strictly_after_and_drops_seconds() -> None:
    expr = CronExpr.parse("*/15 * * * *")
    assert expr.next_local_after(datetime(2026, 1, 1, 9, 0)) == datetime(2026, 1, 1, 9, 15)
    assert expr.next_local_after(datetime(2026, 1, 1, 9, 0, 30)) == datetime(2026, 1, 1, 9, 15)
    assert expr.next_local_after(datetime(2026, 1, 1, 8, 59, 59)) == datetime(2026, 1, 1, 9, 0)
    assert expr.next_local_after(datetime(2026, 12, 31, 23, 50)) == datetime(2027, 1, 1)


def test_next_skips_months_and_finds_leap_days() -> None:
    assert CronExpr.parse("0 0 29 2 *").next_local_after(datetime(2026, 3, 1)) == datetime(
        2028, 2, 29
    )
    # 2100 is not a leap year: the next Feb 29 after 2096 is in 2104, still found.
    assert CronExpr.parse("0 0 29 2 *").next_local_after(datetime(2096, 3, 1)) == datetime(
        2104, 2, 29
    )
    assert CronExpr.parse("0 12 31 * *").next_local_after(datetime(2026, 4, 1)) == datetime(
        2026, 5, 31, 12
    )


@pytest.mark.parametrize("text", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "* * 31 feb *"])
def test_an_impossible_expression_gives_up_quickly(text: str) -> None:
    expr = CronExpr.parse(text)
    started = time.perf_counter()
    assert expr.next_local_after(datetime(2026, 1, 1)) is None
    assert time.perf_counter() - started < 0.5


def test_a_yearly_search_is_not_minute_by_minute() -> None:
    expr = CronExpr.parse("59 23 31 12 *")
    started = time.perf_counter()
    for year in range(2026, 2126):
        found = expr.next_local_after(datetime(year, 1, 1))
        assert found == datetime(year, 12, 31, 23, 59)
    assert time.perf_counter() - started < 1.0  # 100 searches of a year each


def test_the_end_of_time_is_none_not_a_crash() -> None:
    expr = CronExpr.parse("* * * * *")
    assert expr.next_local_after(datetime(9999, 12, 31, 23, 59)) is None
    assert expr.next_local_after(datetime(9999, 12, 31, 23, 58)) == datetime(9999, 12, 31, 23, 59)
    assert CronExpr.parse("0 0 1 1 *").next_local_after(datetime(9999, 6, 1)) is None


def test_an_aware_time_is_refused() -> None:
    from datetime import UTC

    with pytest.raises(ValueError, match="naive"):
        CronExpr.parse("* * * * *").next_local_after(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "text",
    [
        "*/7 */5 * * *",
        "0,30 9-17 * * mon-fri",
        "15 3 1,15 * *",
        "0 0 13 * fri",
        "0 0 */3 * sun",
        "*/20 22-23,0-1 28-31 * *",
        "5 4 * */2 tue",
    ],
)
def test_next_agrees_with_a_minute_by_minute_scan(text: str) -> None:
    expr = CronExpr.parse(text)
    rng = random.Random(text)
    for _ in range(20):
        start = datetime(2026, 1, 1) + timedelta(minutes=rng.randrange(60 * 24 * 365 * 2))
        start += timedelta(seconds=rng.randrange(60))
        expected = start.replace(second=0) + timedelta(minutes=1)
        while not expr.matches(expected):
            expected += timedelta(minutes=1)
        assert expr.next_local_after(start) == expected, start
