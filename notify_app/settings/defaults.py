"""A user's notification settings as a value, and the defaults: defined here once, for the
settings endpoint, the event handlers and the model's column defaults alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notify_app.config import DEFAULT_WARN_AT_PERCENT
from service_kit.i18n import DEFAULT_LANGUAGE, choose_language


@dataclass(frozen=True)
class Settings:
    telegram_chat_id: str | None = None
    notify_limit_exceeded: bool = True
    notify_goal_reached: bool = True
    warn_at_percent: int | None = DEFAULT_WARN_AT_PERCENT
    notify_monthly_digest: bool = False
    # A shared ledger's digest adds who owes whom and how to settle up.
    digest_balances: bool = True
    # What the alerts are written in (not a field of the settings endpoint: the account's
    # language is set in api_app, PATCH /api/users/me).
    language: str = DEFAULT_LANGUAGE
    currency: str | None = None


DEFAULTS = Settings()


def settings_from(row: Any) -> Settings:
    """The settings a row with notification_settings' columns holds (an ORM object or a result
    row alike)."""
    return Settings(
        telegram_chat_id=row.telegram_chat_id,
        notify_limit_exceeded=row.notify_limit_exceeded,
        notify_goal_reached=row.notify_goal_reached,
        warn_at_percent=row.warn_at_percent,
        notify_monthly_digest=row.notify_monthly_digest,
        digest_balances=row.digest_balances,
        language=choose_language(row.language, row.telegram_language),
        currency=row.currency,
    )
