"""POST /api/notifications/telegram/link and the bot's webhook."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema

from notify_app.access import current_user_id, protected
from notify_app.blueprint import Blueprint, abort
from notify_app.linking import service
from notify_app.linking.schemas import LinkOfferSchema, WebhookReplySchema
from notify_app.linking.updates import bot_command
from notify_app.rate_limits import telegram_links

logger = logging.getLogger(__name__)

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
    def post(self) -> dict[str, str]:
        """Receive a Telegram update: `/start CODE` links the chat, `/stop` unlinks it.

        Anything else, malformed updates included, is answered 200 with no effect: Telegram
        would retry any other answer, over and over.
        """
        expected = current_app.config["TELEGRAM_WEBHOOK_SECRET"]
        presented = request.headers.get(SECRET_HEADER, "")
        if expected is None or not hmac.compare_digest(presented.encode(), expected.encode()):
            abort(401, message="invalid webhook secret token")
        command = bot_command(request.get_json(silent=True))
        if command is None:
            logger.info("telegram update ignored: not a bot command we understand")
            return {}
        if command.name == "start":
            reply = service.start_command(command.chat_id, command.argument)
        elif command.name == "stop":
            reply = service.stop_command(command.chat_id)
        else:
            logger.info("telegram update ignored: unknown command /%s", command.name)
            return {}
        return {"method": "sendMessage", "chat_id": command.chat_id, "text": reply}


@blp.after_request
def _never_cache(response: Response) -> Response:
    # A link carries a one-time code that links a chat to the account: not for caches.
    response.headers["Cache-Control"] = "no-store"
    return response
