"""Who paid, who owes: the shares of a shared ledger's expenses and the repayments between its
members (settlements).

A split expense keeps the split as asked (transactions.split) and the shares computed from it
when it was written (transaction_shares): a member's net in a ledger is then a plain sum, what
they paid minus their shares, plus what they repaid minus what was repaid to them. That sum is
kept per member in ledger_balances by database triggers (api migration 0013) on every write of
the entries, so it cannot drift from them whichever code path writes.

The people in these rows are plain ids, no foreign keys: the money between members must keep
adding up to zero after someone leaves or deletes their account, so their balance stays visible
(as a former member's) until it is settled.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Index, Numeric, Table, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api_app.extensions import db
from api_app.models.base import CreatedAt, Money, UuidPrimaryKey


class TransactionShare(db.Model):  # type: ignore[name-defined,misc]
    """One member's share of a split expense, to the cent; an expense's shares add up to it."""

    __tablename__ = "transaction_shares"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        # The balances read every share of a ledger by member, from the index alone.
        Index(None, "ledger_id", "user_id", postgresql_include=["amount"]),
    )

    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("transactions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # The transaction's ledger, kept here so a ledger's balances read only its own shares.
    ledger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    amount: Mapped[Money]


class Settlement(db.Model):  # type: ignore[name-defined,misc]
    """A repayment between two members of a ledger: it changes their balances and is neither
    spending nor income (no limit, summary, report or export reads this table)."""

    __tablename__ = "settlements"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("from_user_id <> to_user_id", name="two_people"),
        # Lists newest first, and the balances' sums, per ledger.
        Index(None, "ledger_id", "date"),
    )

    id: Mapped[UuidPrimaryKey]
    ledger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    from_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    to_user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    amount: Mapped[Money]
    date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[CreatedAt]


class LedgerBalance(db.Model):  # type: ignore[name-defined,misc]
    """A person's net in a ledger (positive: owed to them), the sum of their entries, written
    only by the triggers of api migration 0013 when a transaction that changed it commits."""

    __tablename__ = "ledger_balances"

    ledger_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledgers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Unbounded numeric: a sum of many amounts must never overflow.
    net: Mapped[Decimal] = mapped_column(Numeric)


# The changes of nets the current transaction has written and not yet committed (the triggers
# add them to ledger_balances at commit); a read in that transaction adds them itself.
ledger_balance_changes = Table(
    "ledger_balance_changes",
    db.Model.metadata,
    Column("ledger_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("change", Numeric, nullable=False),
    prefixes=["UNLOGGED"],
)
