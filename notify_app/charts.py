"""The month's chart: spent against limit per category, as a PNG bar chart (Pillow).

One row per budgeted category: the limit as a grey bar, what was spent over it (green within the
limit, red over it), the figures beside. Bars share one scale, the largest of the amounts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

WIDTH: Final = 800
ROW_HEIGHT: Final = 44
TOP: Final = 64
BOTTOM: Final = 24
LABEL_WIDTH: Final = 190
FIGURES_WIDTH: Final = 190
BACKGROUND: Final = (255, 255, 255)
INK: Final = (33, 37, 41)
LIMIT_COLOUR: Final = (222, 226, 230)
WITHIN_COLOUR: Final = (47, 158, 68)
OVER_COLOUR: Final = (224, 49, 49)
# Telegram shows at most this many rows legibly on a phone; the rest is in the text.
MAX_BARS: Final = 20


@dataclass(frozen=True)
class Bar:
    name: str
    spent: Decimal
    limit: Decimal


def bars_of(chart: dict[str, Any]) -> list[Bar]:
    """The bars of a chart as events and deliveries carry it ({"name", "spent", "limit"})."""
    return [
        Bar(str(bar["name"]), Decimal(bar["spent"]), Decimal(bar["limit"])) for bar in chart["bars"]
    ]


def bar_chart_png(title: str, bars: Sequence[Bar]) -> bytes:
    """The PNG image of the chart."""
    shown = list(bars)[:MAX_BARS]
    height = TOP + ROW_HEIGHT * max(len(shown), 1) + BOTTOM
    # Here, not at the top: only the process that draws a chart pays for Pillow (issue 26).
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.load_default(size=24)
    font = ImageFont.load_default(size=16)
    draw.text((16, 18), f"{title}: spent of limit", fill=INK, font=title_font)
    scale = max([max(bar.spent, bar.limit) for bar in shown] + [Decimal(1)])
    plot_left = LABEL_WIDTH
    plot_width = WIDTH - LABEL_WIDTH - FIGURES_WIDTH
    for row, bar in enumerate(shown):
        top = TOP + row * ROW_HEIGHT + 8
        bottom = top + ROW_HEIGHT - 16
        draw.text((16, top + 4), _fit(bar.name, 22), fill=INK, font=font)
        draw.rectangle(
            (plot_left, top, plot_left + _length(bar.limit, scale, plot_width), bottom),
            fill=LIMIT_COLOUR,
        )
        colour = OVER_COLOUR if bar.spent > bar.limit else WITHIN_COLOUR
        spent_length = _length(bar.spent, scale, plot_width)
        if spent_length > 0:
            inset = 6
            draw.rectangle(
                (plot_left, top + inset, plot_left + spent_length, bottom - inset), fill=colour
            )
        figures = f"{bar.spent:.2f} / {bar.limit:.2f}"
        draw.text((WIDTH - FIGURES_WIDTH + 12, top + 4), figures, fill=INK, font=font)
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _length(amount: Decimal, scale: Decimal, width: int) -> int:
    return int(max(amount, Decimal(0)) / scale * width)


def _fit(text: str, characters: int) -> str:
    return text if len(text) <= characters else text[: characters - 1] + "…"
