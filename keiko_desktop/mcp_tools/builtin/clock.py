"""The ``clock`` built-in server: the time now, date arithmetic and time zones (zoneinfo)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def _zone(name: str | None) -> tzinfo:
    if not name:
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"Unknown time zone {name!r}; use an IANA name such as Europe/Paris or UTC."
        ) from None


def _parse(value: str, zone: tzinfo) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ToolError(
            f"Cannot read {value!r} as a date; use ISO 8601, e.g. 2025-03-01 or 2025-03-01T14:30."
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _describe(moment: datetime) -> dict[str, Any]:
    return {
        "datetime": moment.isoformat(timespec="seconds"),
        "date": moment.date().isoformat(),
        "weekday": moment.strftime("%A"),
        "timezone": str(moment.tzinfo),
        "utc_offset": moment.strftime("%z"),
    }


def _add_months(day: date, months: int) -> tuple[int, int, int]:
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return year, month + 1, min(day.day, last)


def create_clock_server() -> MCPServer:
    server: MCPServer = MCPServer(
        "clock", instructions="Current time, time zones and date arithmetic.", log_level="WARNING"
    )

    @server.tool(annotations=READ_ONLY)
    def now(timezone: str = "") -> dict[str, Any]:
        """The current date and time, in a time zone (IANA name) or the computer's own zone."""
        return _describe(datetime.now(_zone(timezone)))

    @server.tool(annotations=READ_ONLY)
    def convert_time(time: str, from_timezone: str, to_timezone: str) -> dict[str, Any]:
        """Convert an ISO date-time (or HH:MM today) from one time zone to another."""
        source = _zone(from_timezone)
        if len(time) <= 5 and ":" in time:
            time = f"{datetime.now(source).date().isoformat()}T{time}"
        moment = _parse(time, source).astimezone(_zone(to_timezone))
        return _describe(moment)

    @server.tool(annotations=READ_ONLY)
    def add_to_date(
        date: str,
        years: int = 0,
        months: int = 0,
        weeks: int = 0,
        days: int = 0,
        hours: int = 0,
        minutes: int = 0,
        timezone: str = "",
    ) -> dict[str, Any]:
        """Add (or, with negative numbers, subtract) an amount of time to an ISO date."""
        moment = _parse(date, _zone(timezone))
        year, month, day = _add_months(moment.date(), years * 12 + months)
        moment = moment.replace(year=year, month=month, day=day)
        moment += timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
        return _describe(moment)

    @server.tool(annotations=READ_ONLY)
    def date_difference(start: str, end: str, timezone: str = "") -> dict[str, Any]:
        """How long from start to end (ISO dates or date-times)."""
        zone = _zone(timezone)
        delta = _parse(end, zone) - _parse(start, zone)
        seconds = int(delta.total_seconds())
        return {
            "days": delta.days,
            "total_seconds": seconds,
            "total_hours": round(seconds / 3600, 2),
            "weeks_and_days": f"{abs(delta.days) // 7} weeks, {abs(delta.days) % 7} days",
        }

    return server
