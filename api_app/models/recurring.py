from __future__ import annotations

import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt, Money, UpdatedAt, UuidPrimaryKey
from api_app.models.transaction import TransactionType


class Frequency(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class RecurringTransaction(db.Model):  # type: ignore[name-defined,misc]
    """A rule that records the same income or expense every week, month or year.

    `next_date` is the first occurrence not recorded yet, None once the rule has ended; the
    periodic job looks only at rules whose next_date has come.
    """

    __tablename__ = "recurring_transactions"
    __table_args__ = (
        Index(None, "ledger_id"),
        Index(None, "user_id"),
        Index(None, "category_id"),
        Index(None, "next_date"),
        CheckConstraint("end_date >= start_date", name="end_after_start"),
    )

    id: Mapped[UuidPrimaryKey]
    ledger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    # Who made it; None once their account is gone (a shared ledger keeps the row).
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    type: Mapped[TransactionType] = mapped_column(
        Enum(TransactionType, name="transaction_type", create_type=False)
    )
    amount: Mapped[Money]
    description: Mapped[str | None] = mapped_column(Text)
    frequency: Mapped[Frequency] = mapped_column(
        Enum(
            Frequency,
            name="recurring_frequency",
            values_callable=lambda members: [member.value for member in members],
        )
    )
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    next_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    # A shared ledger's rule may split what it records its own way (as a transaction's
    # paid_by and split); None: the ledger's default split at each occurrence.
    paid_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    split: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))


class RecurringOccurrence(db.Model):  # type: ignore[name-defined,misc]
    """One occurrence of a rule, recorded: its primary key is what makes recording it happen
    exactly once, however often or late the job runs. It outlives the transaction it recorded, so
    a deleted transaction does not come back when the rule is changed."""

    __tablename__ = "recurring_occurrences"

    recurring_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recurring_transactions.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(Date, primary_key=True)
