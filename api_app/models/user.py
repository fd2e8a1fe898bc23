from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt, UpdatedAt, UuidPrimaryKey


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"
    # updated_at (onupdate) comes back with the UPDATE itself, not as a later SELECT.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declaration

    id: Mapped[UuidPrimaryKey]
    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    # An IANA zone name: the user's "today" (recurring transactions, month close) is taken there.
    timezone: Mapped[str] = mapped_column(Text, default="UTC", server_default=text("'UTC'"))
    # The language the person chose ("en", "ru"); None: their Telegram's, else English.
    language: Mapped[str | None] = mapped_column(Text)
    # How other members of a shared ledger see this person (None: the email's local part).
    display_name: Mapped[str | None] = mapped_column(Text)
    # The ledger the person's private /spent records into (None, or one they left: personal).
    # Indexed: deleting a ledger sets it to NULL in every row naming it.
    bot_ledger_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ledgers.id", ondelete="SET NULL"), index=True
    )
    # The ISO 4217 code amounts are shown in; None: the language's own.
    currency: Mapped[str | None] = mapped_column(Text)
    # Carried by every access token as its `epoch` claim; raised by logout-all and a password
    # change, which refuses every access token minted before (api_app and notify_app alike).
    token_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class RefreshToken(db.Model):  # type: ignore[name-defined,misc]
    """A refresh token, stored only as the SHA-256 digest of what the client holds."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[UuidPrimaryKey]
    token: Mapped[str] = mapped_column(Text, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When a rotation used the token up (its digest then carries the consumed mark).
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
