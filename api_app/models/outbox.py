from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt


class OutboxEvent(db.Model):  # type: ignore[name-defined,misc]
    """An event waiting to be (or already) published to the broker: the transactional outbox.

    Written in the same transaction as the change it describes, so an event exists exactly when
    its change was committed; the fast path and the relay publish it afterwards.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        # The relay only ever looks for unpublished rows, oldest first; published rows wait
        # for the purge and must not slow that down.
        Index(
            "outbox_events_unpublished_idx",
            "created_at",
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    # The event's own id: a redelivered message is recognised downstream by it.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    type: Mapped[str] = mapped_column(Text)
    # The whole message as it crosses the broker (event_contract.Event.to_message()).
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
