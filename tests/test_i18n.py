"""English and Russian: the catalogs are complete and current, the texts, amounts and dates
follow the language, and the chart draws every name it can (Latin, Cyrillic) and no box."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from PIL import Image, ImageDraw, ImageFont

from notify_app import charts, messages
from notify_app.linking.service import moved_reply
from service_kit.i18n import (
    LOCALE_DIR,
    choose_language,
    known_currency,
    sentence,
    supported_language,
    translator,
)

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _ids(catalog: Catalog) -> set[object]:
    return {message.id for message in catalog if message.id}


def _extracted() -> Catalog:
    """What `make catalogs` would extract now (babel.cfg's method, the same directories)."""
    catalog = Catalog()
    for directory in ("api_app", "notify_app", "service_kit"):
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT / directory, method_map=[("**.py", "python")]
        ):
            catalog.add(message, context=context)
    return catalog


def test_the_committed_template_holds_exactly_the_marked_texts() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as source:
        committed = read_po(source)
    extracted = _ids(_extracted())
    assert extracted - _ids(committed) == set(), "new texts: run `make catalogs`"
    assert _ids(committed) - extracted == set(), "texts gone: run `make catalogs`"


def test_russian_translates_every_text_with_the_same_placeholders() -> None:
    with (LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        russian = read_po(source, locale="ru")
    assert russian.num_plurals == 3
    assert _ids(russian) == _ids(_extracted()), "stale catalog: run `make catalogs`"
    for message in russian:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(strings) == (3 if isinstance(message.id, tuple) else 1), message.id
        for string in strings:
            assert string, f"untranslated: {message.id!r}"
            assert set(PLACEHOLDER.findall(string)) <= set(PLACEHOLDER.findall(sources[-1]))


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (1, "1 категория"),
        (2, "2 категории"),
        (5, "5 категорий"),
        (11, "11 категорий"),
        (21, "21 категория"),
        (104, "104 категории"),
    ],
)
def test_russian_plurals_follow_its_three_forms(count: int, text: str) -> None:
    t = translator("ru")
    assert (
        t.ngettext("%(count)d category", "%(count)d categories", count) % {"count": count} == text
    )


def test_which_language() -> None:
    assert supported_language("ru-RU") == "ru"
    assert supported_language("de") is None
    assert choose_language(None, "ru") == "ru"
    assert choose_language("en", "ru") == "en"
    assert choose_language(None, "de", None) == "en"


def test_amounts_and_dates_by_language() -> None:
    ru, en = translator("ru"), translator("en")
    assert ru.amount(Decimal("250.5")) == "250,50\xa0₽"
    assert en.amount(Decimal("250.5")) == "250.50"
    assert sentence(ru.day(date(2026, 12, 6))) == "6 дек."
    assert sentence(en.day(date(2026, 12, 6))) == "6 Dec."
    assert ru.month(2026, 11) == "ноябрь 2026"
    assert ru.in_month(11) == "в ноябре"


def test_the_accounts_currency_overrules_the_languages_own() -> None:
    assert translator("ru", "EUR").amount(Decimal("250.5")) == "250,50\xa0€"
    assert translator("en", "USD").amount(Decimal("1250.5")) == "$1,250.50"
    # Two decimals whatever the currency's custom: the amount as it was recorded.
    assert translator("en", "JPY").amount(Decimal("100.5")) == "¥100.50"
    assert translator("ru", None).amount(Decimal(-3)) == "-3,00\xa0₽"
    assert [known_currency(code) for code in ("EUR", "RUB", "eur", "XYZ", "EURO", None)] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    # An unknown code is never shown: the language's own is.
    assert translator("ru", "XYZ").amount(Decimal(1)) == "1,00\xa0₽"


