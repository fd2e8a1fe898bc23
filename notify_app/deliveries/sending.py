"""Open a delivery, lease it, send it: the only place a message can leave twice is the HTTP call.

The delivery log (`deliveries`) is the source of truth; Celery tasks are only hints to look at it.

1. `notify` decides what becomes of a notification (sent, or skipped and why) and commits
   the row, `pending`, due now and leased to this worker if it is to be sent. A redelivered
   event finds its row there (unique event id and channel) and opens nothing new.
2. `deliver` takes a lease on a due pending row (one UPDATE, committed: `lease_expires_at`),
   makes ONE sendMessage request, and records the outcome under that lease: `sent`, `failed`,
   or, for a 429 or a 5xx/network error with budget left, still `pending` with a new `due_at`
   (retry_after, or a backoff) and no lease, re-enqueued with that countdown. No task sleeps,
   so none runs for long and the broker's visibility timeout can be short.
3. `sweep_overdue` (Celery beat, every few seconds) re-enqueues pending rows that nobody is
   working on: a lease that ran out (the worker died mid-send), or a due time long past with no
   lease (the worker died before its send, or between a wait and its countdown task).

A worker that dies during the HTTP call leaves the row pending with its lease: once the lease
runs out the sweep has it sent again. If Telegram had accepted the first request, the message
arrives twice: Telegram has no idempotency key. That window (the request and the commit of its
outcome) is the only one; everywhere else a redelivery or a second copy of a task sends nothing.

A database outage right after the request does not widen it, however long it lasts: the worker
records the outcome again until PostgreSQL is back, and a lease runs out no sooner than
DELIVERY_LEASE_SECONDS after the server started (`_lease_ran_out`), so a lease that expired by the
clock while the server was down is still this worker's for a whole lease once it is up.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Update, Uuid, bindparam, func, or_, select, text, update
from sqlalchemy.exc import InterfaceError, OperationalError

from notify_app.charts import chart_png
from notify_app.deliveries.metrics import deliveries_finished
from notify_app.deliveries.queue import QueueUnavailableError, send_delivery
from notify_app.messages import telegram_length
from notify_app.models import Delivery, Ledger, NotificationSettings
from notify_app.telegram import (
    NOT_CONFIGURED_REASON,
    Attempt,
    RateLimiter,
    SendResult,
    TelegramClient,
)
from notify_app.unit_of_work import UnitOfWork

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
    # A bot reply's inline keyboard; a chart to send as a photo with `text` as its caption.
    buttons: list[Any] | None = None
    chart: dict[str, Any] | None = None


def notify(
    uow: UnitOfWork,
    notification: Notification,
    *,
    wanted: bool,
    unwanted_reason: str,
    chat_id: str | None,
) -> str | None:
    """Open the delivery and, if it is to be sent, send it: the handlers' one call.

    `wanted` is the user's flag for this kind of notification. Commits the delivery (and what
    `uow` did before) ahead of the request. A pending row is born leased to this worker; if it
    never records an outcome, the sweep has the row sent once that lease ran out.

    Returns the delivery's status after this worker's part (None: nothing to send here).
    """
    opened = _open(
        uow, notification, wanted=wanted, unwanted_reason=unwanted_reason, chat_id=chat_id
    )
    if opened is None:
        return None
    if opened.lease is None:
        # An earlier copy of the event opened it: send it if nobody else holds it.
        return _deliver(uow, opened.id)
    return _send(uow, opened.lease)


@dataclass(frozen=True)
class _Opened:
    id: uuid.UUID
    # Set when this call created the row: it was born leased to us.
    lease: _Lease | None


def _open(
    uow: UnitOfWork,
    notification: Notification,
    *,
    wanted: bool,
    unwanted_reason: str,
    chat_id: str | None,
) -> _Opened | None:
    if not wanted:
        status, reason = "skipped", unwanted_reason
    elif not chat_id:
        status, reason = "skipped", NO_CHAT_ID_REASON
    elif not telegram_client().configured:
        status, reason = "skipped", NOT_CONFIGURED_REASON
    else:
        status, reason = "pending", None
    row = uow.session.execute(
        _OPEN_DELIVERY,
        {
            "event_id": notification.event_id,
            "event_type": notification.event_type,
            "channel": TELEGRAM_CHANNEL,
            "user_id": notification.user_id,
            "status": status,
            "reason": reason,
            "chat_id": chat_id,
            "text": notification.text,
            "buttons": notification.buttons,
            "chart": notification.chart,
            "lease_seconds": current_app.config["DELIVERY_LEASE_SECONDS"],
        },
    ).one_or_none()
    if row is not None:
        uow.commit()
        if row.status != "pending":
            return None
        return _Opened(row.id, _Lease(*row[: len(_LEASE_COLUMNS)]))
    # An earlier copy of the event made the row: its status decides.
    existing = uow.session.execute(
        select(Delivery.id, Delivery.status).where(
            Delivery.event_id == notification.event_id, Delivery.channel == TELEGRAM_CHANNEL
        )
    ).one()
    uow.commit()
    return _Opened(existing.id, None) if existing.status == "pending" else None


@dataclass(frozen=True)
class _Lease:
    """A pending delivery this worker may send until `expires_at`."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    user_id: uuid.UUID
    chat_id: str
    text: str
    transient_failures: int
    rate_limit_waits: int
    expires_at: datetime
    buttons: list[Any] | None
    chart: dict[str, Any] | None


