"""Event -> effect. Every handler is idempotent: the same event twice changes nothing more.

Called by the worker's thin Celery task inside a notify_app app context; a database error
propagates so the task can retry it, a malformed message is logged and dropped (no retry can
fix it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Uuid, bindparam, delete, func, text
from sqlalchemy.dialects.postgresql import insert

from event_contract import (
    BOT_REPLY,
    BUDGET_LIMIT_EXCEEDED,
    BUDGET_MONTH_CLOSED,
    BUDGET_THRESHOLD_REACHED,
    GOAL_REACHED,
    USER_DELETED,
    USER_REGISTERED,
    USER_SESSIONS_REVOKED,
    Event,
    UnsupportedSchemaVersionError,
)
from notify_app import messages
from notify_app.deliveries.metrics import delivery_latency
from notify_app.deliveries.sending import Notification, notify
from notify_app.linking.service import email_hint
from notify_app.models import (
    DeletedUser,
    Delivery,
    NotificationSettings,
    TelegramLinkCode,
    TokenEpoch,
)
from notify_app.request_ids import request_id_context
from notify_app.settings.defaults import DEFAULTS, Settings, settings_from
from notify_app.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)

LIMIT_ALERTS_OFF_REASON = "budget limit notifications are turned off"
GOAL_ALERTS_OFF_REASON = "goal notifications are turned off"
WARNINGS_OFF_REASON = "budget warnings are turned off"
DIGEST_OFF_REASON = "the monthly digest is turned off"


def handle_event(message: Mapping[str, Any]) -> None:
    # The request id of the API call that caused the event goes on every log line of it.
    request_id = message.get("request_id")
    context_token = request_id_context.set(request_id if isinstance(request_id, str) else None)
    try:
        event = Event.from_message(dict(message))
        logger.info(
            "handling %s event %s", event.type, event.id, extra={"user_id": str(event.user_id)}
        )
        with UnitOfWork() as uow:
            forgotten, settings = _lock_recipient(uow, event.user_id)
            if event.type != USER_DELETED and forgotten:
                logger.info("ignoring %s event %s: the account was deleted", event.type, event.id)
                return
            HANDLERS[event.type](uow, event, settings)
    except UnsupportedSchemaVersionError as error:
        # Sent by a newer (or forged) producer: acting on its shape alone could do the wrong
        # thing. Refused, logged and acknowledged, never retried: a retry would see the same.
        logger.error("refusing event %r: %s", message.get("id"), error)
    except (KeyError, ValueError, TypeError, InvalidOperation) as error:
        # A redelivery would fail the same way (the unit rolled back what it had not
        # committed): log it loudly and let the message go.
        logger.error("dropping malformed event %r: %s", message.get("id"), error)
    finally:
        request_id_context.reset(context_token)


def on_user_registered(uow: UnitOfWork, event: Event, _settings: Settings) -> None:
    """Settings with the defaults (see the settings endpoint), no chat id yet, and the masked
    email the bot names when a chat is linked."""
    email = event.payload.get("email")
    hint = email_hint(email) if isinstance(email, str) else None
    uow.session.execute(
        insert(NotificationSettings)
        .values(user_id=event.user_id, email_hint=hint)
        .on_conflict_do_update(
            index_elements=[NotificationSettings.user_id], set_={"email_hint": hint}
        )
    )


def on_user_deleted(uow: UnitOfWork, event: Event, _settings: Settings) -> None:
    """Forget the user: settings, delivery history and Telegram link codes (an unused code
    would otherwise link a chat to the deleted account), and remember that they are gone."""
    uow.session.execute(
        insert(DeletedUser)
        .values(user_id=event.user_id)
        .on_conflict_do_nothing(index_elements=[DeletedUser.user_id])
    )
    uow.session.execute(delete(Delivery).where(Delivery.user_id == event.user_id))
    uow.session.execute(delete(TelegramLinkCode).where(TelegramLinkCode.user_id == event.user_id))
    uow.session.execute(
        delete(NotificationSettings).where(NotificationSettings.user_id == event.user_id)
    )


def on_user_sessions_revoked(uow: UnitOfWork, event: Event, _settings: Settings) -> None:
    """Remember the user's new token epoch: access tokens minted before are refused from now on.
    Epochs only rise, so an older event arriving late changes nothing."""
    epoch = int(event.payload["epoch"])
    uow.session.execute(
        insert(TokenEpoch)
        .values(user_id=event.user_id, epoch=epoch)
        .on_conflict_do_update(
            index_elements=[TokenEpoch.user_id],
            set_={"epoch": func.greatest(TokenEpoch.epoch, epoch), "updated_at": func.now()},
        )
    )


def on_budget_limit_exceeded(uow: UnitOfWork, event: Event, settings: Settings) -> None:
    payload = event.payload
    text = messages.budget_limit_exceeded(
        category_name=str(payload["category_name"]),
        year=int(payload["year"]),
        month=_month(payload["month"]),
        spent=Decimal(payload["spent"]),
        limit=Decimal(payload["limit"]),
    )
    _notify(
        uow,
        event,
        text,
        wanted=settings.notify_limit_exceeded,
        unwanted_reason=LIMIT_ALERTS_OFF_REASON,
        chat_id=settings.telegram_chat_id,
    )


def on_goal_reached(uow: UnitOfWork, event: Event, settings: Settings) -> None:
    payload = event.payload
    text = messages.goal_reached(
        name=str(payload["name"]),
        current_amount=Decimal(payload["current_amount"]),
        target_amount=Decimal(payload["target_amount"]),
    )
    _notify(
        uow,
        event,
        text,
        wanted=settings.notify_goal_reached,
        unwanted_reason=GOAL_ALERTS_OFF_REASON,
        chat_id=settings.telegram_chat_id,
    )


def on_budget_threshold_reached(uow: UnitOfWork, event: Event, settings: Settings) -> None:
    """The heads-up goes to users whose chosen threshold this change crossed: with 80, a jump
    from 40 % to 85 % (the 80 event) or from 10 % to 95 % (the 90 event, having crossed 50, 80
    and 90) warns, a step from 85 % to 95 % (the 90 event, crossing only 90) does not."""
    payload = event.payload
    threshold = int(payload["threshold"])
    crossed = {int(value) for value in payload.get("crossed_thresholds", [threshold])}
    text = messages.budget_threshold_reached(
        category_name=str(payload["category_name"]),
        year=int(payload["year"]),
        month=_month(payload["month"]),
        percent=int(payload["percent"]),
        spent=Decimal(payload["spent"]),
        limit=Decimal(payload["limit"]),
    )
    warn_at = settings.warn_at_percent
    _notify(
        uow,
        event,
        text,
        wanted=warn_at in crossed,
        unwanted_reason=(
            WARNINGS_OFF_REASON
            if warn_at is None
            else f"budget warnings are set to {warn_at}%, which this change did not cross"
        ),
        chat_id=settings.telegram_chat_id,
    )


def on_budget_month_closed(uow: UnitOfWork, event: Event, settings: Settings) -> None:
    payload = event.payload
    text = messages.monthly_digest(
        year=int(payload["year"]),
        month=_month(payload["month"]),
        income=Decimal(payload["income"]),
        expense=Decimal(payload["expense"]),
        net=Decimal(payload["net"]),
        categories=[
            messages.DigestCategory(
                name=str(category["name"]),
                limit=None if category["limit"] is None else Decimal(category["limit"]),
                spent=Decimal(category["spent"]),
            )
            for category in payload["categories"]
        ],
    )
    # The chart of /summary for the closed month, when it had limits: sent as a photo with the
    # digest as its caption.
    bars = [
        {"name": category["name"], "spent": category["spent"], "limit": category["limit"]}
        for category in payload["categories"]
        if category["limit"] is not None
    ]
    chart: dict[str, Any] | None = None
    if bars:
        month_name = messages.MONTH_NAMES[_month(payload["month"]) - 1]
        chart = {"title": f"{month_name} {payload['year']}", "bars": bars}
    _notify(
        uow,
        event,
        text,
        wanted=settings.notify_monthly_digest,
        unwanted_reason=DIGEST_OFF_REASON,
        chat_id=settings.telegram_chat_id,
        chart=chart,
    )


def on_bot_reply(uow: UnitOfWork, event: Event, _settings: Settings) -> None:
    """api_app's answer to a bot command, to the chat that sent it (linked or not by now: it
    asked)."""
    payload = event.payload
    buttons = payload.get("buttons")
    chart = payload.get("chart")
    _notify(
        uow,
        event,
        str(payload["text"]),
        wanted=True,
        unwanted_reason="",
        chat_id=str(payload["chat_id"]),
        buttons=buttons if isinstance(buttons, list) else None,
        chart=chart if isinstance(chart, dict) else None,
    )


def _notify(
    uow: UnitOfWork,
    event: Event,
    text: str,
    *,
    wanted: bool,
    unwanted_reason: str,
    chat_id: str | None,
    buttons: list[Any] | None = None,
    chart: dict[str, Any] | None = None,
) -> None:
    """Log the event's delivery (skipped with the reason when unwanted) and send it."""
    status = notify(
        uow,
        Notification(event.id, event.type, event.user_id, text, buttons=buttons, chart=chart),
        wanted=wanted,
        unwanted_reason=unwanted_reason,
        chat_id=chat_id,
    )
    if status == "sent":
        delivery_latency.observe((datetime.now(UTC) - event.occurred_at).total_seconds())


