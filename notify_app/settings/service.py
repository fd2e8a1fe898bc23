"""Read and change a user's notification settings; no row yet means the defaults."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from notify_app.changes import UNSET, Unset, given
from notify_app.extensions import db
from notify_app.models import NotificationSettings
from notify_app.settings.defaults import DEFAULTS, Settings, settings_from
from notify_app.unit_of_work import UnitOfWork

__all__ = ["Settings", "SettingsChanges", "settings_of", "update_settings"]


@dataclass(frozen=True)
class SettingsChanges:
    """A PATCH: the fields given, UNSET for the others. A chat id is set by the bot's /start
    only; the endpoint may only unlink (None)."""

    telegram_chat_id: str | Unset | None = UNSET
    notify_limit_exceeded: bool | Unset = UNSET
    notify_goal_reached: bool | Unset = UNSET
    warn_at_percent: int | Unset | None = UNSET
    notify_monthly_digest: bool | Unset = UNSET
    digest_balances: bool | Unset = UNSET


def settings_of(user_id: uuid.UUID) -> Settings:
    row = db.session.execute(
        select(NotificationSettings).where(NotificationSettings.user_id == user_id)
    ).scalar_one_or_none()
    return DEFAULTS if row is None else settings_from(row)


def update_settings(user_id: uuid.UUID, changes: SettingsChanges) -> Settings:
    """Apply the given fields, creating the row (with defaults for the rest) if there is none."""
    values = given(changes)
    with UnitOfWork() as uow:
        if values:
            # One statement: two concurrent first updates cannot both insert.
            uow.session.execute(
                insert(NotificationSettings)
                .values(user_id=user_id, **values)
                .on_conflict_do_update(
                    index_elements=[NotificationSettings.user_id],
                    set_={**values, "updated_at": func.now()},
                )
            )
        return settings_of(user_id)
