"""Events recorded by api_app reach "Telegram" through Redis and a real worker, exactly once.

api_app records an event as its use cases do (a unit of work's record and commit); the fast
path publishes it, the session's `celery worker` runs notify_app's handler, and the Telegram
stand-in shows what was sent. The delivery log in budget_notifications shows what became of
each event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from event_contract import (
    PASSWORD_CHANGED,
    REFRESH_TOKEN_REUSED,
    SIGNED_OUT_EVERYWHERE,
    Event,
    GoalReached,
    UserDeleted,
    UserRegistered,
    UserSessionsRevoked,
)
from tests.conftest import TELEGRAM_TEST_BOT_TOKEN
from tests.eventually import eventually
from tests.pipeline import (
    LoggedDelivery,
    deliveries_of,
    finished_delivery,
    limit_exceeded,
    outbox_row,
    record,
    set_settings,
)
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn

CHAT_ID = "-1001234567890"


def finished_alert_delivery(api: Flask, notify: Flask, user_id: uuid.UUID) -> LoggedDelivery:
    """api_app records a limit alert for the user, whose chat is CHAT_ID: its delivery, once the
    worker has finished with it."""
    set_settings(notify, user_id, chat_id=CHAT_ID)
    event = limit_exceeded(user_id)
    record(api, event)
    return finished_delivery(notify, event.id)


def test_a_crossed_limit_sends_exactly_one_message_with_the_exact_text(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    event = limit_exceeded(user_id, category_name="Food", limit="500.00", spent="520.00")

    record(api, event)

    delivery = finished_delivery(notify, event.id)
    assert delivery.status == "sent"
    assert telegram.messages == [
        {
            "chat_id": CHAT_ID,
            "text": "Budget alert: Food for November 2026 is over its limit:"
            " 520.00 spent of 500.00 (104%).",
            "disable_web_page_preview": True,
        }
    ]
    assert telegram.calls[0].token == TELEGRAM_TEST_BOT_TOKEN
    assert delivery.chat_id == CHAT_ID
    assert delivery.attempts == 1
    # Published by the fast path, right after the commit: the relay is not running here.
    published = outbox_row(api, event.id)
    assert published is not None
    assert published["published_at"] is not None
    assert published["payload"] == event.to_message()


def test_a_redelivered_event_sends_nothing_more(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    from api_app.events.fast_path import PUBLISHER_EXTENSION

    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    event = limit_exceeded(user_id)
    record(api, event)
    assert finished_delivery(notify, event.id).status == "sent"

    # The broker hands out the same message again (a relay crash, a restored task).
    api.extensions[PUBLISHER_EXTENSION].publish(event.to_message())
    api.extensions[PUBLISHER_EXTENSION].publish(event.to_message())
    # A later event proves the worker got past the copies before we count.
    marker = limit_exceeded(user_id, category_name="Marker")
    record(api, marker)
    assert finished_delivery(notify, marker.id).status == "sent"

    assert [m["text"].split(" for ")[0] for m in telegram.messages] == [
        "Budget alert: Food",
        "Budget alert: Marker",
    ]
    [delivery] = deliveries_of(notify, event.id)
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_a_reached_goal_sends_its_message(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id="42")
    event = Event(
        user_id=user_id,
        payload=GoalReached(
            goal_id=uuid.uuid4(),
            name="New bike",
            target_amount=Decimal("1000"),
            current_amount=Decimal("1000.00"),
        ),
    )
    record(api, event)

    assert finished_delivery(notify, event.id).status == "sent"
    assert [(m["chat_id"], m["text"]) for m in telegram.messages] == [
        ("42", 'Goal reached: "New bike" has 1000.00 of 1000.00.')
    ]


def test_flags_off_or_no_chat_id_skip_with_the_reason(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    limits_off, goals_off, no_chat, unknown = (uuid.uuid4() for _ in range(4))
    set_settings(notify, limits_off, chat_id=CHAT_ID, limit_alerts=False)
    set_settings(notify, goals_off, chat_id="-1001234567891", goal_alerts=False)
    set_settings(notify, no_chat, chat_id=None)
    goal = Event(
        user_id=goals_off,
        payload=GoalReached(
            goal_id=uuid.uuid4(),
            name="Car",
            target_amount=Decimal("10.00"),
            current_amount=Decimal("12.00"),
        ),
    )
    events = {
        "limits off": limit_exceeded(limits_off),
        "goals off": goal,
        "no chat id": limit_exceeded(no_chat),
        # No settings yet (user.registered not handled): the defaults, so no chat id either.
        "no settings": limit_exceeded(unknown),
    }
    record(api, *events.values())

    reasons = {name: finished_delivery(notify, e.id) for name, e in events.items()}
    assert {name: (d.status, d.reason) for name, d in reasons.items()} == {
        "limits off": ("skipped", "budget limit notifications are turned off"),
        "goals off": ("skipped", "goal notifications are turned off"),
        "no chat id": ("skipped", "no Telegram chat id is set"),
        "no settings": ("skipped", "no Telegram chat id is set"),
    }
    assert reasons["goals off"].text == 'Goal reached: "Car" has 12.00 of 10.00.'
    assert telegram.calls == []


def test_registration_creates_settings_and_deletion_removes_them_and_the_history(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    from notify_app.extensions import db
    from notify_app.models import Delivery, NotificationSettings

    user_id, other_user = uuid.uuid4(), uuid.uuid4()
    record(api, Event(user_id=user_id, payload=UserRegistered(email="ann@example.com")))
    record(api, Event(user_id=other_user, payload=UserRegistered(email="bob@example.com")))

    def settings_of(owner: uuid.UUID) -> NotificationSettings | None:
        with notify.app_context():
            return db.session.scalar(
                select(NotificationSettings).where(NotificationSettings.user_id == owner)
            )

    settings = eventually(lambda: settings_of(user_id), "the settings row of the new user")
    assert (
        settings.telegram_chat_id,
        settings.notify_limit_exceeded,
        settings.notify_goal_reached,
    ) == (None, True, True)

    # Registration again (a redelivery) leaves the user's choices alone.
    with notify.app_context():
        db.session.execute(
            NotificationSettings.__table__.update()
            .where(NotificationSettings.user_id == user_id)
            .values(telegram_chat_id=CHAT_ID, notify_goal_reached=False)
        )
        db.session.commit()
    again = Event(user_id=user_id, payload=UserRegistered(email="ann@example.com"))
    record(api, again, limit_exceeded(user_id), limit_exceeded(other_user))
    eventually(lambda: len(telegram.messages) == 1, "the alert to the user's chat")
    kept = settings_of(user_id)
    assert kept is not None
    assert (kept.telegram_chat_id, kept.notify_goal_reached) == (CHAT_ID, False)

    def history_size(owner: uuid.UUID) -> int:
        with notify.app_context():
            return len(db.session.scalars(select(Delivery).where(Delivery.user_id == owner)).all())

    eventually(lambda: history_size(other_user) == 1, "the other user's skipped alert")

    record(api, Event(user_id=user_id, payload=UserDeleted()))
    eventually(lambda: settings_of(user_id) is None, "the settings row to go")
    assert history_size(user_id) == 0
    # Nobody else's data goes with it.
    assert settings_of(other_user) is not None
    assert history_size(other_user) == 1


def test_telegram_rate_limit_is_waited_out_then_delivered(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    telegram.enqueue_response(429, retry_after_seconds=1)
    delivery = finished_alert_delivery(api, notify, uuid.uuid4())
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    first, second = telegram.calls
    assert (first.response_status, second.response_status) == (429, 200)
    assert second.received_at - first.received_at >= 1.0
    assert len(telegram.delivered_messages) == 1


def test_telegram_server_errors_are_retried_and_delivered_once(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    telegram.enqueue_response(500)
    telegram.enqueue_response(500)
    delivery = finished_alert_delivery(api, notify, uuid.uuid4())
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, None)
    assert [call.response_status for call in telegram.calls] == [500, 500, 200]
    assert len(telegram.delivered_messages) == 1


def test_telegram_server_errors_forever_fail_after_the_maximum_attempts(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    """TELEGRAM_MAX_ATTEMPTS (4) requests, backed off between them, then failed for good."""
    for _ in range(10):
        telegram.enqueue_response(500)
    delivery = finished_alert_delivery(api, notify, uuid.uuid4())
    assert (delivery.status, delivery.attempts) == ("failed", 4)
    assert delivery.last_error == "Telegram unavailable"
    assert [call.response_status for call in telegram.calls] == [500] * 4


def test_a_blocked_bot_fails_at_once_and_forgets_the_chat(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    from notify_app.extensions import db
    from notify_app.models import NotificationSettings

    user_id = uuid.uuid4()
    telegram.enqueue_response(403)
    delivery = finished_alert_delivery(api, notify, user_id)
    # Our own words: Telegram's text would tell which chat ids use the bot.
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == "blocked by the user"
    assert len(telegram.calls) == 1

    def chat_forgotten() -> bool:
        with notify.app_context():
            settings = db.session.scalar(
                select(NotificationSettings).where(NotificationSettings.user_id == user_id)
            )
            assert settings is not None
            return settings.telegram_chat_id is None

    # The worker forgets the chat in a transaction of its own, after the delivery's outcome.
    eventually(chat_forgotten, "the blocked chat forgotten")

    # The next alert does not even try the blocked chat.
    later = limit_exceeded(user_id, month=12)
    record(api, later)
    assert finished_delivery(notify, later.id).reason == "no Telegram chat id is set"
    assert len(telegram.calls) == 1


def test_chat_not_found_fails_without_retrying(
    api: Flask, notify: Flask, telegram: TelegramStandIn, celery_worker: LaunchedProcess
) -> None:
    telegram.enqueue_response(400)
    delivery = finished_alert_delivery(api, notify, uuid.uuid4())
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == "chat unreachable"
    assert len(telegram.calls) == 1


@pytest.mark.parametrize(
    ("reason", "lead"),
    [
        (SIGNED_OUT_EVERYWHERE, "You signed out everywhere"),
        (PASSWORD_CHANGED, "Your password was changed"),
        (REFRESH_TOKEN_REUSED, "A stolen sign-in was detected"),
    ],
)
def test_sessions_revoked_unlinks_the_chat_voids_codes_and_says_so_once(
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
    reason: str,
    lead: str,
) -> None:
    from api_app.events.fast_path import PUBLISHER_EXTENSION
    from notify_app.extensions import db
    from notify_app.models import NotificationSettings, TelegramLinkCode

    user_id, bystander = uuid.uuid4(), uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    set_settings(notify, bystander, chat_id="777")
    with notify.app_context():
        for owner, digest in ((user_id, "unused"), (bystander, "bystander's")):
            db.session.add(
                TelegramLinkCode(
                    user_id=owner,
                    code_digest=digest,
                    expires_at=datetime.now(UTC) + timedelta(hours=1),
                )
            )
        db.session.commit()
    event = Event(user_id=user_id, payload=UserSessionsRevoked(epoch=2, reason=reason))
    record(api, event)

    delivery = finished_delivery(notify, event.id)
    assert (delivery.status, delivery.chat_id) == ("sent", CHAT_ID)
    assert delivery.text.startswith(lead)
    assert "this chat is unlinked" in delivery.text
    assert "open the Telegram link from the app" in delivery.text

    def chat_and_usable_codes(owner: uuid.UUID) -> tuple[str | None, int]:
        with notify.app_context():
            chat = db.session.scalar(
                select(NotificationSettings.telegram_chat_id).where(
                    NotificationSettings.user_id == owner
                )
            )
            codes = db.session.scalars(
                select(TelegramLinkCode).where(
                    TelegramLinkCode.user_id == owner, TelegramLinkCode.used_at.is_(None)
                )
            ).all()
            return chat, len(codes)

    assert chat_and_usable_codes(user_id) == (None, 0)
    assert chat_and_usable_codes(bystander) == ("777", 1)

    # Linked again, then the old event comes back: it unlinks nothing and says nothing again.
    with notify.app_context():
        db.session.execute(
            NotificationSettings.__table__.update()
            .where(NotificationSettings.user_id == user_id)
            .values(telegram_chat_id=CHAT_ID)
        )
        db.session.commit()
    api.extensions[PUBLISHER_EXTENSION].publish(event.to_message())
    marker = limit_exceeded(user_id, category_name="Marker")
    record(api, marker)
    assert finished_delivery(notify, marker.id).status == "sent"
    assert len(telegram.messages) == 2
    assert chat_and_usable_codes(user_id) == (CHAT_ID, 0)
