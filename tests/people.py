"""What people's requests led to: the deliveries notify_app logged for them, the events api_app
recorded for them (the people themselves are `tests.users.SignedInUser`s)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.eventually import eventually


@dataclass(frozen=True)
class Outcome:
    """What notify_app did with one event for its user, as the delivery log records it."""

    event_type: str
    status: str
    reason: str | None
    chat_id: str | None
    text: str


def outcomes(notify: Flask, user_id: uuid.UUID, count: int) -> list[Outcome]:
    """The user's `count` deliveries once none is pending, oldest first; fails if more come."""
    from notify_app.extensions import db
    from notify_app.models import Delivery

    def finished() -> list[Outcome] | None:
        with notify.app_context():
            rows = db.session.scalars(
                select(Delivery)
                .where(Delivery.user_id == user_id)
                .order_by(Delivery.created_at, Delivery.id)
            ).all()
        assert len(rows) <= count, [(row.event_type, row.text) for row in rows]
        if len(rows) < count or any(row.status == "pending" for row in rows):
            return None
        return [
            Outcome(row.event_type, row.status, row.reason, row.chat_id, row.text) for row in rows
        ]

    return eventually(finished, f"{count} finished deliveries to user {user_id}")


def outbox_payloads(api: Flask, user_id: uuid.UUID, event_type: str) -> list[dict[str, Any]]:
    """The payloads of the user's events of `event_type` in api_app's outbox."""
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    with api.app_context():
        rows = db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == event_type)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        ).all()
        return [row.payload["payload"] for row in rows if row.payload["user_id"] == str(user_id)]
