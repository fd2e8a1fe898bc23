"""What a ledger spent in a calendar month, summed in SQL.

Every query here filters on `date >= first day AND date < first day of the next month`, a range
the transactions(ledger_id, date) index scans directly, so the cost follows that month's rows,
not the ledger's whole history.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select

from api_app.extensions import db
from api_app.ledgers.membership import memberships_of
from api_app.models import Transaction, TransactionType
from api_app.money import CENT
from api_app.months import month_bounds


def in_month(ledger: ColumnElement[bool], year: int, month: int) -> ColumnElement[bool]:
    """The transactions of `ledger` (a condition on Transaction.ledger_id) dated in the month,
    as an index range condition."""
    first, following = month_bounds(year, month)
    return and_(ledger, Transaction.date >= first, Transaction.date < following)


def expenses_in_month(ledger: ColumnElement[bool], year: int, month: int) -> ColumnElement[bool]:
    return and_(in_month(ledger, year, month), Transaction.type == TransactionType.EXPENSE)


def expense_totals_by_category(ledger_id: uuid.UUID, year: int, month: int) -> Select[Any]:
    """(category_id, spent) for every category of the ledger with expenses in the month."""
    return (
        select(Transaction.category_id, func.sum(Transaction.amount).label("spent"))
        .where(expenses_in_month(Transaction.ledger_id == ledger_id, year, month))
        .group_by(Transaction.category_id)
    )


def spent_in_month(user_id: uuid.UUID, category_id: uuid.UUID, year: int, month: int) -> Decimal:
    """The category's expense total for the month (0.00 when it has none, or when it is of no
    ledger of the person's).

    Reads what this transaction sees: call it after locking the category's budget limit row to
    compare totals before and after a change without a concurrent request in between.
    """
    total = db.session.scalar(
        select(func.coalesce(func.sum(Transaction.amount), 0)).where(
            expenses_in_month(
                Transaction.ledger_id.in_(memberships_of(user_id).readable), year, month
            ),
            Transaction.category_id == category_id,
        )
    )
    return (total or Decimal(0)).quantize(CENT)
