from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields

# Telegram chat ids are integers: positive for users, negative for groups and channels.
CHAT_ID_PATTERN = "^-?[0-9]{1,20}$"


def chat_id(value: str) -> None:
    # fullmatch, not the pattern's $: that would let "123\n" through.
    if re.fullmatch(CHAT_ID_PATTERN.strip("^$"), value) is None:
        raise ValidationError("a Telegram chat id: digits, maybe a minus")


class JsonBoolean(fields.Boolean):
    """JSON true or false only: marshmallow's Boolean also takes 0, 1, "yes", "on"..."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class NotificationSettingsSchema(Schema):
    telegram_chat_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "null: no Telegram messages", "example": "123456789"},
    )
    notify_limit_exceeded = fields.Boolean(required=True)
    notify_goal_reached = fields.Boolean(required=True)


class NotificationSettingsPatchSchema(Schema):
    telegram_chat_id = fields.String(
        allow_none=True, validate=chat_id, metadata={"pattern": CHAT_ID_PATTERN}
    )
    notify_limit_exceeded = JsonBoolean()
    notify_goal_reached = JsonBoolean()
