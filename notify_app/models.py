"""The budget_notifications tables: settings per user, the delivery log, and the copy of each
ledger's members (households)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from notify_app.extensions import db
from notify_app.settings.defaults import DEFAULTS


class NotificationSettings(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "notification_settings"
    __table_args__ = (
        CheckConstraint("warn_at_percent BETWEEN 1 AND 99", name="warn_at_percent"),
        # One account per chat: a chat linked elsewhere is unlinked here first (the bot's /start).
        UniqueConstraint("telegram_chat_id", name="notification_settings_telegram_chat_id_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    # The api's user id; no foreign key can cross databases, the user.* events keep it in step.
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(Text)
    # The server defaults repeat settings.defaults for rows written with SQL alone.
    notify_limit_exceeded: Mapped[bool] = mapped_column(
        Boolean, default=DEFAULTS.notify_limit_exceeded, server_default=true()
    )
    notify_goal_reached: Mapped[bool] = mapped_column(
        Boolean, default=DEFAULTS.notify_goal_reached, server_default=true()
    )
    # The warning threshold (percent of a limit) to be told about; None: no warnings.
    warn_at_percent: Mapped[int | None] = mapped_column(
        Integer, default=DEFAULTS.warn_at_percent, server_default=str(DEFAULTS.warn_at_percent)
    )
    notify_monthly_digest: Mapped[bool] = mapped_column(
        Boolean, default=DEFAULTS.notify_monthly_digest, server_default=false()
    )
    # A shared ledger's digest adds who owes whom and how to settle up (issue 24).
    digest_balances: Mapped[bool] = mapped_column(
        Boolean, default=DEFAULTS.digest_balances, server_default=true()
    )
    # The account's email, partly masked (user.registered): the bot's "linked" reply names the
    # account a chat was linked to, so a link opened by the wrong person is noticed.
    email_hint: Mapped[str | None] = mapped_column(Text)
    # The language alerts are written in: the person's own choice (user.* events), else the
    # Telegram language of whoever linked the chat; neither known: English.
    language: Mapped[str | None] = mapped_column(Text)
    telegram_language: Mapped[str | None] = mapped_column(Text)
    # The ISO 4217 code of the amounts; None: the language's own.
    currency: Mapped[str | None] = mapped_column(Text)
    # When the person chose `language` (the event's occurred_at): a late older choice loses.
    locale_chosen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
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
    # Set for a group's link (households): the ledger the group is linked to; None: the code
    # links the private chat that opens it to `user_id`'s alerts.
    ledger_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    code_digest: Mapped[str] = mapped_column(Text, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Delivery(db.Model):  # type: ignore[name-defined,misc]
    """The delivery log: one row per event and channel, whatever became of it.

    The unique (event_id, channel) pair is what makes a redelivered event a no-op: the row is
    claimed before anything is sent, and a row that is no longer `pending` is never sent again.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel"),
        Index(None, "user_id", "created_at"),
        # The sweep's question, "which pending deliveries are overdue?", reads only these rows.
        Index(
            "deliveries_pending_due_at_idx", "due_at", postgresql_where=text("status = 'pending'")
        ),
        CheckConstraint("status IN ('pending', 'sent', 'skipped', 'failed')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(Text)
    # Why a delivery was skipped (flag off, no chat id, no bot token).
    reason: Mapped[str | None] = mapped_column(Text)
    chat_id: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    # HTTP requests made to Telegram for it, as far as their outcome was recorded.
    # server_default spelled as a string: `text` is a column name in this class body.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # Of those requests, the 5xx/network failures and the 429 waits so far (each has a budget).
    transient_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rate_limit_waits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When a pending delivery may be tried (next): now, or after a 429 wait or a backoff.
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set while a worker is sending it; a pending row whose lease ran out lost its worker, and
    # the sweep hands it to another one (see notify_app/deliveries/sending.py).
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Inline keyboard of a bot reply: rows of {"text", "data"} buttons.
    buttons: Mapped[list[Any] | None] = mapped_column(JSONB(none_as_null=True))
    # A bar chart to send as a photo, with `text` as its caption: {"title", "bars": [{"name",
    # "spent", "limit"}]} (notify_app/charts.py draws it).
    chart: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))


class DeletedUser(db.Model):  # type: ignore[name-defined,misc]
    """A tombstone per deleted account: events about it that arrive late (two workers may
    handle a user's events out of order) must not bring back settings or history."""

    __tablename__ = "deleted_users"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TokenEpoch(db.Model):  # type: ignore[name-defined,misc]
    """The api's token epoch of a user (user.sessions_revoked): access tokens minted with an
    older epoch were issued before a logout-all or a password change and are refused."""

    __tablename__ = "token_epochs"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Ledger(db.Model):  # type: ignore[name-defined,misc]
    """notify_app's copy of a ledger (households): its name, kind and members as the latest
    ledger.membership_changed snapshot says (`version`: the highest applied; an older snapshot
    arriving late changes nothing), and the group chat linked to it.

    A deleted ledger (ledger.deleted) keeps its row, without members or group, as a tombstone:
    a snapshot arriving after the deletion must not bring it back.
    """

    __tablename__ = "ledgers"
    __table_args__ = (
        # One ledger per group: a group linked elsewhere is refused (send /stop there first).
        UniqueConstraint("group_chat_id", name="ledgers_group_chat_id_key"),
        CheckConstraint("kind IN ('personal', 'shared')", name="kind"),
    )

    # The api's ledger id; no foreign key can cross databases, the ledger.* events keep it.
    ledger_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger)
    group_chat_id: Mapped[str | None] = mapped_column(Text)
    # The group's alerts are written in the language (and currency) of whoever linked it: their
    # own choice, else their Telegram's, when they linked it.
    group_language: Mapped[str | None] = mapped_column(Text)
    group_currency: Mapped[str | None] = mapped_column(Text)
    linked_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    linked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class LedgerMembership(db.Model):  # type: ignore[name-defined,misc]
    """A member of a ledger and their role, as the ledger's latest snapshot lists them."""

    __tablename__ = "ledger_members"
    __table_args__ = (CheckConstraint("role IN ('owner', 'member', 'viewer')", name="role"),)

    ledger_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("ledgers.ledger_id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)
    role: Mapped[str] = mapped_column(Text)
