"""The languages people read the bot, its alerts and its charts in: English and Russian.

Texts are marked the gettext way (`t.gettext("...")`, `t.ngettext(singular, plural, n)`) and
translated by the catalogs in service_kit/locale (`make catalogs` extracts and updates them;
tests/test_i18n.py fails when one is stale or incomplete). English is the source language: its
texts are the marked strings themselves. The .po files are compiled when first used, in memory,
so a fresh clone, `make run` and the image need no build step and no .mo file can go stale.

Numbers, days and months follow the language through Babel's CLDR data ("250,50 ₽", "6 дек.").
"""

from __future__ import annotations

import functools
import gettext
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Final

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, list_currencies
from babel.support import Translations

LANGUAGES: Final = ("en", "ru")
DEFAULT_LANGUAGE: Final = "en"
LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "messages"
CENT: Final = Decimal("0.01")
# The currency an account without one of its own is shown in: the language's own; English
# keeps plain amounts ("520.00"), as its texts always had.
LOCALE_CURRENCY: Final[dict[str, str | None]] = {"en": None, "ru": "RUB"}


def known_currency(code: object) -> bool:
    """An ISO 4217 code that CLDR knows ("EUR", "RUB"), upper case as ISO writes it."""
    return isinstance(code, str) and code.isupper() and code in list_currencies()


def supported_language(code: object) -> str | None:
    """The supported language a code names ("ru", "ru-RU", "RU_ru" -> "ru"), else None."""
    if not isinstance(code, str):
        return None
    language = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return language if language in LANGUAGES else None


def choose_language(*candidates: object) -> str:
    """The first supported of the candidates (a person's choice, then what their client says),
    else English."""
    for candidate in candidates:
        language = supported_language(candidate)
        if language is not None:
            return language
    return DEFAULT_LANGUAGE


@functools.cache
def _translations(language: str) -> gettext.NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    # Fuzzy entries are left out: a guess is never shown, the English text is.
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Translator:
    """One language's texts, amounts and dates, and the account's currency (None: the
    language's own)."""

    language: str
    currency: str | None = None

    def gettext(self, message: str) -> str:
        return _translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """By the language's plural rules: Russian has three forms (1 категория, 2 категории,
        5 категорий)."""
        return _translations(self.language).ngettext(singular, plural, count)

    def amount(self, value: Decimal) -> str:
        """Two decimals, exact (Decimal all the way), written as the language writes money."""
        value = value.quantize(CENT)
        currency = self.currency or LOCALE_CURRENCY[self.language]
        if currency is None:
            return format_decimal(value, format="0.00", locale=self.language)
        # Two decimals whatever the currency's custom (yen has none): the exact amount.
        return format_currency(value, currency, locale=self.language, currency_digits=False)

    def month(self, year: int, month: int) -> str:
        """ "November 2026", "ноябрь 2026"."""
        return format_date(date(year, month, 1), "LLLL y", locale=self.language)

    def in_month(self, month: int) -> str:
        """ "in November", "в ноябре"."""
        return self.gettext(MONTHS_IN[month - 1])

    def day(self, day: date) -> str:
        """ "6 Dec", "6 дек."."""
        return format_date(day, "d MMM", locale=self.language)


def _(message: str) -> str:
    """Marks a text for the catalogs; translated where it is used."""
    return message


# "in November": Russian puts the month in the prepositional case ("в ноябре"), which CLDR
# does not carry, so the catalog does.
MONTHS_IN: Final = (
    _("in January"),
    _("in February"),
    _("in March"),
    _("in April"),
    _("in May"),
    _("in June"),
    _("in July"),
    _("in August"),
    _("in September"),
    _("in October"),
    _("in November"),
    _("in December"),
)


def translator(language: str | None, currency: str | None = None) -> Translator:
    return Translator(choose_language(language), currency if known_currency(currency) else None)


def heading(text: str) -> str:
    """`text` with a capital first letter: "ноябрь 2026" starts a line as "Ноябрь 2026"."""
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """`text` ending with a full stop, once: "6 Dec" + "." but not "6 дек." + "."."""
    return text if text.endswith(".") else text + "."
