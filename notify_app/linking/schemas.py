from __future__ import annotations

from marshmallow import Schema, fields


class LinkOfferSchema(Schema):
    url = fields.String(
        required=True, metadata={"example": "https://t.me/budget_alerts_bot?start=Zx3..."}
    )
    expires_at = fields.DateTime(required=True)


class WebhookReplySchema(Schema):
    """A webhook may answer with a Bot API call: the reply needs no request of its own."""

    method = fields.String(metadata={"example": "sendMessage"})
    chat_id = fields.String()
    text = fields.String()
    callback_query_id = fields.String()
    # An inline keyboard: in a group, the button that opens a private chat with the bot.
    reply_markup = fields.Dict(
        metadata={
            "example": {
                "inline_keyboard": [
                    [
                        {
                            "text": "Open a private chat",
                            "url": "https://t.me/budget_alerts_bot?start=",
                        }
                    ]
                ]
            }
        }
    )
