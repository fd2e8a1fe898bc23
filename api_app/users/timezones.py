"""Users' time zones (IANA names such as Europe/Berlin) and what "today" is in one."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from functools import cache
from typing import Final

# Entries of the zone database that name no place: the host's own setting and a placeholder.
_NOT_ZONES: Final = frozenset({"localtime", "Factory"})


@cache
def known_zones() -> frozenset[str]:
    """Every IANA zone name this process can resolve (the tzdata package guarantees them all)."""
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


def is_known_zone(name: str) -> bool:
    return name in known_zones()


def today_in(zone: str, now: datetime | None = None) -> date:
    """The calendar date in `zone` at `now` (by default: now)."""
    moment = now if now is not None else datetime.now(UTC)
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).date()
