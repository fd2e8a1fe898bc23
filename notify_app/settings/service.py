"""Read and change a user's notification settings; no row yet means the defaults."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from notify_app.extensions import db
from notify_app.models import NotificationSettings
from notify_app.settings.defaults import DEFAULTS, Settings, settings_from

__all__ = ["Settings", "settings_of", "update_settings"]


def settings_of(user_id: uuid.UUID) -> Settings:
    row = db.session.execute(
        select(NotificationSettings).where(NotificationSettings.user_id == user_id)
    ).scalar_one_or_none()
    return DEFAULTS if row is None else settings_from(row)


def update_settings(user_id: uuid.UUID, changes: dict[str, Any]) -> Settings:
    """Apply the given fields, creating the row (with defaults for the rest) if there is none."""
    if changes:
        # One statement: two concurrent first updates cannot both insert.
        db.session.execute(
            insert(NotificationSettings)
            .values(user_id=user_id, **changes)
            .on_conflict_do_update(
                index_elements=[NotificationSettings.user_id],
                set_={**changes, "updated_at": func.now()},
            )
        )
        db.session.commit()
    return settings_of(user_id)