_DELIVERIES = Delivery.__table__
_LEASE_COLUMNS = tuple(
    _DELIVERIES.c[name]
    for name in (
        "id",
        "event_id",
        "event_type",
        "user_id",
        "chat_id",
        "text",
        "transient_failures",
        "rate_limit_waits",
        "lease_expires_at",
        "buttons",
        "chart",
    )
)

# Every event opens a delivery with this statement. SQLAlchemy never caches PostgreSQL's
# INSERT ... ON CONFLICT (its Insert sets inherit_cache = False), so built as a construct it was
# compiled again for every event, a third of the worker's time per event: spelled in SQL once.
# The row and its lease in one statement: one commit less per delivery.
_OPEN_DELIVERY = (
    text(
        """
        INSERT INTO deliveries (event_id, event_type, channel, user_id, status, reason, chat_id,
                                text, buttons, chart, lease_expires_at)
        VALUES (:event_id, :event_type, :channel, :user_id, :status, :reason, :chat_id, :text,
                :buttons, :chart,
                CASE WHEN :status = 'pending'
                     THEN now() + make_interval(secs => :lease_seconds) END)
        ON CONFLICT (event_id, channel) DO NOTHING
        RETURNING id, event_id, event_type, user_id, chat_id, text, transient_failures,
                  rate_limit_waits, lease_expires_at, buttons, chart, status
        """
    )
    .bindparams(
        bindparam("event_id", type_=Uuid),
        bindparam("user_id", type_=Uuid),
        bindparam("buttons", type_=_DELIVERIES.c.buttons.type),
        bindparam("chart", type_=_DELIVERIES.c.chart.type),
    )
    .columns(*_LEASE_COLUMNS, _DELIVERIES.c.status)
)

# Recording an outcome is tried again this often through a database outage, until it is back.
OUTCOME_RECORDING_PAUSE_SECONDS = 0.5


def deliver(delivery_id: uuid.UUID) -> str | None:
    """Make one send of a due pending delivery and record it; anything else is a no-op.

    Returns the delivery's status afterwards (`pending` when a retry was scheduled), or None
    when there was nothing to send (done already, another worker holds it, not due yet).
    """
    with UnitOfWork() as uow:
        return _deliver(uow, delivery_id)


def _deliver(uow: UnitOfWork, delivery_id: uuid.UUID) -> str | None:
    lease = _take_lease(uow, delivery_id)
    if lease is None:
        _nudge_if_early(uow, delivery_id)
        return None
    return _send(uow, lease)


