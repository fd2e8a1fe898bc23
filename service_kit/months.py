"""Month names for the texts users read, in both services."""

from __future__ import annotations

from typing import Final

# Fixed English names: calendar.month_name would follow the process's locale.
MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
