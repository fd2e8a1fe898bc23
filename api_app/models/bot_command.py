from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db


class BotCommandRecord(db.Model):  # type: ignore[name-defined,misc]
    """A command from the Telegram bot that api_app has carried out, with the reply it gave.

    Its id derives from the Telegram update (event_contract.bot_command_id): a command that
    arrives again finds its row and only answers again (the same reply, the same event id).
    `transaction_id` is the transaction it recorded (/undo removes the chat's latest);
    `choice` the transaction it could not record yet, waiting for a category button.
    """

    __tablename__ = "bot_commands"
    __table_args__ = (Index(None, "user_id", "chat_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("transactions.id", ondelete="SET NULL")
    )
    # {"type", "amount", "date", "description", "categories": [ids of the buttons]}
    choice: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # The command ("choose") that answered the choice: a second press records nothing.
    chosen_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The BOT_REPLY payload, to answer a repeated command the same way.
    reply: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
