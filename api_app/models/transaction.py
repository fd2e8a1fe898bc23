from __future__ import annotations

import enum
import uuid
from datetime import date

from sqlalchemy import Date, Enum, ForeignKey, Index, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt, Money, UuidPrimaryKey


class TransactionType(enum.StrEnum):
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"


class Transaction(db.Model):  # type: ignore[name-defined,misc]
    """Income or expense. user_id has no foreign key (as specified); the service keeps every
    transaction's user equal to its category's user, and the category cascade removes it."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index(None, "user_id", "date"),
        Index(None, "category_id"),
        Index(None, "recurring_id"),
    )

    id: Mapped[UuidPrimaryKey]
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    type: Mapped[TransactionType] = mapped_column(Enum(TransactionType, name="transaction_type"))
    amount: Mapped[Money]
    description: Mapped[str | None] = mapped_column(Text)
    date: Mapped[date] = mapped_column(Date)
    # The rule that recorded it; the transaction stays (unlinked) when the rule is deleted.
    recurring_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recurring_transactions.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]
