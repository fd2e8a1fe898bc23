"""Use cases of the deliveries endpoints: the history, and sending a test message."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import Select, select

from notify_app import messages
from notify_app.deliveries.queue import QueueUnavailableError, send_delivery
from notify_app.deliveries.sending import TELEGRAM_CHANNEL
from notify_app.domain_errors import ConflictError, UnavailableError
from notify_app.models import Delivery, NotificationSettings
from notify_app.settings.defaults import DEFAULTS, settings_from
from notify_app.unit_of_work import UnitOfWork
from service_kit.i18n import translator
from service_kit.pagination import ListOrder

TEST_MESSAGE_TYPE = "notification.test"
QUEUE_UNAVAILABLE = "the worker queue is unavailable"
NO_CHAT_LINKED = "Link a Telegram chat before sending a test message."
NOTIFICATIONS_UNAVAILABLE = "Notifications are unavailable right now; try again later."
HISTORY_ORDER = ListOrder((Delivery.created_at, Delivery.id), descending=True)

logger = logging.getLogger(__name__)


def history_of(user_id: uuid.UUID) -> Select[tuple[Delivery]]:
    """The user's deliveries, newest first."""
    return select(Delivery).where(Delivery.user_id == user_id).order_by(*HISTORY_ORDER.clauses())


def send_test_message(user_id: uuid.UUID) -> Delivery:
    """Log a pending test delivery and hand it to the worker.

    Raises ConflictError without a linked chat, UnavailableError when the broker did not take
    the message (its delivery is logged as failed).
    """
    with UnitOfWork() as uow:
        row = uow.session.execute(
            select(NotificationSettings).where(NotificationSettings.user_id == user_id)
        ).scalar_one_or_none()
        settings = DEFAULTS if row is None else settings_from(row)
        chat_id = settings.telegram_chat_id
        if not chat_id:
            raise ConflictError(NO_CHAT_LINKED)
        delivery = Delivery(
            event_id=uuid.uuid4(),
            event_type=TEST_MESSAGE_TYPE,
            channel=TELEGRAM_CHANNEL,
            user_id=user_id,
            status="pending",
            chat_id=chat_id,
            text=messages.delivery_test_text(translator(settings.language, settings.currency)),
        )
        uow.session.add(delivery)
    try:
        send_delivery(delivery.id)
    except QueueUnavailableError as error:
        # The broker's address stays in the log: the history shows our own words only.
        logger.warning("test message %s not queued: %s", delivery.id, error)
        with UnitOfWork():
            delivery.status = "failed"
            delivery.last_error = QUEUE_UNAVAILABLE
        raise UnavailableError(NOTIFICATIONS_UNAVAILABLE) from error
    return delivery
