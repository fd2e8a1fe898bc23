"""Calendar months as date ranges."""

from __future__ import annotations

from datetime import date


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """The first day of the month and the first day of the next one (exclusive): the half-open
    range that an index on a date column scans directly."""
    first = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, following
