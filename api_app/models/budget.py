from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api_app.extensions import db
from api_app.models.base import CreatedAt, Money, UpdatedAt, UuidPrimaryKey


class Budget(db.Model):  # type: ignore[name-defined,misc]
    """A ledger's budget for one calendar month: a spending limit per category."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("ledger_id", "month", "year"), Index(None, "user_id"))
    # updated_at (onupdate) comes back with the UPDATE itself, not as a later SELECT.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy's declaration

    id: Mapped[UuidPrimaryKey]
    ledger_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledgers.id", ondelete="CASCADE"))
    # Who made it; None once their account is gone (a shared ledger keeps the row).
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    month: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]

    limits: Mapped[list[BudgetLimit]] = relationship(
        back_populates="budget",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="BudgetLimit.category_id",
    )


class BudgetLimit(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "budget_limits"
    __table_args__ = (UniqueConstraint("budget_id", "category_id"),)

    id: Mapped[UuidPrimaryKey]
    budget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    limit_amount: Mapped[Money]

    budget: Mapped[Budget] = relationship(back_populates="limits")
