"""The monthly trend: every month of a range with its totals and its categories, summed in SQL.

Both queries read only the range's rows through the transactions(ledger_id, date) index: the
totals join each month of a generate_series to its own date range, the categories group the
range's expenses by month, so the cost follows the range, not the length of the history.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, func, literal, select, text
from sqlalchemy.sql.expression import literal_column

from api_app.extensions import db
from api_app.ledgers.membership import memberships_of
from api_app.models import (
    Budget,
    BudgetLimit,
    Category,
    LedgerMember,
    Transaction,
    TransactionType,
    User,
)
from api_app.money import CENT
from api_app.months import month_bounds

ZERO = Decimal("0.00")
ONE_MONTH: ColumnElement[Any] = literal_column("interval '1 month'")


@dataclass(frozen=True)
class CategoryTrend:
    category_id: uuid.UUID
    name: str
    spent: Decimal
    limit: Decimal | None


@dataclass(frozen=True)
class MemberSpending:
    user_id: uuid.UUID | None
    name: str | None
    spent: Decimal


@dataclass
class MonthTrend:
    year: int
    month: int
    income: Decimal
    expense: Decimal
    categories: list[CategoryTrend] = field(default_factory=list)
    # Only when asked for (by=member).
    members: list[MemberSpending] | None = None

    @property
    def net(self) -> Decimal:
        return self.income - self.expense


def months_between(first: date, last: date) -> int:
    """How many months from `first`'s to `last`'s, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def trend_of(
    user_id: uuid.UUID,
    first: date,
    last: date,
    ledger_id: uuid.UUID | None = None,
    *,
    by_member: bool = False,
) -> list[MonthTrend]:
    """The trend of a ledger of the person's (None: their personal one); `by_member`: each
    month with what each member spent."""
    ledger_id = memberships_of(user_id).reading(ledger_id)
    trends = monthly_trend(ledger_id, first, last)
    if by_member:
        _add_member_spending(ledger_id, trends)
    return trends


def _add_member_spending(ledger_id: uuid.UUID, trends: list[MonthTrend]) -> None:
    """Every member of the ledger in every month (0.00 when they spent nothing), then whoever
    else recorded expenses in it (a former member; null: an account deleted since)."""
    first = date(trends[0].year, trends[0].month, 1)
    end = month_bounds(trends[-1].year, trends[-1].month)[1]
    members = db.session.execute(
        select(User.id, User.display_name, User.email)
        .join(LedgerMember, LedgerMember.user_id == User.id)
        .where(LedgerMember.ledger_id == ledger_id)
        .order_by(LedgerMember.joined_at, User.id)
    ).all()
    spent_month = cast(func.date_trunc("month", Transaction.date), Date)
    spending = db.session.execute(
        select(spent_month, Transaction.user_id, User.display_name, User.email,
               func.sum(Transaction.amount))
        .outerjoin(User, User.id == Transaction.user_id)
        .where(
            Transaction.ledger_id == ledger_id,
            Transaction.date >= first,
            Transaction.date < end,
            Transaction.type == TransactionType.EXPENSE,
        )
        .group_by(spent_month, Transaction.user_id, User.display_name, User.email)
    ).all()  # fmt: skip
    by_month: dict[date, dict[uuid.UUID | None, MemberSpending]] = defaultdict(dict)
    for start, spender, display_name, email, amount in spending:
        by_month[start][spender] = MemberSpending(
            spender, _name(display_name, email), Decimal(amount).quantize(CENT)
        )
    for trend in trends:
        month = by_month.get(date(trend.year, trend.month, 1), {})
        listed = [
            month.pop(member)
            if member in month
            else MemberSpending(member, _name(display_name, email), ZERO)
            for member, display_name, email in members
        ]
        others = sorted(month.values(), key=lambda spent: (spent.user_id is None, spent.name or ""))
        trend.members = listed + others


def _name(display_name: str | None, email: str | None) -> str | None:
    """What other members call a person: their display name, else their email's local part."""
    if display_name:
        return display_name
    return None if email is None else email.split("@", 1)[0]


def monthly_trend(ledger_id: uuid.UUID, first: date, last: date) -> list[MonthTrend]:
    """The months from `first`'s to `last`'s (first days of months), oldest first, each present
    whether or not it has transactions. A category appears in a month when it has a limit or
    expenses in it."""
    end = month_bounds(last.year, last.month)[1]
    months = (
        func.generate_series(cast(literal(first), Date), cast(literal(last), Date), ONE_MONTH)
        .table_valued("start")
        .render_derived(name="months")
    )
    month_start = cast(months.c.start, Date)
    income = func.sum(Transaction.amount).filter(Transaction.type == TransactionType.INCOME)
    expense = func.sum(Transaction.amount).filter(Transaction.type == TransactionType.EXPENSE)
    totals = db.session.execute(
        select(month_start, func.coalesce(income, 0), func.coalesce(expense, 0))
        .select_from(months)
        .outerjoin(
            Transaction,
            and_(
                Transaction.ledger_id == ledger_id,
                Transaction.date >= month_start,
                Transaction.date < cast(months.c.start + ONE_MONTH, Date),
            ),
        )
        .group_by(months.c.start)
        .order_by(months.c.start)
    ).tuples()
    trends = {
        start: MonthTrend(
            start.year, start.month, Decimal(inc).quantize(CENT), Decimal(exp).quantize(CENT)
        )
        for start, inc, exp in totals
    }
    for start, categories in _categories_by_month(ledger_id, first, end).items():
        trends[start].categories.extend(categories)
    return list(trends.values())


def _categories_by_month(
    ledger_id: uuid.UUID, first: date, end: date
) -> dict[date, list[CategoryTrend]]:
    spent_month = cast(func.date_trunc("month", Transaction.date), Date).label("start")
    spent = (
        select(spent_month, Transaction.category_id, func.sum(Transaction.amount).label("spent"))
        .where(
            Transaction.ledger_id == ledger_id,
            Transaction.date >= first,
            Transaction.date < end,
            Transaction.type == TransactionType.EXPENSE,
        )
        .group_by(text("1"), Transaction.category_id)
        .subquery()
    )
    limit_month = func.make_date(Budget.year, Budget.month, 1)
    limits = (
        select(limit_month.label("start"), BudgetLimit.category_id, BudgetLimit.limit_amount)
        .join(Budget, Budget.id == BudgetLimit.budget_id)
        .where(Budget.ledger_id == ledger_id, limit_month >= first, limit_month < end)
        .subquery()
    )
    start = func.coalesce(spent.c.start, limits.c.start)
    rows = db.session.execute(
        select(
            start,
            Category.id,
            Category.name,
            func.coalesce(spent.c.spent, 0),
            limits.c.limit_amount,
        )
        .select_from(
            spent.join(
                limits,
                and_(
                    spent.c.start == limits.c.start,
                    spent.c.category_id == limits.c.category_id,
                ),
                full=True,
            )
        )
        .join(Category, Category.id == func.coalesce(spent.c.category_id, limits.c.category_id))
        .where(Category.ledger_id == ledger_id)
        .order_by(start, Category.name, Category.id)
    ).tuples()
    by_month: dict[date, list[CategoryTrend]] = defaultdict(list)
    for month_start, category_id, name, spent_amount, limit in rows:
        by_month[month_start].append(
            CategoryTrend(category_id, name, Decimal(spent_amount).quantize(CENT), limit)
        )
    return by_month
