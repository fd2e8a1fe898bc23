"""Typed partial updates: a field a client left out of a PATCH is UNSET, not None (which may be
a value, such as an unlinked chat)."""

from __future__ import annotations

import enum
from typing import Any, Final


class Unset(enum.Enum):
    UNSET = "unset"


UNSET: Final = Unset.UNSET


def given(changes: object) -> dict[str, Any]:
    """The fields of a changes dataclass that the client gave (name -> value)."""
    return {name: value for name, value in vars(changes).items() if not isinstance(value, Unset)}