def _send(uow: UnitOfWork, lease: _Lease) -> str | None:
    attempt = _attempt(lease)
    status = _record_outcome(uow, lease, attempt)
    if status is None:
        logger.warning(
            "delivery %s: its lease ran out and another worker took it over; this send's"
            " outcome (%s) is not recorded",
            lease.id,
            attempt.kind,
        )
        return None
    if status == "pending":
        return status
    logger.info(
        "delivery %s of event %s: %s after %d attempt(s)%s",
        lease.id,
        lease.event_id,
        status,
        lease.transient_failures + lease.rate_limit_waits + attempt.requests,
        f" ({attempt.error})" if attempt.error else "",
        extra={"user_id": str(lease.user_id)},
    )
    deliveries_finished.labels(event_type=lease.event_type, status=status).inc()
    return status


# Telegram's limit for a photo's caption.
CAPTION_MAX_LENGTH = 1024


def _attempt(lease: _Lease) -> Attempt:
    """One request: the text (with its buttons), or the chart with the text as its caption."""
    client = telegram_client()
    if lease.chart is None:
        return client.attempt(lease.chat_id, lease.text, buttons=lease.buttons)
    photo = chart_png(lease.chart)
    return client.attempt(lease.chat_id, caption(lease.text), buttons=lease.buttons, photo=photo)


def caption(text: str) -> str:
    """`text` as a caption: whole lines up to Telegram's limit, then an ellipsis line.

    Telegram counts UTF-16 code units (an emoji in a category's name takes two), not characters.
    """
    if telegram_length(text) <= CAPTION_MAX_LENGTH:
        return text
    kept: list[str] = []
    room = CAPTION_MAX_LENGTH - telegram_length("\n…")
    for line in text.split("\n"):
        room -= telegram_length(line) + (1 if kept else 0)
        if room < 0:
            break
        kept.append(line)
    if not kept:  # one line longer than the whole caption: as much of it as fits
        room = CAPTION_MAX_LENGTH - telegram_length("\n…")
        line = text[:room]  # at least one code unit per character
        while telegram_length(line) > room:
            line = line[:-1]
        kept.append(line)
    return "\n".join([*kept, "…"])


def _lease_ran_out(lease_for: timedelta) -> ColumnElement[bool]:
    """Whether a delivery's lease ran out: by the clock, and a whole lease after the server
    started. A worker whose request ended while PostgreSQL was down is alive and recording its
    outcome again (`_record_outcome`); when the server is back, that lease may be past by the
    clock, and taking it over then would send the message a second time. A lease of a worker
    that died in the meantime is taken over a lease later than it would have been."""
    now = func.now()
    return (Delivery.lease_expires_at <= now) & (func.pg_postmaster_start_time() <= now - lease_for)


def _take_lease(uow: UnitOfWork, delivery_id: uuid.UUID) -> _Lease | None:
    lease_for = timedelta(seconds=current_app.config["DELIVERY_LEASE_SECONDS"])
    now = func.now()
    row = uow.session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == "pending",
            Delivery.chat_id.is_not(None),
            Delivery.due_at <= now,
            or_(Delivery.lease_expires_at.is_(None), _lease_ran_out(lease_for)),
        )
        .values(lease_expires_at=now + lease_for)
        .returning(*_LEASE_COLUMNS)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    uow.commit()
    if row is None:
        return None
    return _Lease(*row)


def _nudge_if_early(uow: UnitOfWork, delivery_id: uuid.UUID) -> None:
    """A copy of the task that came before the delivery's due time: come back then."""
    row = uow.session.execute(
        select(Delivery.due_at, func.now()).where(
            Delivery.id == delivery_id,
            Delivery.status == "pending",
            Delivery.lease_expires_at.is_(None),
        )
    ).one_or_none()
    # Read only: ended before the broker is asked anything.
    uow.commit()
    if row is not None and row[0] > row[1]:
        _enqueue_later(delivery_id, (row[0] - row[1]).total_seconds())


