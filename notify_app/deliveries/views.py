"""GET /api/notifications/history and POST /api/notifications/test."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema
from sqlalchemy import Select

from notify_app.access import current_user_id, protected
from notify_app.deliveries import service
from notify_app.deliveries.schemas import DeliverySchema
from notify_app.models import Delivery
from notify_app.rate_limits import test_messages
from service_kit.blueprint import Blueprint

blp = Blueprint(
    "deliveries",
    __name__,
    url_prefix="/api/notifications",
    description="What was sent to the user, and a test message",
)


@blp.route("/history")
class History(MethodView):
    @protected(blp)
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate(service.HISTORY_ORDER)
    def get(self) -> Select[tuple[Delivery]]:
        """The user's deliveries, newest first (X-Pagination header for the pages)."""
        return service.history_of(current_user_id())


@blp.route("/test")
class TestMessage(MethodView):
    @protected(blp)
    @test_messages
    @blp.response(202, DeliverySchema)
    @blp.alt_response(409, schema=ErrorSchema, description="No Telegram chat is linked")
    @blp.alt_response(503, schema=ErrorSchema, description="The worker queue is unavailable")
    def post(self) -> Delivery:
        """Send a test message to the user's Telegram chat (through the worker)."""
        return service.send_test_message(current_user_id())
