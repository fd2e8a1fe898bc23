"""Which levels of a limit a change crossed: the warning thresholds and the limit itself.

A level is a whole percentage of the limit. Spending is *over* level p when
spent > limit * p / 100, compared exactly (as spent * 100 > limit * p, no division), so
spending exactly 80 % of the limit is not over 80 %, just as spending the limit is not over it.
A change crosses p when spending went from not over p (or from no limit at all) to over it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

LIMIT_LEVEL: Final = 100


@dataclass(frozen=True)
class Spending:
    limit: Decimal
    spent: Decimal

    def is_over(self, level: int) -> bool:
        return self.spent * 100 > self.limit * level

    @property
    def whole_percent(self) -> int:
        """spent as a percentage of the limit (> 0), rounded down: a warning never claims more
        than was spent (notify_app rounds the limit alert's percentage the same way)."""
        return int(self.spent * 100 // self.limit)


def crossed_levels(
    before: Spending | None, after: Spending, thresholds: Iterable[int]
) -> list[int]:
    """The levels among `thresholds` and 100 that the change crossed, ascending.

    `before` is None when the category had no limit before the change (it is being set now):
    that counts as being over no level.
    """
    levels = sorted({*thresholds, LIMIT_LEVEL})
    return [
        level
        for level in levels
        if after.is_over(level) and (before is None or not before.is_over(level))
    ]
