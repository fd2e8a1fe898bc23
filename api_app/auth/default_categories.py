"""The categories every new user starts with."""

from __future__ import annotations

import uuid

from api_app.models import Category

# (name, icon): icons are emoji, so any client can show them without an icon font.
DEFAULT_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("Food", "🍔"),
    ("Transport", "🚌"),
    ("Housing", "🏠"),
    ("Utilities", "💡"),
    ("Health", "💊"),
    ("Entertainment", "🎬"),
    ("Shopping", "🛒"),
    ("Salary", "💰"),
    ("Other", "📦"),
)


def default_categories(user_id: uuid.UUID) -> list[Category]:
    return [
        Category(user_id=user_id, name=name, icon=icon, is_default=True)
        for name, icon in DEFAULT_CATEGORIES
    ]
