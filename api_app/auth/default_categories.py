"""The categories every new user starts with."""

from __future__ import annotations

import uuid

from api_app.models import Category
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


def default_categories(user_id: uuid.UUID, language: str = DEFAULT_LANGUAGE) -> list[Category]:
    """The same icons in every language, the names in the person's."""
    t = translator(language)
    return [
        Category(user_id=user_id, name=t.gettext(name), icon=icon, is_default=True)
        for name, icon in DEFAULT_CATEGORIES
    ]
