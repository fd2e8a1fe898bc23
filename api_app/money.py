"""Money arithmetic: the bounds an amount must respect and percentages, all in Decimal."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

CENT: Final = Decimal("0.01")
# The largest value a numeric(12,2) column holds.
MAX_AMOUNT: Final = Decimal("9999999999.99")


def percent_of(part: Decimal, whole: Decimal) -> Decimal:
    """part as a percentage of whole (> 0), rounded half up to two decimals."""
    return (part * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP)
