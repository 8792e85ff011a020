"""Parse .NET `TimeSpan` strings as host.json and TimeSpan timer schedules write them.

Accepted forms, as `TimeSpan.Parse` reads them: `d`, `hh:mm`, `hh:mm:ss`, `hh:mm:ss.fffffff`,
`d.hh:mm[:ss[.f]]`. .NET's quirk is kept: three colon-separated parts whose first part is 24 or more
read as `dd:hh:mm`, so `"24:00:00"` is 24 days (the Functions docs rely on it for TimeSpan schedules).
"""

from __future__ import annotations

import re
from datetime import timedelta

from devstack.localworker.errors import WorkerConfigError

_DAYS_PREFIX = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<rest>.+)$")
_FRACTION = re.compile(r"^(?P<seconds>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?$")


def parse_timespan(text: str, *, field: str) -> timedelta:
    """A `timedelta` from a .NET TimeSpan string; `field` names the setting in the error message."""
    raw = str(text).strip()
    negative = raw.startswith("-")
    body = raw[1:] if negative else raw
    value = _parse_positive(body)
    if value is None:
        raise WorkerConfigError(
            f"{field}={text!r} is not a TimeSpan; "
            "write hh:mm:ss (e.g. 00:00:30) or d.hh:mm:ss (e.g. 1.00:00:00)"
        )
    return -value if negative else value


def _parse_positive(body: str) -> timedelta | None:
    if body.isdigit():
        return timedelta(days=int(body))
    match = _DAYS_PREFIX.match(body)
    if match is None:
        return None
    days = int(match["days"] or 0)
    parts = match["rest"].split(":")
    if len(parts) not in (2, 3) or not all(parts):
        return None
    if not all(part.isdigit() for part in parts[:2]):
        return None
    seconds_part = parts[2] if len(parts) == 3 else "0"
    fraction_match = _FRACTION.match(seconds_part)
    if fraction_match is None:
        return None
    first, second = int(parts[0]), int(parts[1])
    seconds = int(fraction_match["seconds"])
    fraction = fraction_match["fraction"] or ""
    if len(parts) == 3 and match["days"] is None and first >= 24 and not fraction:
        # .NET reads "dd:hh:mm" when the hours overflow: "24:00:00" is 24 days.
        if second > 23 or seconds > 59:
            return None
        return timedelta(days=first, hours=second, minutes=seconds)
    if first > 23 or second > 59 or seconds > 59:
        return None
    microseconds = int((fraction + "0000000")[:7]) // 10
    return timedelta(days=days, hours=first, minutes=second, seconds=seconds, microseconds=microseconds)