def _lock_recipient(uow: UnitOfWork, user_id: uuid.UUID) -> tuple[bool, Settings]:
    """Lock the user, then read whether the account was deleted and its settings (the defaults
    without a row): one round trip (see migration 0009's event_recipient).

    One user's events are handled one at a time up to their first commit (a transaction
    advisory lock, notify_app.auth.lock_user's): a late event cannot slip its first write past
    a concurrent user.deleted, nor can a request of the user's (which takes the lock shared).
    """
    row = uow.session.execute(_LOCK_RECIPIENT, {"user_id": user_id}).one()
    return row.forgotten, (settings_from(row) if row.has_settings else DEFAULTS)


_LOCK_RECIPIENT = text("SELECT * FROM event_recipient(:user_id)").bindparams(
    bindparam("user_id", type_=Uuid)
)


def _month(value: object) -> int:
    month = int(str(value))
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1..12")
    return month


HANDLERS: Mapping[str, Callable[[UnitOfWork, Event, Settings], None]] = {
    USER_REGISTERED: on_user_registered,
    USER_DELETED: on_user_deleted,
    USER_SESSIONS_REVOKED: on_user_sessions_revoked,
    BUDGET_LIMIT_EXCEEDED: on_budget_limit_exceeded,
    GOAL_REACHED: on_goal_reached,
    BUDGET_THRESHOLD_REACHED: on_budget_threshold_reached,
    BUDGET_MONTH_CLOSED: on_budget_month_closed,
    BOT_REPLY: on_bot_reply,
}
