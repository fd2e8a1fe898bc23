from __future__ import annotations

import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api_app.extensions import db
from api_app.models.base import CreatedAt, Money, UuidPrimaryKey
from api_app.models.split import TransactionShare


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
        CheckConstraint("split IS NULL OR paid_by IS NOT NULL", name="split_paid_by"),
        # The balances read what each member paid for the split expenses of a ledger.
        Index(
            "transactions_split_paid_by_idx",
            "ledger_id",
            "paid_by",
            postgresql_include=["amount"],
            postgresql_where=text("split IS NOT NULL"),
        ),
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
    # A shared ledger's expense: who paid it (a member; the recorder unless told), and the
    # split as asked, {"method", "among": [{"user_id", "value"}]} (api_app.splits), whose
    # computed shares are its `shares`. No split: the household paid, nobody owes anybody.
    # paid_by is a plain id, as the shares' user_id (api_app.models.split says why).
    paid_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    split: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # Loaded only where asked for (a shared ledger's list, api_app.transactions.service): a
    # personal ledger's reads and writes never spend a statement on shares it cannot have.
    shares: Mapped[list[TransactionShare]] = relationship(
        lazy="noload", viewonly=True, order_by=TransactionShare.user_id
    )
