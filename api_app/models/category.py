from __future__ import annotations

import uuid

from sqlalchemy import Boolean, ForeignKey, Index, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt, UuidPrimaryKey


class Category(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("ledger_id", "name"), Index(None, "user_id"))

    id: Mapped[UuidPrimaryKey]
    name: Mapped[str] = mapped_column(Text)
    ledger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    # Who made it; None once their account is gone (a shared ledger keeps the row).
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    icon: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[CreatedAt]
