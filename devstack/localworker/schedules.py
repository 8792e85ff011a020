"""Timer schedules as the Functions host reads them: NCRONTAB expressions and TimeSpan intervals.

NCRONTAB puts seconds FIRST (`{second} {minute} {hour} {day} {month} {day-of-week}`); a five-field
expression has no seconds field. Day and month names may be spelled out (`Monday`, `January`). Times are
UTC unless `WEBSITE_TIME_ZONE` names an IANA zone (as on Linux plans). A TimeSpan (`hh:mm:ss`) is the
interval between invocations; an invocation that overruns it is followed by the next one at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from devstack.localworker.errors import WorkerConfigError
from devstack.localworker.timespan import parse_timespan

_NAMES = re.compile(r"[A-Za-z]+")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class Schedule(Protocol):
    """When a timer function is due."""

    def first_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (worker start)."""
        ...

    def following(self, due: datetime, finished: datetime) -> datetime:
        """The occurrence after the one that was `due`, once its invocation `finished`."""
        ...


@dataclass(frozen=True)
class CronSchedule:
    """An NCRONTAB expression, evaluated in `zone`."""

    expression: str
    croniter_expression: str
    seconds_first: bool
    zone: tzinfo

    def first_after(self, moment: datetime) -> datetime:
        start = moment.astimezone(self.zone)
        nxt = croniter(self.croniter_expression, start, second_at_beginning=self.seconds_first).get_next(
            datetime
        )
        return nxt.astimezone(UTC)

    def following(self, due: datetime, finished: datetime) -> datetime:
        # Occurrences missed while the invocation ran are skipped, as the host does.
        return self.first_after(max(due, finished))


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule: a fixed interval between invocations."""

    interval: timedelta

    def first_after(self, moment: datetime) -> datetime:
        return moment + self.interval

    def following(self, due: datetime, finished: datetime) -> datetime:
        return due + self.interval


def time_zone(env: Mapping[str, str]) -> tzinfo:
    """UTC, or the IANA zone named by WEBSITE_TIME_ZONE."""
    name = env.get("WEBSITE_TIME_ZONE", "").strip()
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkerConfigError(
            f"WEBSITE_TIME_ZONE={name!r} is not an IANA time zone; "
            "use a name like 'Europe/Berlin', or unset it for UTC"
        ) from None


def parse_schedule(text: str, *, field: str, zone: tzinfo = UTC) -> Schedule:
    """A schedule from an NCRONTAB expression or a TimeSpan; `field` names it in errors."""
    raw = text.strip()
    fields = raw.split()
    if len(fields) in (5, 6):
        return _cron(raw, fields, field=field, zone=zone)
    if len(fields) == 1 and ":" in raw:
        interval = parse_timespan(raw, field=field)
        if interval <= timedelta(0):
            raise WorkerConfigError(f"{field}={text!r} must be a positive interval such as 00:05:00")
        return IntervalSchedule(interval)
    raise WorkerConfigError(
        f"{field}={text!r} is neither an NCRONTAB expression with six fields "
        "('{second} {minute} {hour} {day} {month} {day-of-week}', e.g. '0 */5 * * * *') "
        "nor a TimeSpan (hh:mm:ss)"
    )


def _cron(raw: str, fields: list[str], *, field: str, zone: tzinfo) -> CronSchedule:
    seconds_first = len(fields) == 6
    month_index, day_index = (4, 5) if seconds_first else (3, 4)
    fields = list(fields)
    try:
        fields[month_index] = _abbreviate(fields[month_index], _MONTHS)
        fields[day_index] = _abbreviate(fields[day_index], _DAYS)
    except ValueError as error:
        raise WorkerConfigError(f"{field}={raw!r}: {error}") from None
    expression = " ".join(fields)
    if not croniter.is_valid(expression, second_at_beginning=seconds_first):
        raise WorkerConfigError(
            f"{field}={raw!r} is not a valid NCRONTAB expression; write six fields "
            "'{second} {minute} {hour} {day} {month} {day-of-week}', e.g. '0 */5 * * * *'"
        )
    return CronSchedule(raw, expression, seconds_first, zone)


def _abbreviate(cron_field: str, names: tuple[str, ...]) -> str:
    """`Monday` -> `mon`, `January` -> `jan` (NCRONTAB accepts full English names, croniter does not)."""

    def replace(match: re.Match[str]) -> str:
        word = match.group(0).lower()
        for name in names:
            if word.startswith(name):
                return name
        raise ValueError(f"{match.group(0)!r} is not an English month or day name")

    return _NAMES.sub(replace, cron_field)
