"""Use cases of the deliveries endpoints: the history, and sending a test message."""

from __future__ import annotations

import uuid

from flask_smorest import abort
from sqlalchemy import Select, select

from notify_app import messages
from notify_app.deliveries.queue import QueueUnavailableError, delivery_queue
from notify_app.deliveries.sending import TELEGRAM_CHANNEL
from notify_app.extensions import db
from notify_app.models import Delivery, NotificationSettings
from notify_app.pagination import ListOrder

TEST_MESSAGE_TYPE = "notification.test"
HISTORY_ORDER = ListOrder((Delivery.created_at, Delivery.id), descending=True)


def history_of(user_id: uuid.UUID) -> Select[tuple[Delivery]]:
    """The user's deliveries, newest first."""
    return select(Delivery).where(Delivery.user_id == user_id).order_by(*HISTORY_ORDER.clauses())


def send_test_message(user_id: uuid.UUID) -> Delivery:
    """Log a pending test delivery and hand it to the worker; 409 without a chat id."""
    chat_id = db.session.scalar(
        select(NotificationSettings.telegram_chat_id).where(NotificationSettings.user_id == user_id)
    )
    if not chat_id:
        abort(409, message="Set a Telegram chat id before sending a test message.")
    delivery = Delivery(
        event_id=uuid.uuid4(),
        event_type=TEST_MESSAGE_TYPE,
        channel=TELEGRAM_CHANNEL,
        user_id=user_id,
        status="pending",
        chat_id=chat_id,
        text=messages.TEST_MESSAGE,
    )
    db.session.add(delivery)
    db.session.commit()
    try:
        delivery_queue().send(delivery.id)
    except QueueUnavailableError as error:
        delivery.status = "failed"
        delivery.last_error = f"the worker queue is unavailable: {error}"
        db.session.commit()
        abort(503, message="Notifications are unavailable right now; try again later.")
    return delivery