def _record_outcome(uow: UnitOfWork, lease: _Lease, attempt: Attempt) -> str | None:
    """Record the attempt while this worker still holds the lease (or nobody took it over).

    Retries through a database outage until the database is back, however long it is away:
    the request was made, and an outcome left unrecorded would have the message sent again.
    Nobody takes the lease over meanwhile: not while the server is down, nor for a lease after
    it started again (`_lease_ran_out`).
    """
    wait = _wait_of(lease, attempt)
    retries = 0
    while True:
        try:
            status = _write_outcome(uow, lease, attempt, wait)
            break
        except (OperationalError, InterfaceError):
            if retries == 0:
                logger.warning(
                    "delivery %s: database unavailable, recording its outcome until it is back",
                    lease.id,
                )
            retries += 1
            time.sleep(OUTCOME_RECORDING_PAUSE_SECONDS)
    if retries:
        logger.info("delivery %s: database back at try %d", lease.id, retries + 1)
    if status == "pending":
        _enqueue_later(lease.id, wait)
    return status


def _wait_of(lease: _Lease, attempt: Attempt) -> float:
    """How long before the next request, if this attempt asks for one."""
    if attempt.kind == "rate_limited":
        return attempt.retry_after_seconds
    if attempt.kind == "transient":
        return telegram_client().backoff_seconds(
            lease.chat_id, lease.transient_failures + 1, attempt.error
        )
    return 0.0


def _write_outcome(uow: UnitOfWork, lease: _Lease, attempt: Attempt, wait: float) -> str | None:
    client = telegram_client()
    transient_failures = lease.transient_failures + (attempt.kind == "transient")
    rate_limit_waits = lease.rate_limit_waits + (attempt.kind == "rate_limited")
    status: str
    if attempt.kind == "sent":
        status = "sent"
    elif attempt.kind == "skipped":
        status = "skipped"
    elif (
        attempt.kind == "failed"
        or (attempt.kind == "transient" and transient_failures >= client.max_attempts)
        or (attempt.kind == "rate_limited" and rate_limit_waits > client.max_rate_limit_waits)
    ):
        status = "failed"
    else:
        status = "pending"
    failure = None if status == "sent" else failure_words(attempt.result(attempt.requests))
    # One statement, committed as it runs: one round trip.
    updated = uow.autocommit(
        _outcome_update(status),
        {
            "delivery_id": lease.id,
            "leased_until": lease.expires_at,
            "requests": attempt.requests,
            "transient_failures_now": transient_failures,
            "rate_limit_waits_now": rate_limit_waits,
            "skip_reason": attempt.error,
            "failure": failure,
            "wait": timedelta(seconds=wait),
        },
    )
    if not updated:
        return None
    if status == "failed" and attempt.http_status == 403:
        forget_blocked_chat(uow, lease.user_id, lease.chat_id)
        uow.commit()
    return status


@cache
def _outcome_update(status: str) -> Update:
    """The UPDATE that records an attempt ending in `status`: built once per status and
    reused (the outcome of every event is written with one), its values bound per call."""
    columns = _DELIVERIES.c
    values: dict[str, Any] = {
        "status": status,
        "attempts": columns.attempts + bindparam("requests"),
        "transient_failures": bindparam("transient_failures_now"),
        "rate_limit_waits": bindparam("rate_limit_waits_now"),
        "lease_expires_at": None,
    }
    if status == "sent":
        values.update(sent_at=func.now(), last_error=None)
    elif status == "skipped":
        values.update(reason=bindparam("skip_reason"))
    elif status == "failed":
        values.update(last_error=bindparam("failure"))
    else:
        values.update(last_error=bindparam("failure"), due_at=func.now() + bindparam("wait"))
    return (
        update(_DELIVERIES)
        .where(
            columns.id == bindparam("delivery_id"),
            columns.status == "pending",
            # Still ours, or ours ran out and nobody took it over: either way this is the
            # latest word on the delivery.
            or_(
                columns.lease_expires_at == bindparam("leased_until"),
                columns.lease_expires_at.is_(None),
                columns.lease_expires_at <= func.now(),
            ),
        )
        .values(values)
        .returning(columns.id)
    )


