"""Use cases on income and expense transactions; each write is one transaction, committed here.

transactions.user_id has no foreign key (as specified). The invariant that replaces it, kept
here: a transaction's user owns its category. Deleting a user cascades to their categories and
from there to their transactions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from api_app.blueprint import abort
from api_app.categories.service import lock_own_category
from api_app.events import CategoryMonth, watch_limits
from api_app.extensions import db
from api_app.models import Transaction, TransactionType
from api_app.pagination import ListOrder

# Newest date first, then newest created; the id makes the order total (keyset cursors).
TRANSACTION_ORDER = ListOrder(
    (Transaction.date, Transaction.created_at, Transaction.id), descending=True
)


@dataclass(frozen=True)
class TransactionFilter:
    date_from: date | None = None
    date_to: date | None = None
    type: TransactionType | None = None
    category_id: uuid.UUID | None = None


def transactions_of(user_id: uuid.UUID, wanted: TransactionFilter) -> Select[tuple[Transaction]]:
    """The user's transactions matching the filter, newest date first, then newest created."""
    query = select(Transaction).where(Transaction.user_id == user_id)
    if wanted.date_from is not None:
        query = query.where(Transaction.date >= wanted.date_from)
    if wanted.date_to is not None:
        query = query.where(Transaction.date <= wanted.date_to)
    if wanted.type is not None:
        query = query.where(Transaction.type == wanted.type)
    if wanted.category_id is not None:
        query = query.where(Transaction.category_id == wanted.category_id)
    return query.order_by(*TRANSACTION_ORDER.clauses())


def get_transaction(user_id: uuid.UUID, transaction_id: uuid.UUID) -> Transaction:
    return _find(user_id, transaction_id, lock=False)


def create_transaction(
    user_id: uuid.UUID,
    category_id: uuid.UUID,
    type: TransactionType,
    amount: Decimal,
    date: date,
    description: str | None,
) -> Transaction:
    lock_own_category(user_id, category_id, field="category_id")
    limits = watch_limits(user_id, CategoryMonth.of(category_id, date))
    transaction = Transaction(
        user_id=user_id,
        category_id=category_id,
        type=type,
        amount=amount,
        date=date,
        description=description,
    )
    db.session.add(transaction)
    db.session.flush()
    limits.emit_crossings(transaction_id=transaction.id)
    db.session.commit()
    return transaction


def update_transaction(
    user_id: uuid.UUID, transaction_id: uuid.UUID, changes: dict[str, Any]
) -> Transaction:
    """Apply changes to the row locked FOR UPDATE: its old values are what this request saw."""
    transaction = _find(user_id, transaction_id, lock=True)
    if "category_id" in changes:
        lock_own_category(user_id, changes["category_id"], field="category_id")
    # A move to another category or month can push the new one over its limit.
    limits = watch_limits(
        user_id,
        CategoryMonth.of(transaction.category_id, transaction.date),
        CategoryMonth.of(
            changes.get("category_id", transaction.category_id),
            changes.get("date", transaction.date),
        ),
    )
    for attribute, value in changes.items():
        setattr(transaction, attribute, value)
    db.session.flush()
    limits.emit_crossings(transaction_id=transaction.id)
    db.session.commit()
    return transaction


def delete_transaction(user_id: uuid.UUID, transaction_id: uuid.UUID) -> None:
    transaction = _find(user_id, transaction_id, lock=True)
    # A deletion never crosses a limit upwards, but it takes the limit's lock all the same: a
    # concurrent write must see spending before or after it, not a mix, to judge its own crossing.
    limits = watch_limits(user_id, CategoryMonth.of(transaction.category_id, transaction.date))
    db.session.delete(transaction)
    db.session.flush()
    limits.emit_crossings(transaction_id=transaction.id)
    db.session.commit()


def _find(user_id: uuid.UUID, transaction_id: uuid.UUID, *, lock: bool) -> Transaction:
    query = select(Transaction).where(
        Transaction.id == transaction_id, Transaction.user_id == user_id
    )
    transaction = db.session.scalar(query.with_for_update() if lock else query)
    if transaction is None:
        abort(404, message="transaction not found")
    return transaction
