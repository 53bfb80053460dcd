"""Working days (Monday to Friday) in London, for the triage target. Bank holidays are not known here."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LONDON).date()


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end`: sent on Friday, on Monday it is 1 day old."""
    if end <= start:
        return 0
    weeks, rest = divmod((end - start).days, 7)
    count = weeks * 5
    for offset in range(1, rest + 1):
        if (start + dt.timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (weekends skipped)."""
    day = start
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day
