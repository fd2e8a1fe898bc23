"""POST /api/notifications/ledgers/{ledger_id}/telegram/link: a household ledger's group link."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema

from notify_app.access import current_user_id, protected
from notify_app.ledgers import service
from notify_app.linking.schemas import LinkOfferSchema
from notify_app.rate_limits import telegram_links
from service_kit.blueprint import Blueprint
from service_kit.edges import no_store

blp = Blueprint(
    "ledger_groups",
    __name__,
    url_prefix="/api/notifications/ledgers",
    description="Linking a shared ledger's Telegram group",
)


@blp.route("/<uuid:ledger_id>/telegram/link")
class LedgerGroupLink(MethodView):
    @protected(blp)
    @telegram_links
    @blp.response(201, LinkOfferSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="You only view this ledger")
    @blp.alt_response(
        404, schema=ErrorSchema, description="No such ledger, or you are not a member of it"
    )
    @blp.alt_response(409, schema=ErrorSchema, description="A personal ledger has no group chat")
    def post(self, ledger_id: uuid.UUID) -> dict[str, Any]:
        """Make a one-time link that adds the bot to a Telegram group and links that group to
        the shared ledger (15 minutes; the ledger's owner or a member). The group then gets the
        ledger's alerts, and its members record into it with /spent and /income."""
        offer = service.create_group_link_code(
            current_user_id(), ledger_id, current_app.config["TELEGRAM_LINK_CODE_TTL"]
        )
        username = current_app.config["TELEGRAM_BOT_USERNAME"]
        return {
            "url": f"https://t.me/{username}?startgroup={offer.code}",
            "expires_at": offer.expires_at,
        }


# A link carries a one-time code that links a group to the ledger: not for caches.
blp.after_request(no_store)
