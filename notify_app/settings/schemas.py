from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, post_load

from notify_app.settings.service import SettingsChanges

CHAT_ID_DESCRIPTION = (
    "Only null (unlink the chat) may be sent: a chat is linked by opening the link of"
    " POST /api/notifications/telegram/link in Telegram, so the bot never writes to a chat"
    " whose owner did not ask for it."
)


class UnlinkOnly(fields.Field[None]):
    """Accepts null alone: any other value answers 422."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> None:
        raise ValidationError(
            "only null (unlink) may be set here; link a chat with the Telegram link instead"
        )


class JsonBoolean(fields.Boolean):
    """JSON true or false only: marshmallow's Boolean also takes 0, 1, "yes", "on"..."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class JsonInteger(fields.Integer):
    """A JSON integer only: marshmallow's strict Integer still takes true and false as 1 and 0."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def warning_threshold(value: int | None) -> None:
    """One of the thresholds api_app warns at (BUDGET_WARNING_THRESHOLDS), or null."""
    thresholds: tuple[int, ...] = current_app.config["BUDGET_WARNING_THRESHOLDS"]
    if value is not None and value not in thresholds:
        choices = ", ".join(str(threshold) for threshold in thresholds)
        raise ValidationError(f"one of {choices}, or null to turn warnings off")


WARN_AT_DESCRIPTION = (
    "Percent of a category's limit at which a heads-up is sent (once per crossing): one of"
    " the warning thresholds (BUDGET_WARNING_THRESHOLDS, by default 50, 80, 90), or null for"
    " no warnings. Default 80."
)
DIGEST_DESCRIPTION = "A short summary of each closed month. Default false."
BALANCES_DESCRIPTION = (
    "A shared ledger's monthly digest adds who owes whom and how to settle up. Default true."
)


class NotificationSettingsSchema(Schema):
    telegram_chat_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "null: no Telegram messages", "example": "123456789"},
    )
    notify_limit_exceeded = fields.Boolean(required=True)
    notify_goal_reached = fields.Boolean(required=True)
    warn_at_percent = fields.Integer(
        required=True, allow_none=True, metadata={"description": WARN_AT_DESCRIPTION}
    )
    notify_monthly_digest = fields.Boolean(
        required=True, metadata={"description": DIGEST_DESCRIPTION}
    )
    digest_balances = fields.Boolean(required=True, metadata={"description": BALANCES_DESCRIPTION})


class NotificationSettingsPatchSchema(Schema):
    telegram_chat_id = UnlinkOnly(
        metadata={"type": "string", "enum": [None], "description": CHAT_ID_DESCRIPTION}
    )
    notify_limit_exceeded = JsonBoolean()
    notify_goal_reached = JsonBoolean()
    warn_at_percent = JsonInteger(
        allow_none=True,
        validate=warning_threshold,
        metadata={"minimum": 1, "maximum": 99, "description": WARN_AT_DESCRIPTION},
    )
    notify_monthly_digest = JsonBoolean(metadata={"description": DIGEST_DESCRIPTION})
    digest_balances = JsonBoolean(metadata={"description": BALANCES_DESCRIPTION})

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> SettingsChanges:
        return SettingsChanges(**data)
