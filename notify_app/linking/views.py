"""POST /api/notifications/telegram/link and the bot's webhook."""

from __future__ import annotations

import hmac
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema

from notify_app.access import current_user_id, protected
from notify_app.bot.service import answer_update
from notify_app.linking import service
from notify_app.linking.schemas import LinkOfferSchema, WebhookReplySchema
from notify_app.rate_limits import telegram_links
from service_kit.blueprint import Blueprint, abort
from service_kit.edges import no_store

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret

blp = Blueprint(
    "telegram",
    __name__,
    url_prefix="/api/notifications/telegram",
    description="Linking a Telegram chat through the bot's deep link",
)


@blp.route("/link")
class TelegramLink(MethodView):
    @protected(blp)
    @telegram_links
    @blp.response(201, LinkOfferSchema)
    def post(self) -> dict[str, Any]:
        """Make a one-time link that connects the Telegram chat which opens it (15 minutes)."""
        offer = service.create_link_code(
            current_user_id(), current_app.config["TELEGRAM_LINK_CODE_TTL"]
        )
        username = current_app.config["TELEGRAM_BOT_USERNAME"]
        return {
            "url": f"https://t.me/{username}?start={offer.code}",
            "expires_at": offer.expires_at,
        }


@blp.route("/webhook")
class TelegramWebhook(MethodView):
    @blp.response(200, WebhookReplySchema)
    @blp.alt_response(401, schema=ErrorSchema, description="The secret token header does not match")
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description="A command could not be queued; Telegram sends it again",
    )
    def post(self) -> dict[str, Any]:
        """Receive a Telegram update: `/start CODE` links the chat, `/stop` unlinks it, and
        from a linked private chat `/spent`, `/income`, `/undo`, `/summary` and the category
        buttons go to the budget service, whose reply follows as a message.

        Anything else, malformed updates included, is answered 200 (with help, or nothing):
        Telegram would retry any other answer, over and over. A command the broker did not
        take is answered 503, so that Telegram sends it again.
        """
        expected = current_app.config["TELEGRAM_WEBHOOK_SECRET"]
        presented = request.headers.get(SECRET_HEADER, "")
        if expected is None or not hmac.compare_digest(presented.encode(), expected.encode()):
            abort(401, message="invalid webhook secret token")
        return answer_update(request.get_json(silent=True))


# A link carries a one-time code that links a chat to the account: not for caches.
blp.after_request(no_store)