def test_alerts_in_russian() -> None:
    t = translator("ru")
    assert messages.budget_limit_exceeded(
        category_name="Продукты",
        year=2026,
        month=11,
        spent=Decimal("520"),
        limit=Decimal("500"),
        t=t,
    ) == ("Бюджет превышен: Продукты за ноябрь 2026 — потрачено 520,00\xa0₽ из 500,00\xa0₽ (104%).")
    assert (
        messages.budget_threshold_reached(
            category_name="Продукты",
            year=2026,
            month=11,
            percent=82,
            spent=Decimal("410"),
            limit=Decimal("500"),
            t=t,
        )
        == "Внимание: Продукты за ноябрь 2026 — 82% лимита: 410,00\xa0₽ из 500,00\xa0₽."
    )
    digest = messages.monthly_digest(
        year=2026,
        month=11,
        income=Decimal("3000"),
        expense=Decimal("2450"),
        net=Decimal("550"),
        categories=[messages.DigestCategory("Продукты", Decimal("500"), Decimal("520"))],
        t=t,
    )
    assert digest.startswith("Итоги за ноябрь 2026: доходы 3\xa0000,00\xa0₽")
    assert digest.endswith("Сверх лимита: Продукты 520,00\xa0₽ из 500,00\xa0₽.")


def test_a_chat_moved_between_accounts_reads_whole_when_an_account_has_no_name_yet() -> None:
    # Russian around an email hint and a command: RUF001 would read their Latin as look-alikes.
    assert moved_reply(translator("ru"), "a***@example.com", None) == (
        "Готово! Уведомления о бюджете для аккаунта a***@example.com будут приходить в этот чат."  # noqa: RUF001
        " Этот чат больше не привязан к прежнему аккаунту. Не то, что вы хотели? Отправьте /stop,"  # noqa: RUF001
        " чтобы отвязать, и откройте ссылку из приложения другого аккаунта."
    )
    assert moved_reply(translator("en"), None, "b***@example.com").startswith(
        "Linked! Budget alerts for the account that opened this link will arrive in this chat."
        " This chat is no longer linked to the account it was linked to before (b***@example.com)."
    )


def test_a_long_russian_digest_counts_the_rest_by_russian_plural() -> None:
    categories = [
        messages.DigestCategory(f"Категория {index:03d} " + "я" * 60, Decimal(1), Decimal(2))
        for index in range(100)
    ]
    digest = messages.monthly_digest(
        year=2026,
        month=1,
        income=Decimal(0),
        expense=Decimal(200),
        net=Decimal(-200),
        categories=categories,
        t=translator("ru"),
    )
    assert messages.telegram_length(digest) <= messages.MAX_MESSAGE_LENGTH
    assert re.search(r" и ещё \d+\.$", digest)


def test_the_chart_font_has_every_letter_of_both_scripts() -> None:
    drawable = charts.drawable_characters()
    for name in ("Food", "Transport", "Продукты", "Развлечения", "Жильё", "Ёлка", "₽", "€"):
        missing = [character for character in name if ord(character) not in drawable]
        assert missing == [], name


def test_the_chart_leaves_out_what_would_be_a_box() -> None:
    assert charts.drawable("🍔 Продукты") == "Продукты"
    assert charts.drawable("Food 🍔") == "Food"
    assert all(ord(c) in charts.drawable_characters() for c in charts.drawable("🎬 Кино 💡"))


def test_a_russian_chart_draws_cyrillic_names() -> None:
    png = charts.chart_png(
        {
            "title": "Ноябрь 2026",
            "language": "ru",
            "bars": [
                {"name": "🍔 Продукты", "spent": "520.00", "limit": "500.00"},
                {"name": "Transport", "spent": "10.00", "limit": "100.00"},
            ],
        }
    )
    assert png.startswith(b"\x89PNG")


def _drawn(character: str) -> bytes:
    font = ImageFont.truetype(charts.FONT_PATH, size=32)
    image = Image.new("L", (64, 64))
    ImageDraw.Draw(image).text((8, 8), character, font=font, fill=255)
    return image.tobytes()


def test_no_letter_of_the_names_is_the_missing_glyph_box() -> None:
    box = _drawn("\ue000")  # a private-use code point: no font of ours has it
    assert _drawn("\U0001f354") == box  # what an emoji would look like, were it drawn
    for name in ("Продукты", "Жильё", "Food", "Transport", "₽"):
        for character in name:
            assert _drawn(character) != box, character
