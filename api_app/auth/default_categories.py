"""The categories every new ledger starts with: a new account's personal ledger, and every
shared ledger made later."""

from __future__ import annotations

from service_kit.i18n import DEFAULT_LANGUAGE, translator


def _(message: str) -> str:
    """Marks a name for the catalogs; translated when a user's categories are made."""
    return message


# (name, icon): icons are emoji, so any client can show them without an icon font.
DEFAULT_CATEGORIES: tuple[tuple[str, str], ...] = (
    (_("Food"), "🍔"),
    (_("Transport"), "🚌"),
    (_("Housing"), "🏠"),
    (_("Utilities"), "💡"),
    (_("Health"), "💊"),
    (_("Entertainment"), "🎬"),
    (_("Shopping"), "🛒"),
    (_("Salary"), "💰"),
    (_("Other"), "📦"),
)


def default_categories(language: str = DEFAULT_LANGUAGE) -> list[tuple[str, str]]:
    """(name, icon): the same icons in every language, the names in the person's."""
    t = translator(language)
    return [(t.gettext(name), icon) for name, icon in DEFAULT_CATEGORIES]
