"""The /summary chart draws every category the month has spending in: with a limit, the grey
limit bar and the spending over it; without one (a null limit), the spending alone."""

from __future__ import annotations

import io
from decimal import Decimal

from PIL import Image

from notify_app import charts


def colours_of(png: bytes) -> set[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {colour for _, colour in image.getcolors(maxcolors=1 << 16) or []}


def test_a_category_without_a_limit_is_drawn_as_its_spending_alone() -> None:
    png = charts.chart_png(
        {
            "title": "November 2026",
            "bars": [{"name": "Food", "spent": "12.00", "limit": None}],
        }
    )
    drawn = colours_of(png)
    assert charts.UNLIMITED_COLOUR in drawn
    assert charts.LIMIT_COLOUR not in drawn


def test_limited_and_unlimited_categories_share_one_chart() -> None:
    bars = charts.bars_of(
        {
            "title": "November 2026",
            "bars": [
                {"name": "Food", "spent": "520.00", "limit": "500.00"},
                {"name": "Fun", "spent": "30.00", "limit": None},
            ],
        }
    )
    assert [bar.limit for bar in bars] == [Decimal("500.00"), None]
    drawn = colours_of(charts.bar_chart_png("November 2026", bars))
    assert {charts.LIMIT_COLOUR, charts.OVER_COLOUR, charts.UNLIMITED_COLOUR} <= drawn
