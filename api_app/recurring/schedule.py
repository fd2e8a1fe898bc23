"""When a rule falls: every 7 days, every month or every year from its start date.

A monthly rule keeps the start date's day of the month and falls on the month's last day where
the month is shorter (started on the 31st: 28/29 February, 30 April, 31 May); a yearly rule
started on 29 February falls on 28 February in other years. Each occurrence is counted from the
start date, never from the previous occurrence, so one short month does not move the later ones.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta

from api_app.models import Frequency


def nth_occurrence(start: date, frequency: Frequency, n: int) -> date:
    """The occurrence `n` periods after `start` (n = 0: start itself)."""
    if frequency is Frequency.WEEKLY:
        return start + timedelta(weeks=n)
    if frequency is Frequency.MONTHLY:
        year, month_index = divmod(start.month - 1 + n, 12)
        year += start.year
        month = month_index + 1
    else:
        year, month = start.year + n, start.month
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _first_index_on_or_after(start: date, frequency: Frequency, day: date) -> int:
    if day <= start:
        return 0
    if frequency is Frequency.WEEKLY:
        n = (day - start).days // 7
    elif frequency is Frequency.MONTHLY:
        n = (day.year - start.year) * 12 + day.month - start.month
    else:
        n = day.year - start.year
    n = max(n - 1, 0)
    while nth_occurrence(start, frequency, n) < day:
        n += 1
    return n


def occurrences(
    start: date, frequency: Frequency, *, since: date | None = None, through: date
) -> Iterator[date]:
    """The occurrences from `since` (default: the start) through `through`, both included."""
    n = _first_index_on_or_after(start, frequency, since or start)
    while True:
        try:
            day = nth_occurrence(start, frequency, n)
        except (ValueError, OverflowError):  # past year 9999
            return
        if day > through:
            return
        yield day
        n += 1


def next_occurrence(
    start: date, frequency: Frequency, end: date | None, *, after: date
) -> date | None:
    """The first occurrence after `after`, or None when there is none up to `end`."""
    try:
        day = nth_occurrence(
            start, frequency, _first_index_on_or_after(start, frequency, after + timedelta(1))
        )
    except (ValueError, OverflowError):
        return None
    return None if end is not None and day > end else day