def _enqueue_later(delivery_id: uuid.UUID, wait_seconds: float) -> None:
    """Hand the delivery to a worker again in `wait_seconds` (at most the countdown cap: a
    longer wait hops, the early copy re-enqueueing itself for the rest)."""
    countdown = min(max(wait_seconds, 0.0), current_app.config["DELIVERY_MAX_COUNTDOWN_SECONDS"])
    try:
        send_delivery(delivery_id, countdown=countdown, again=True)
    except QueueUnavailableError as error:
        # The row says when it is due; the sweep hands it out once the broker is back.
        logger.warning("delivery %s: not re-enqueued (%s); the sweep will", delivery_id, error)


# Rows handed out per sweep; a larger backlog takes several sweeps.
SWEEP_BATCH_SIZE = 500


def sweep_overdue() -> int:
    """Re-enqueue pending deliveries that nobody is working on; returns how many.

    Overdue means: due more than DELIVERY_SWEEP_GRACE_SECONDS ago and not leased (the task that
    should have sent it was lost), or leased by a worker whose lease ran out (it died). Their
    due time is moved to now as they are handed out, so a sweep running a moment later (another
    beat replica, the next tick) leaves them to the task it just enqueued.
    """
    grace = timedelta(seconds=current_app.config["DELIVERY_SWEEP_GRACE_SECONDS"])
    lease_for = timedelta(seconds=current_app.config["DELIVERY_LEASE_SECONDS"])
    now = func.now()
    overdue = (
        select(Delivery.id)
        .where(
            Delivery.status == "pending",
            Delivery.chat_id.is_not(None),
            or_(
                _lease_ran_out(lease_for),
                (Delivery.lease_expires_at.is_(None) & (Delivery.due_at <= now - grace)),
            ),
        )
        .order_by(Delivery.due_at)
        .limit(SWEEP_BATCH_SIZE)
        .with_for_update(skip_locked=True)
    )
    with UnitOfWork() as uow:
        ids = list(
            uow.session.scalars(
                update(Delivery)
                .where(Delivery.id.in_(overdue.scalar_subquery()))
                .values(due_at=now, lease_expires_at=None)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
        )
    for delivery_id in ids:
        try:
            send_delivery(delivery_id, again=True)
        except QueueUnavailableError as error:
            # Still overdue in the log: the next sweep after the grace tries again.
            logger.warning("sweep: the broker is unavailable (%s)", error)
            break
    if ids:
        logger.info("sweep: %d overdue deliveries handed to the workers again", len(ids))
    return len(ids)


def failure_words(result: SendResult) -> str:
    """Why a message was not sent, as the user's history shows it."""
    if result.blocked_by_user:
        return BLOCKED_BY_USER
    if result.http_status == 400:  # chat not found, and the like: about the chat id
        return CHAT_UNREACHABLE
    return TELEGRAM_UNAVAILABLE


def forget_blocked_chat(uow: UnitOfWork, user_id: uuid.UUID, chat_id: str) -> None:
    """The user blocked the bot: stop sending to that chat until they set one again. A
    ledger's group that answers 403 removed the bot (its my_chat_member update may never
    have come, to a webhook registered without it): it is unlinked likewise."""
    uow.session.execute(
        update(NotificationSettings)
        .where(
            NotificationSettings.user_id == user_id,
            # A chat id changed since this delivery was opened is the user's new choice.
            NotificationSettings.telegram_chat_id == chat_id,
        )
        .values(telegram_chat_id=None)
    )
    uow.session.execute(
        update(Ledger)
        .where(Ledger.group_chat_id == chat_id)
        .values(group_chat_id=None, linked_by=None, linked_at=None, updated_at=func.now())
    )
