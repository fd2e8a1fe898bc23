from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Numeric, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt, Money, UpdatedAt, UuidPrimaryKey


class Goal(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "goals"
    __table_args__ = (Index(None, "ledger_id"), Index(None, "user_id"))
    # updated_at (onupdate) comes back with the UPDATE itself, not as a later SELECT.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declaration

    id: Mapped[UuidPrimaryKey]
    ledger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    # Who made it; None once their account is gone (a shared ledger keeps the row).
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(Text)
    target_amount: Mapped[Money]
    current_amount: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), default=Decimal("0"), server_default=text("0")
    )
    deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
