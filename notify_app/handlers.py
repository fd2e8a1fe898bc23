"""Event -> effect. Every handler is idempotent: the same event twice changes nothing more.

Called by the worker's thin Celery task inside a notify_app app context; a database error
propagates so the task can retry it, a malformed message (one the contract's types do not
parse) is logged and dropped (no retry can fix it). Each event is one unit of work.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import InvalidOperation
from typing import Any, Final, assert_never

from sqlalchemy import ColumnElement, Uuid, bindparam, case, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from event_contract import (
    AUDIENCE_GROUP,
    BotReply,
    BudgetLimitExceeded,
    BudgetMonthClosed,
    BudgetThresholdReached,
    Event,
    GoalReached,
    LedgerContext,
    LedgerDeleted,
    LedgerMembershipChanged,
    UnsupportedSchemaVersionError,
    UserDeleted,
    UserLocaleChanged,
    UserRegistered,
    UserSessionsRevoked,
    money,
)
from notify_app import messages
from notify_app.deliveries.metrics import delivery_latency
from notify_app.deliveries.sending import Notification, notify
from notify_app.ledgers import service as ledgers
from notify_app.linking.service import email_hint
from notify_app.models import (
    DeletedUser,
    Delivery,
    NotificationSettings,
    TelegramLinkCode,
    TokenEpoch,
)
from notify_app.settings.defaults import DEFAULTS, Settings, settings_from
from notify_app.unit_of_work import UnitOfWork
from service_kit.i18n import (
    Translator,
    choose_language,
    heading,
    known_currency,
    supported_language,
    translator,
)
from service_kit.request_ids import request_id_context

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
        event = Event.from_message(message)
        logger.info(
            "handling %s event %s", event.type, event.id, extra={"user_id": str(event.user_id)}
        )
        with UnitOfWork() as uow:
            if isinstance(event.payload, LedgerMembershipChanged | LedgerDeleted):
                # About a ledger, not about its user: a snapshot caused by an account deleted
                # since (or the deletion of its personal ledger) still applies.
                _handle_ledger_event(uow, event, event.payload)
                return
            forgotten, settings = _lock_recipient(uow, event.user_id)
            if forgotten and not isinstance(event.payload, UserDeleted):
                logger.info("ignoring %s event %s: the account was deleted", event.type, event.id)
                return
            _handle(uow, event, _recipient(uow, event, settings))
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


@dataclass(frozen=True)
class Recipient:
    """Whom an alert is for and what they want: the event's user by their own settings, or
    for a shared ledger's group copy (audience "group") the ledger's linked group chat, which
    gets every kind of alert (warnings at the default threshold) in the language of whoever
    linked it. `no_chat_reason`: why there is no chat to send to, when it is not the usual."""

    settings: Settings
    no_chat_reason: str | None = None

    def translator(self) -> Translator:
        """Their texts: in their language, amounts in their currency."""
        return translator(self.settings.language, self.settings.currency)


# A group chat asked for its household's alerts by being linked: all of them.
GROUP_SETTINGS: Final = Settings(
    notify_limit_exceeded=True,
    notify_goal_reached=True,
    warn_at_percent=DEFAULTS.warn_at_percent,
    notify_monthly_digest=True,
)


def _recipient(uow: UnitOfWork, event: Event, settings: Settings) -> Recipient:
    ledger = getattr(event.payload, "ledger", None)
    if not isinstance(ledger, LedgerContext) or ledger.audience != AUDIENCE_GROUP:
        return Recipient(settings)
    group = ledgers.group_of_ledger(uow, ledger.ledger_id)
    if group is None:
        return Recipient(GROUP_SETTINGS, no_chat_reason=ledgers.NO_GROUP_REASON)
    return Recipient(
        replace(
            GROUP_SETTINGS,
            telegram_chat_id=group.chat_id,
            language=choose_language(group.language),
            currency=group.currency,
        )
    )


def _handle_ledger_event(
    uow: UnitOfWork, event: Event, payload: LedgerMembershipChanged | LedgerDeleted
) -> None:
    if isinstance(payload, LedgerMembershipChanged):
        if ledgers.apply_snapshot(uow, payload):
            logger.info("ledger %s is at version %d", payload.ledger_id, payload.version)
        else:
            logger.info(
                "ledger %s snapshot %d ignored: a later one was applied, or it was deleted",
                payload.ledger_id,
                payload.version,
            )
        return
    group = ledgers.forget_ledger(uow, payload)
    logger.info("ledger %s forgotten", payload.ledger_id)
    if group is not None:
        # Told once: the unlinking commits with the delivery row, and a redelivered deletion
        # finds no group left.
        _notify(
            uow,
            event,
            messages.group_ledger_deleted(
                translator(group.language, group.currency), group.ledger_name
            ),
            wanted=True,
            unwanted_reason="",
            chat_id=group.chat_id,
        )


def _handle(uow: UnitOfWork, event: Event, recipient: Recipient) -> None:
    payload = event.payload
    match payload:
        case UserRegistered():
            on_user_registered(uow, event, payload)
        case UserLocaleChanged():
            on_user_locale_changed(uow, event, payload)
        case UserDeleted():
            on_user_deleted(uow, event.user_id)
        case UserSessionsRevoked():
            on_user_sessions_revoked(uow, event, payload)
        case BudgetLimitExceeded():
            on_budget_limit_exceeded(uow, event, payload, recipient)
        case GoalReached():
            on_goal_reached(uow, event, payload, recipient)
        case BudgetThresholdReached():
            on_budget_threshold_reached(uow, event, payload, recipient)
        case BudgetMonthClosed():
            on_budget_month_closed(uow, event, payload, recipient)
        case BotReply():
            on_bot_reply(uow, event, payload)
        case LedgerMembershipChanged() | LedgerDeleted():
            _handle_ledger_event(uow, event, payload)
        case _:
            assert_never(payload)


def on_user_registered(uow: UnitOfWork, event: Event, registered: UserRegistered) -> None:
    """Settings with the defaults (see the settings endpoint), no chat id yet, and the masked
    email the bot names when a chat is linked."""
    hint = email_hint(registered.email)
    language = supported_language(registered.language)
    # A locale change handled before this event (redelivered, or overtaken) is the later choice:
    # its language stays, and the masked email is set all the same.
    _upsert_settings(
        uow,
        event,
        {"email_hint": hint, "language": language},
        on_conflict={
            "email_hint": hint,
            "language": case((_later_choice(event), language), else_=NotificationSettings.language),
            "locale_chosen_at": func.greatest(
                NotificationSettings.locale_chosen_at, event.occurred_at
            ),
        },
    )


def on_user_locale_changed(uow: UnitOfWork, event: Event, changed: UserLocaleChanged) -> None:
    """The alerts' language and currency from now on. Two changes moments apart may be handled
    in either order: the later choice (occurred_at) is the one that stays."""
    chosen = {
        "language": supported_language(changed.language),
        "currency": changed.currency if known_currency(changed.currency) else None,
    }
    _upsert_settings(
        uow,
        event,
        chosen,
        on_conflict={**chosen, "locale_chosen_at": event.occurred_at, "updated_at": func.now()},
        only_if=_later_choice(event),
    )


def _upsert_settings(
    uow: UnitOfWork,
    event: Event,
    values: Mapping[str, Any],
    *,
    on_conflict: Mapping[str, Any],
    only_if: ColumnElement[bool] | None = None,
) -> None:
    """The event's user's settings: a new row with `values` (the defaults for the rest) and
    the locale chosen when the event occurred, or, when they have a row, `on_conflict` set on
    it (only if `only_if` holds). One statement: two events handled at once cannot both
    insert."""
    uow.session.execute(
        insert(NotificationSettings)
        .values(user_id=event.user_id, locale_chosen_at=event.occurred_at, **values)
        .on_conflict_do_update(
            index_elements=[NotificationSettings.user_id],
            set_=dict(on_conflict),
            where=only_if,
        )
    )


def _later_choice(event: Event) -> ColumnElement[bool]:
    """The stored language and currency were chosen before `event`, or never."""
    return or_(
        NotificationSettings.locale_chosen_at.is_(None),
        NotificationSettings.locale_chosen_at < event.occurred_at,
    )


def on_user_deleted(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """Forget the user: settings, delivery history and Telegram link codes (an unused code
    would otherwise link a chat to the deleted account), and remember that they are gone."""
    uow.session.execute(
        insert(DeletedUser)
        .values(user_id=user_id)
        .on_conflict_do_nothing(index_elements=[DeletedUser.user_id])
    )
    uow.session.execute(delete(Delivery).where(Delivery.user_id == user_id))
    uow.session.execute(delete(TelegramLinkCode).where(TelegramLinkCode.user_id == user_id))
    uow.session.execute(delete(NotificationSettings).where(NotificationSettings.user_id == user_id))
    ledgers.forget_member(uow, user_id)


def on_user_sessions_revoked(uow: UnitOfWork, event: Event, revoked: UserSessionsRevoked) -> None:
    """Remember the user's new token epoch: access tokens minted before are refused from now on.
    Epochs only rise, so an older event arriving late changes nothing.

    And unlink the account's chat and void its unused link codes (whoever held a token for a
    minute could have linked their own chat), telling the chat why. Once: the delivery row
    this writes (unique per event) is committed with the unlinking, and an event that finds
    its row has been handled, so a redelivery unlinks nothing (not even a chat linked since)
    and says nothing twice."""
    user_id = event.user_id
    uow.session.execute(
        insert(TokenEpoch)
        .values(user_id=user_id, epoch=revoked.epoch)
        .on_conflict_do_update(
            index_elements=[TokenEpoch.user_id],
            set_={
                "epoch": func.greatest(TokenEpoch.epoch, revoked.epoch),
                "updated_at": func.now(),
            },
        )
    )
    if uow.session.scalar(select(Delivery.id).where(Delivery.event_id == event.id)) is not None:
        return
    uow.session.execute(
        delete(TelegramLinkCode).where(
            TelegramLinkCode.user_id == user_id, TelegramLinkCode.used_at.is_(None)
        )
    )
    recipient = uow.session.execute(
        select(
            NotificationSettings.telegram_chat_id,
            NotificationSettings.language,
            NotificationSettings.telegram_language,
            NotificationSettings.currency,
        )
        .where(NotificationSettings.user_id == user_id)
        .with_for_update()
    ).one_or_none()
    chat_id = None if recipient is None else recipient.telegram_chat_id
    t = translator(
        None
        if recipient is None
        else choose_language(recipient.language, recipient.telegram_language),
        None if recipient is None else recipient.currency,
    )
    if chat_id is not None:
        uow.session.execute(
            update(NotificationSettings)
            .where(NotificationSettings.user_id == user_id)
            .values(telegram_chat_id=None)
        )
        logger.info("telegram chat unlinked: sessions revoked", extra={"user_id": str(user_id)})
    # Without a chat the row is logged as skipped: it still marks the event handled.
    _notify(
        uow,
        event,
        messages.chat_unlinked_on_sign_out(t, revoked.reason),
        wanted=True,
        unwanted_reason="",
        chat_id=chat_id,
    )


def on_budget_limit_exceeded(
    uow: UnitOfWork, event: Event, exceeded: BudgetLimitExceeded, recipient: Recipient
) -> None:
    t = recipient.translator()
    text = messages.budget_limit_exceeded(
        t=t,
        category_name=messages.in_ledger(exceeded.category_name, exceeded.ledger),
        year=exceeded.year,
        month=exceeded.month,
        spent=exceeded.spent,
        limit=exceeded.limit,
    )
    _alert(
        uow,
        event,
        recipient,
        messages.with_recorder(t, text, exceeded.ledger),
        wanted=recipient.settings.notify_limit_exceeded,
        unwanted_reason=LIMIT_ALERTS_OFF_REASON,
    )


def on_goal_reached(
    uow: UnitOfWork, event: Event, reached: GoalReached, recipient: Recipient
) -> None:
    t = recipient.translator()
    text = messages.goal_reached(
        t=t,
        name=messages.in_ledger(reached.name, reached.ledger),
        current_amount=reached.current_amount,
        target_amount=reached.target_amount,
    )
    _alert(
        uow,
        event,
        recipient,
        messages.with_recorder(t, text, reached.ledger),
        wanted=recipient.settings.notify_goal_reached,
        unwanted_reason=GOAL_ALERTS_OFF_REASON,
    )


def on_budget_threshold_reached(
    uow: UnitOfWork, event: Event, reached: BudgetThresholdReached, recipient: Recipient
) -> None:
    """The heads-up goes to users whose chosen threshold this change crossed: with 80, a jump
    from 40 % to 85 % (the 80 event) or from 10 % to 95 % (the 90 event, having crossed 50, 80
    and 90) warns, a step from 85 % to 95 % (the 90 event, crossing only 90) does not."""
    t = recipient.translator()
    text = messages.budget_threshold_reached(
        t=t,
        category_name=messages.in_ledger(reached.category_name, reached.ledger),
        year=reached.year,
        month=reached.month,
        percent=reached.percent,
        spent=reached.spent,
        limit=reached.limit,
    )
    warn_at = recipient.settings.warn_at_percent
    _alert(
        uow,
        event,
        recipient,
        messages.with_recorder(t, text, reached.ledger),
        wanted=warn_at in reached.crossed_thresholds,
        unwanted_reason=(
            WARNINGS_OFF_REASON
            if warn_at is None
            else f"budget warnings are set to {warn_at}%, which this change did not cross"
        ),
    )


def on_budget_month_closed(
    uow: UnitOfWork, event: Event, closed: BudgetMonthClosed, recipient: Recipient
) -> None:
    settings, t = recipient.settings, recipient.translator()
    ledger_name = None if closed.ledger is None else closed.ledger.ledger_name
    text = messages.monthly_digest(
        t=t,
        ledger_name=ledger_name,
        year=closed.year,
        month=closed.month,
        income=closed.income,
        expense=closed.expense,
        net=closed.net,
        categories=[
            messages.DigestCategory(name=category.name, limit=category.limit, spent=category.spent)
            for category in closed.categories
        ],
    )
    if closed.balances is not None and closed.ledger is not None and settings.digest_balances:
        # A shared ledger's: who owes whom as the month closed (issue 24).
        text += "\n" + messages.digest_balances(
            t=t,
            ledger_name=closed.ledger.ledger_name,
            balances=[
                messages.DigestBalance(member.name, member.net, member.former_member)
                for member in closed.balances.members
            ],
            settle_up=[
                messages.DigestTransfer(transfer.payer, transfer.payee, transfer.amount)
                for transfer in closed.balances.settle_up
            ],
        )
    # The chart of /summary for the closed month, when it had limits: sent as a photo with the
    # digest as its caption.
    bars = [
        {"name": category.name, "spent": money(category.spent), "limit": money(category.limit)}
        for category in closed.categories
        if category.limit is not None
    ]
    chart: dict[str, Any] | None = None
    if bars:
        month = heading(t.month(closed.year, closed.month))
        chart = {
            "title": month if ledger_name is None else f"{ledger_name} · {month}",
            "bars": bars,
            "language": settings.language,
            "currency": settings.currency,
        }
    _alert(
        uow,
        event,
        recipient,
        text,
        wanted=settings.notify_monthly_digest,
        unwanted_reason=DIGEST_OFF_REASON,
        chart=chart,
    )


def on_bot_reply(uow: UnitOfWork, event: Event, reply: BotReply) -> None:
    """api_app's answer to a bot command, to the chat that sent it (linked or not by now: it
    asked)."""
    _notify(
        uow,
        event,
        reply.text,
        wanted=True,
        unwanted_reason="",
        chat_id=reply.chat_id,
        buttons=reply.buttons,
        chart=reply.chart,
    )


def _alert(
    uow: UnitOfWork,
    event: Event,
    recipient: Recipient,
    text: str,
    *,
    wanted: bool,
    unwanted_reason: str,
    chart: dict[str, Any] | None = None,
) -> None:
    """An alert to the recipient's chat; skipped, with the reason, when they do not want it or
    have no chat (a shared ledger's group copy without a linked group says so)."""
    _notify(
        uow,
        event,
        text,
        wanted=wanted,
        unwanted_reason=unwanted_reason,
        chat_id=recipient.settings.telegram_chat_id,
        chart=chart,
        no_chat_reason=recipient.no_chat_reason,
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
    no_chat_reason: str | None = None,
) -> None:
    """Log the event's delivery (skipped with the reason when unwanted, or when there is no
    chat for `no_chat_reason`) and send it."""
    if chat_id is None and no_chat_reason is not None:
        wanted, unwanted_reason = False, no_chat_reason
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
