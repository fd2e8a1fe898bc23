"""Claim a delivery, then send it: the only place a message can leave twice is the HTTP call.

1. `open_delivery` decides what becomes of a notification (sent, or skipped and why) and
   commits the row, `pending` if it is to be sent. A redelivered event finds its row there
   (unique event id and channel) and opens nothing new.
2. `deliver` locks a pending row, calls Telegram, and records the outcome in the same
   transaction. The row lock is held during the call, so a second copy of the task waits and
   then finds the row done; if the worker dies mid-call its connection drops, the lock goes
   with it, the row is still `pending`, and the redelivered task sends again. That resend is
   the one possible duplicate: Telegram has no idempotency key.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from notify_app.deliveries.metrics import deliveries_finished
from notify_app.extensions import db
from notify_app.models import Delivery, NotificationSettings
from notify_app.telegram import NOT_CONFIGURED_REASON, RateLimiter, SendResult, TelegramClient

TELEGRAM_CHANNEL = "telegram"
TELEGRAM_CLIENT_EXTENSION = "telegram_client"

NO_CHAT_ID_REASON = "no Telegram chat id is set"

# What the history says about a failed delivery: our own words, never Telegram's text or a host
# name (which would tell a user about other chats, or about our network). The log keeps the
# details.
BLOCKED_BY_USER = "blocked by the user"
CHAT_UNREACHABLE = "chat unreachable"
TELEGRAM_UNAVAILABLE = "Telegram unavailable"

logger = logging.getLogger(__name__)


def telegram_client() -> TelegramClient:
    """One client per app (so per worker process): its rate limiter must see every send."""
    client: TelegramClient | None = current_app.extensions.get(TELEGRAM_CLIENT_EXTENSION)
    if client is None:
        config = current_app.config
        client = TelegramClient(
            config["TELEGRAM_API_URL"],
            config["TELEGRAM_BOT_TOKEN"],
            timeout_seconds=config["TELEGRAM_TIMEOUT_SECONDS"],
            max_attempts=config["TELEGRAM_MAX_ATTEMPTS"],
            rate_limiter=RateLimiter(config["TELEGRAM_RATE_PER_SECOND"]),
        )
        current_app.extensions[TELEGRAM_CLIENT_EXTENSION] = client
    return client


@dataclass(frozen=True)
class Notification:
    """What one event wants to tell its user."""

    event_id: uuid.UUID
    event_type: str
    user_id: uuid.UUID
    text: str


def open_delivery(
    notification: Notification, *, wanted: bool, unwanted_reason: str, chat_id: str | None
) -> uuid.UUID | None:
    """Record the delivery of `notification`; return its id if it is pending, to be sent.

    `wanted` is the user's flag for this kind of notification. Commits.
    """
    if not wanted:
        status, reason = "skipped", unwanted_reason
    elif not chat_id:
        status, reason = "skipped", NO_CHAT_ID_REASON
    elif not telegram_client().configured:
        status, reason = "skipped", NOT_CONFIGURED_REASON
    else:
        status, reason = "pending", None
    row = db.session.execute(
        insert(Delivery)
        .values(
            event_id=notification.event_id,
            event_type=notification.event_type,
            channel=TELEGRAM_CHANNEL,
            user_id=notification.user_id,
            status=status,
            reason=reason,
            chat_id=chat_id,
            text=notification.text,
        )
        .on_conflict_do_nothing(index_elements=[Delivery.event_id, Delivery.channel])
        .returning(Delivery.id, Delivery.status)
    ).one_or_none()
    if row is None:
        # An earlier copy of the event made the row: its status decides.
        row = db.session.execute(
            select(Delivery.id, Delivery.status).where(
                Delivery.event_id == notification.event_id, Delivery.channel == TELEGRAM_CHANNEL
            )
        ).one()
    db.session.commit()
    return row.id if row.status == "pending" else None


def deliver(delivery_id: uuid.UUID) -> str | None:
    """Send a pending delivery and record what Telegram answered; anything else is a no-op.

    Returns the delivery's new status, or None when there was nothing to send.
    """
    delivery = db.session.scalar(
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .with_for_update()
        # The row as the lock found it, even if this session had loaded it before.
        .execution_options(populate_existing=True)
    )
    if delivery is None or delivery.status != "pending" or delivery.chat_id is None:
        db.session.rollback()
        return None
    result = telegram_client().send_message(delivery.chat_id, delivery.text)
    delivery.attempts += result.attempts
    if result.sent:
        delivery.status = "sent"
        delivery.sent_at = datetime.now(UTC)
        delivery.last_error = None
    elif result.status == "skipped":
        delivery.status = "skipped"
        delivery.reason = result.error
    else:
        delivery.status = "failed"
        delivery.last_error = failure_words(result)
        if result.blocked_by_user:
            forget_blocked_chat(delivery.user_id, delivery.chat_id)
    db.session.commit()
    logger.info(
        "delivery %s of event %s: %s after %d attempt(s)%s",
        delivery.id,
        delivery.event_id,
        delivery.status,
        result.attempts,
        f" ({result.error})" if result.error else "",
        extra={"user_id": str(delivery.user_id)},
    )
    deliveries_finished.labels(event_type=delivery.event_type, status=delivery.status).inc()
    return delivery.status


def failure_words(result: SendResult) -> str:
    """Why a message was not sent, as the user's history shows it."""
    if result.blocked_by_user:
        return BLOCKED_BY_USER
    if result.http_status == 400:  # chat not found, and the like: about the chat id
        return CHAT_UNREACHABLE
    return TELEGRAM_UNAVAILABLE


def forget_blocked_chat(user_id: uuid.UUID, chat_id: str) -> None:
    """The user blocked the bot: stop sending to that chat until they set one again."""
    db.session.execute(
        update(NotificationSettings)
        .where(
            NotificationSettings.user_id == user_id,
            # A chat id changed since this delivery was opened is the user's new choice.
            NotificationSettings.telegram_chat_id == chat_id,
        )
        .values(telegram_chat_id=None)
    )
