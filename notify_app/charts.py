"""The month's chart: spent against limit per category, as a PNG bar chart (Pillow).

One row per category with spending or a limit: the limit as a grey bar, what was spent over it
(green within the limit, red over it; grey-blue for a category without a limit), the figures
beside. Bars share one scale, the largest of the amounts.

Names are drawn in Roboto (the font-roboto package: Latin and Cyrillic; Pillow's own font has
Latin only). A character the font has no glyph for (an emoji) is left out, never drawn as a box.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import font_roboto  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from service_kit.i18n import DEFAULT_LANGUAGE, Translator, translator

FONT_PATH: Final[str] = font_roboto.Roboto

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
UNLIMITED_COLOUR: Final = (116, 143, 252)
# Telegram shows at most this many rows legibly on a phone; the rest is in the text.
MAX_BARS: Final = 20


@dataclass(frozen=True)
class Bar:
    name: str
    spent: Decimal
    limit: Decimal | None  # None: the category has no limit this month


def bars_of(chart: dict[str, Any]) -> list[Bar]:
    """The bars of a chart as events and deliveries carry it ({"name", "spent", "limit"}; the
    limit null for a category spent in without one)."""
    return [
        Bar(
            str(bar["name"]),
            Decimal(bar["spent"]),
            None if bar.get("limit") is None else Decimal(bar["limit"]),
        )
        for bar in chart["bars"]
    ]


def chart_png(chart: dict[str, Any]) -> bytes:
    """The PNG of a chart as events and deliveries carry it, in its "language" and "currency"
    (English, plain amounts, when it names none: replies recorded before languages)."""
    language, currency = chart.get("language"), chart.get("currency")
    t = translator(
        language if isinstance(language, str) else DEFAULT_LANGUAGE,
        currency if isinstance(currency, str) else None,
    )
    return bar_chart_png(str(chart["title"]), bars_of(chart), t)


@functools.cache
def drawable_characters() -> frozenset[int]:
    """The code points the font has a glyph for (its cmap)."""
    with TTFont(FONT_PATH, lazy=True) as font:
        return frozenset(font.getBestCmap())


def drawable(text: str) -> str:
    """`text` without the characters the font would draw as a box (emoji, mostly)."""
    known = drawable_characters()
    kept = "".join(character for character in text if ord(character) in known or character == " ")
    return " ".join(kept.split())


def bar_chart_png(title: str, bars: Sequence[Bar], t: Translator | None = None) -> bytes:
    """The PNG image of the chart."""
    t = t or translator(DEFAULT_LANGUAGE)
    shown = list(bars)[:MAX_BARS]
    height = TOP + ROW_HEIGHT * max(len(shown), 1) + BOTTOM
    # Here, not at the top: only the process that draws a chart pays for Pillow (issue 26).
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.truetype(FONT_PATH, size=24)
    font = ImageFont.truetype(FONT_PATH, size=16)
    heading = t.gettext("%(title)s: spent of limit") % {"title": title}
    draw.text((16, 18), drawable(heading), fill=INK, font=title_font)
    scale = max([max(bar.spent, bar.limit or Decimal(0)) for bar in shown] + [Decimal(1)])
    plot_left = LABEL_WIDTH
    plot_width = WIDTH - LABEL_WIDTH - FIGURES_WIDTH
    for row, bar in enumerate(shown):
        top = TOP + row * ROW_HEIGHT + 8
        bottom = top + ROW_HEIGHT - 16
        draw.text((16, top + 4), _fit(drawable(bar.name), 22), fill=INK, font=font)
        if bar.limit is None:
            colour = UNLIMITED_COLOUR
        else:
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
        figures = (
            t.amount(bar.spent)
            if bar.limit is None
            else f"{t.amount(bar.spent)} / {t.amount(bar.limit)}"
        )
        draw.text((WIDTH - FIGURES_WIDTH + 12, top + 4), figures, fill=INK, font=font)
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def _length(amount: Decimal, scale: Decimal, width: int) -> int:
    return int(max(amount, Decimal(0)) / scale * width)


def _fit(text: str, characters: int) -> str:
    return text if len(text) <= characters else text[: characters - 1] + "…"
