"""Helpers for the tests of the event pipeline: api_app's outbox -> Redis -> worker -> Telegram.

The transaction and goal endpoints emit their events through their unit of work's `record`
inside their own transaction; `record` does exactly that, so these tests drive the real
pipeline without depending on those endpoints.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import redis
from flask import Flask
from sqlalchemy import select

from event_contract import API_JOBS_QUEUE, NOTIFICATIONS_QUEUE, BudgetLimitExceeded, Event
from tests.eventually import OUTCOME_WAIT_SECONDS, eventually


def wait_until_broker_idle(
    redis_url: str,
    *,
    queues: Iterable[str] = (NOTIFICATIONS_QUEUE, API_JOBS_QUEUE),
    timeout: float = OUTCOME_WAIT_SECONDS,
) -> None:
    """Until the broker holds no task for `queues`, neither waiting nor taken.

    With late acknowledgement a task leaves its queue's `unacked` hash only after it ran (what
    it sent on included), and the hash is shared by every consumer of the queue: once
    nothing waits and nothing is taken, nothing more comes from the tasks sent so far. Seen
    idle twice in a row, since a task moves from its queue into the hash in two steps.

    `queues`: the ones some running worker consumes. A task on a queue nobody consumes (beat's
    hourly api job where no api worker runs) never runs, so it cannot send anything: waiting
    for it would only wait out the timeout. Fails naming the tasks that are still there.
    """
    broker = redis.Redis.from_url(redis_url)
    queues = tuple(queues)

    def leftovers() -> list[str]:
        """The task names (and ids) still queued or taken, queued ones first."""
        messages: list[bytes] = []
        for queue in queues:
            for key in broker.scan_iter(f"{queue}*"):
                messages += broker.lrange(key, 0, -1)
            messages += broker.hvals(f"unacked.{queue}")
        return [_task_of(message) for message in messages]

    try:
        eventually(
            lambda: not leftovers() and not leftovers(),
            "every queued task to be finished",
            timeout=timeout,
            pause=0.05,
        )
    except AssertionError as error:
        raise AssertionError(f"{error}; still in the broker: {leftovers()}") from None


def _task_of(message: bytes) -> str:
    """`name[id]` of a Kombu message as Redis holds it (a taken one is `[message, ...]`)."""
    body = json.loads(message)
    if isinstance(body, list):
        body = body[0]
    headers = body.get("headers", {})
    return f"{headers.get('task')}[{headers.get('id')}] eta={headers.get('eta')}"


def record(api: Flask, *events: Event) -> None:
    """What a use case of api_app does: record the events in its unit of work, which commits."""
    from api_app.unit_of_work import UnitOfWork

    with api.app_context(), UnitOfWork() as uow:
        for event in events:
            uow.record(event)


def limit_exceeded(
    user_id: uuid.UUID,
    *,
    category_name: str = "Food",
    year: int = 2026,
    month: int = 11,
    limit: str = "500.00",
    spent: str = "520.00",
) -> Event:
    return Event(
        user_id=user_id,
        payload=BudgetLimitExceeded(
            budget_id=uuid.uuid4(),
            category_id=uuid.uuid4(),
            category_name=category_name,
            year=year,
            month=month,
            limit=Decimal(limit),
            spent=Decimal(spent),
            transaction_id=uuid.uuid4(),
        ),
    )


def set_settings(
    notify: Flask,
    user_id: uuid.UUID,
    *,
    chat_id: str | None,
    limit_alerts: bool = True,
    goal_alerts: bool = True,
) -> None:
    from notify_app.extensions import db
    from notify_app.models import NotificationSettings

    with notify.app_context():
        db.session.add(
            NotificationSettings(
                user_id=user_id,
                telegram_chat_id=chat_id,
                notify_limit_exceeded=limit_alerts,
                notify_goal_reached=goal_alerts,
            )
        )
        db.session.commit()


@dataclass(frozen=True)
class LoggedDelivery:
    event_id: uuid.UUID
    status: str
    reason: str | None
    chat_id: str | None
    text: str
    attempts: int
    last_error: str | None


def deliveries_of(notify: Flask, event_id: uuid.UUID) -> list[LoggedDelivery]:
    from notify_app.extensions import db
    from notify_app.models import Delivery

    with notify.app_context():
        rows = db.session.scalars(select(Delivery).where(Delivery.event_id == event_id)).all()
        return [
            LoggedDelivery(
                row.event_id, row.status, row.reason, row.chat_id, row.text, row.attempts,
                row.last_error,
            )
            for row in rows
        ]  # fmt: skip


def finished_delivery(notify: Flask, event_id: uuid.UUID, **wait: float) -> LoggedDelivery:
    """The event's one delivery, once it is no longer pending."""

    def finished() -> LoggedDelivery | None:
        logged = deliveries_of(notify, event_id)
        assert len(logged) <= 1, logged
        return logged[0] if logged and logged[0].status != "pending" else None

    return eventually(finished, f"a finished delivery of event {event_id}", **wait)


def outbox_row(api: Flask, event_id: uuid.UUID) -> dict[str, object] | None:
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    with api.app_context():
        row = db.session.get(OutboxEvent, event_id)
        if row is None:
            return None
        return {
            "payload": row.payload,
            "published_at": row.published_at,
            "attempts": row.attempts,
            "last_error": row.last_error,
        }
