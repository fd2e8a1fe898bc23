"""Database round trips of one event in the notification drain (bench/README.md, "The
notification drain across the revisions"): BEGIN, event_recipient() (the user's lock, tombstone
and settings), the delivery's INSERT ... RETURNING, COMMIT, then after the sendMessage the
outcome's UPDATE, autocommitted on its own pool. A change that makes one more fails here and
must say why in both places.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event

from tests.pipeline import deliveries_of, limit_exceeded, set_settings
from tests.telegram_standin import TelegramStandIn

CHAT_ID = "4711"


@contextmanager
def round_trips(session_engine: Engine, autocommit_engine: Engine) -> Iterator[list[str]]:
    """What reached the server: each statement, and the session engine's BEGIN and COMMIT or
    ROLLBACK (psycopg2 sends BEGIN before a transaction's first statement; on the autocommit
    engine there is none)."""
    sent: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        sent.append(" ".join(sql.split())[:60])

    listeners: list[tuple[Any, str, Callable[..., None]]] = [
        (session_engine, "begin", lambda _conn: sent.append("BEGIN")),
        (session_engine, "commit", lambda _conn: sent.append("COMMIT")),
        (session_engine, "rollback", lambda _conn: sent.append("ROLLBACK")),
        (session_engine, "before_cursor_execute", statement),
        (autocommit_engine, "before_cursor_execute", statement),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield sent
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


def test_an_event_sent_costs_five_round_trips(notify: Flask, telegram: TelegramStandIn) -> None:
    from notify_app import handlers
    from notify_app.extensions import autocommit_engine, db

    user_id = uuid.uuid4()
    set_settings(notify, user_id, chat_id=CHAT_ID)
    alert = limit_exceeded(user_id)
    with notify.app_context():
        engines = db.engine, autocommit_engine()
    with round_trips(*engines) as sent, notify.app_context():
        handlers.handle_event(alert.to_message())

    assert [delivery.status for delivery in deliveries_of(notify, alert.id)] == ["sent"]
    assert len(telegram.delivered_messages) == 1
    expected = [
        "BEGIN",
        "SELECT * FROM event_recipient(",
        "INSERT INTO deliveries (",
        "COMMIT",
        "UPDATE deliveries SET ",
    ]
    assert len(sent) == len(expected), sent
    assert all(trip.startswith(start) for trip, start in zip(sent, expected, strict=True)), sent
