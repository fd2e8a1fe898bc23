from __future__ import annotations

from marshmallow import Schema, fields, validate

# Telegram chat ids are integers: positive for users, negative for groups and channels.
CHAT_ID = validate.Regexp(r"^-?[0-9]{1,20}\Z", error="a Telegram chat id: digits, maybe a minus")


class NotificationSettingsSchema(Schema):
    telegram_chat_id = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "null: no Telegram messages", "example": "123456789"},
    )
    notify_limit_exceeded = fields.Boolean(required=True)
    notify_goal_reached = fields.Boolean(required=True)


class NotificationSettingsPatchSchema(Schema):
    telegram_chat_id = fields.String(allow_none=True, validate=CHAT_ID)
    notify_limit_exceeded = fields.Boolean()
    notify_goal_reached = fields.Boolean()
