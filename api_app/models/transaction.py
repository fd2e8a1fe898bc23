from __future__ import annotations

import enum
import uuid
from datetime import date

from sqlalchemy import Date, Enum, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt, Money, UuidPrimaryKey


class TransactionType(enum.StrEnum):
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"


class Transaction(db.Model):  # type: ignore[name-defined,misc]
    """Income or expense in a ledger: always its category's ledger (the services keep it so).
    `user_id` is who recorded it (`created_by` in the API): None once their account is gone,
    while a shared ledger keeps the row; a personal ledger goes with its account."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index(None, "ledger_id", "date"),
        Index(None, "user_id", "date"),
        Index(None, "category_id"),
        Index(None, "recurring_id"),
    )

    id: Mapped[UuidPrimaryKey]
    ledger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
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
