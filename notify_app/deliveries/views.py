"""GET /api/notifications/history and POST /api/notifications/test."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from flask_jwt_extended import get_jwt_identity, jwt_required
from sqlalchemy import Select

from notify_app.blueprint import Blueprint
from notify_app.deliveries import service
from notify_app.deliveries.schemas import DeliverySchema
from notify_app.models import Delivery

blp = Blueprint(
    "deliveries",
    __name__,
    url_prefix="/api/notifications",
    description="What was sent to the user, and a test message",
)


def current_user_id() -> uuid.UUID:
    return uuid.UUID(get_jwt_identity())


@blp.route("/history")
class History(MethodView):
    @jwt_required()
    @blp.response(200, DeliverySchema(many=True))
    @blp.alt_response(401, description="Missing or invalid access token")
    @blp.paginate(service.HISTORY_ORDER)
    def get(self) -> Select[tuple[Delivery]]:
        """The user's deliveries, newest first (X-Pagination header for the pages)."""
        return service.history_of(current_user_id())


@blp.route("/test")
class TestMessage(MethodView):
    @jwt_required()
    @blp.response(202, DeliverySchema)
    @blp.alt_response(401, description="Missing or invalid access token")
    @blp.alt_response(409, description="No Telegram chat id is set")
    @blp.alt_response(503, description="The worker queue is unavailable")
    def post(self) -> Delivery:
        """Send a test message to the user's Telegram chat (through the worker)."""
        return service.send_test_message(current_user_id())
