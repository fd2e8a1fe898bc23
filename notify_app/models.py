"""The budget_notifications tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Text, Uuid, func, text, true
from sqlalchemy.orm import Mapped, mapped_column

from notify_app.extensions import db


class NotificationSettings(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "notification_settings"

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    # The api's user id; no foreign key can cross databases, the user.* events keep it in step.
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(Text)
    notify_limit_exceeded: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    notify_goal_reached: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class TelegramLinkCode(db.Model):  # type: ignore[name-defined,misc]
    """A one-time code that links a Telegram chat to a user through the bot's /start deep link.

    Only the SHA-256 digest is stored: whoever reads the table cannot link a chat with it.
    """

    __tablename__ = "telegram_link_codes"

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    code_digest: Mapped[str] = mapped_column(Text, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
