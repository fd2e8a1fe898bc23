"""Events about one user may be handled out of order (two worker processes): whatever arrives
after user.deleted must not bring the account's settings or history back."""

from __future__ import annotations

import uuid

from flask import Flask

from event_contract import Event, UserDeleted, UserLocaleChanged, UserRegistered
from notify_app import handlers
from notify_app.extensions import db
from notify_app.models import DeletedUser, Delivery, NotificationSettings
from tests.pipeline import limit_exceeded, set_settings
from tests.telegram_standin import TelegramStandIn


def handle(notify: Flask, event: Event) -> None:
    """What the worker's task does with a message from the broker."""
    with notify.app_context():
        handlers.handle_event(event.to_message())


def rows_of(notify: Flask, user_id: uuid.UUID) -> dict[str, int]:
    with notify.app_context():
        return {
            model.__tablename__: db.session.query(model).filter_by(user_id=user_id).count()
            for model in (NotificationSettings, Delivery, DeletedUser)
        }


def test_a_registration_handled_after_the_deletion_recreates_nothing(
    api: Flask, notify: Flask
) -> None:
    user_id = uuid.uuid4()
    registered = Event(user_id=user_id, payload=UserRegistered(email="late@example.com"))
    handle(notify, Event(user_id=user_id, payload=UserDeleted()))
    handle(notify, registered)
    assert rows_of(notify, user_id) == {
        "notification_settings": 0,
        "deliveries": 0,
        "deleted_users": 1,
    }


def test_an_alert_handled_after_the_deletion_sends_and_logs_nothing(
    api: Flask, notify: Flask, telegram: TelegramStandIn
) -> None:
    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id="777")
    alert = limit_exceeded(user_id)
    handle(notify, Event(user_id=user_id, payload=UserDeleted()))
    handle(notify, alert)
    assert rows_of(notify, user_id) == {
        "notification_settings": 0,
        "deliveries": 0,
        "deleted_users": 1,
    }
    assert telegram.calls == []


def test_a_repeated_deletion_is_harmless_and_other_users_are_untouched(
    api: Flask, notify: Flask
) -> None:
    gone, staying = uuid.uuid4(), uuid.uuid4()
    handle(notify, Event(user_id=staying, payload=UserRegistered(email="staying@example.com")))
    handle(notify, Event(user_id=gone, payload=UserDeleted()))
    handle(notify, Event(user_id=gone, payload=UserDeleted()))
    assert rows_of(notify, gone)["deleted_users"] == 1
    assert rows_of(notify, staying) == {
        "notification_settings": 1,
        "deliveries": 0,
        "deleted_users": 0,
    }


def _locale_of(notify: Flask, user_id: uuid.UUID) -> tuple[str | None, str | None]:
    with notify.app_context():
        row = db.session.query(NotificationSettings).filter_by(user_id=user_id).one()
        return row.language, row.currency


def test_the_later_locale_choice_stays_whichever_is_handled_last(api: Flask, notify: Flask) -> None:
    user_id = uuid.uuid4()
    registered = Event(
        user_id=user_id, payload=UserRegistered(email="olga@example.com", language="en")
    )
    earlier = Event(user_id=user_id, payload=UserLocaleChanged(language="ru", currency="EUR"))
    later = Event(user_id=user_id, payload=UserLocaleChanged(language="en", currency=None))
    handle(notify, later)
    handle(notify, earlier)
    handle(notify, registered)
    assert _locale_of(notify, user_id) == ("en", None)

    handle(notify, Event(user_id=user_id, payload=UserLocaleChanged(language="ru", currency="RUB")))
    # A redelivered registration does not undo the change made after it.
    handle(notify, registered)
    assert _locale_of(notify, user_id) == ("ru", "RUB")
