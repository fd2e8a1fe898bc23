"""Typed partial updates: a field a client left out of a PATCH is UNSET, not None (which may be
a value, such as a cleared description)."""

from __future__ import annotations

import enum
from typing import Any, Final, TypeVar

T = TypeVar("T")


class Unset(enum.Enum):
    UNSET = "unset"


UNSET: Final = Unset.UNSET


def pick(value: T | Unset, current: T) -> T:
    """The new value if one was given, else the current one."""
    return current if isinstance(value, Unset) else value


def given(changes: object) -> dict[str, Any]:
    """The fields of a changes dataclass that the client gave (name -> value)."""
    return {name: value for name, value in vars(changes).items() if not isinstance(value, Unset)}
