"""The monthly summary: income, expense and, per category, spending against its limit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from api_app.budgets.spending import expense_totals_by_category, in_month
from api_app.extensions import db
from api_app.models import Budget, BudgetLimit, Category, Transaction, TransactionType
from api_app.money import percent_of

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CategorySpending:
    category_id: uuid.UUID
    name: str
    icon: str | None
    limit: Decimal | None
    spent: Decimal

    @property
    def remaining(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.spent

    @property
    def percent(self) -> Decimal | None:
        return None if self.limit is None else percent_of(self.spent, self.limit)

    @property
    def over_limit(self) -> bool:
        """Spending exactly the limit is within it."""
        return self.limit is not None and self.spent > self.limit


@dataclass(frozen=True)
class MonthlySummary:
    year: int
    month: int
    income: Decimal
    expense: Decimal
    categories: list[CategorySpending]

    @property
    def net(self) -> Decimal:
        return self.income - self.expense


def monthly_summary(ledger_id: uuid.UUID, year: int, month: int) -> MonthlySummary:
    """Two aggregate queries over the month's rows, whether or not a budget exists for it.

    A category appears when it has a limit in the month's budget or expenses in the month.
    """
    totals = dict(
        db.session.execute(
            select(Transaction.type, func.sum(Transaction.amount))
            .where(in_month(Transaction.ledger_id == ledger_id, year, month))
            .group_by(Transaction.type)
        )
        .tuples()
        .all()
    )
    spent = expense_totals_by_category(ledger_id, year, month).subquery()
    limits = (
        select(BudgetLimit.category_id, BudgetLimit.limit_amount)
        .join(Budget, Budget.id == BudgetLimit.budget_id)
        .where(Budget.ledger_id == ledger_id, Budget.year == year, Budget.month == month)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Category.id,
            Category.name,
            Category.icon,
            limits.c.limit_amount,
            func.coalesce(spent.c.spent, 0),
        )
        .select_from(spent.join(limits, spent.c.category_id == limits.c.category_id, full=True))
        .join(Category, Category.id == func.coalesce(spent.c.category_id, limits.c.category_id))
        .where(Category.ledger_id == ledger_id)
        .order_by(Category.name, Category.id)
    ).tuples()
    return MonthlySummary(
        year=year,
        month=month,
        income=totals.get(TransactionType.INCOME, ZERO),
        expense=totals.get(TransactionType.EXPENSE, ZERO),
        categories=[
            CategorySpending(category_id, name, icon, limit, Decimal(spent_amount))
            for category_id, name, icon, limit, spent_amount in rows
        ],
    )
