"""Use cases on income and expense transactions; each write is one unit of work.

A transaction sits in its category's ledger (kept here: the category is looked up in the
transaction's ledger); its user_id is who recorded it (`created_by`). A person reads the
transactions of their ledgers and writes those of the ledgers they are an owner or member of.

Every write goes through the unit of work's spending path (api_app.crossings.limits), which
locks the limits it affects, reads the month's spending on the write's own statement and records
any crossing: a write cannot skip the check.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, insert, inspect, select, update
from sqlalchemy.orm import Session

from api_app.changes import UNSET, Unset, given, pick
from api_app.crossings.limits import Expense
from api_app.domain_errors import NotFoundError
from api_app.extensions import db
from api_app.ledgers.membership import memberships_of
from api_app.models import Transaction, TransactionType
from api_app.unit_of_work import UnitOfWork
from service_kit.pagination import ListOrder

# Every column, so that a written row comes back whole from its own statement's RETURNING.
COLUMNS = tuple(inspect(Transaction).columns)
# The writes, built once: each keeps its SQLAlchemy cache key between requests. An UPDATE sets
# the columns given as parameters.
TRANSACTIONS = Transaction.__table__
INSERT_TRANSACTION = insert(TRANSACTIONS).returning(*COLUMNS)
UPDATE_TRANSACTION = (
    update(TRANSACTIONS).where(TRANSACTIONS.c.id == bindparam("transaction_id")).returning(*COLUMNS)
)
DELETE_TRANSACTION = (
    delete(TRANSACTIONS)
    .where(TRANSACTIONS.c.id == bindparam("transaction_id"))
    .returning(TRANSACTIONS.c.id)
)
# Newest date first, then newest created; the id makes the order total (keyset cursors).
TRANSACTION_ORDER = ListOrder(
    (Transaction.date, Transaction.created_at, Transaction.id), descending=True
)


@dataclass(frozen=True)
class TransactionFilter:
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    type: TransactionType | None = None
    category_id: uuid.UUID | None = None
    recurring_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None
    # None: the person's personal ledger.
    ledger_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NewTransaction:
    category_id: uuid.UUID
    type: TransactionType
    amount: Decimal
    date: datetime.date
    description: str | None = None
    # None: the person's personal ledger.
    ledger_id: uuid.UUID | None = None


@dataclass(frozen=True)
class TransactionChanges:
    """A PATCH: the fields given, UNSET for the others."""

    category_id: uuid.UUID | Unset = UNSET
    type: TransactionType | Unset = UNSET
    amount: Decimal | Unset = UNSET
    date: datetime.date | Unset = UNSET
    description: str | Unset | None = UNSET


def transactions_of(user_id: uuid.UUID, wanted: TransactionFilter) -> Select[tuple[Transaction]]:
    """The ledger's transactions matching the filter, newest date first, then newest created."""
    ledger_id = memberships_of(user_id).reading(wanted.ledger_id)
    query = select(Transaction).where(Transaction.ledger_id == ledger_id)
    if wanted.date_from is not None:
        query = query.where(Transaction.date >= wanted.date_from)
    if wanted.date_to is not None:
        query = query.where(Transaction.date <= wanted.date_to)
    if wanted.type is not None:
        query = query.where(Transaction.type == wanted.type)
    if wanted.category_id is not None:
        query = query.where(Transaction.category_id == wanted.category_id)
    if wanted.recurring_id is not None:
        query = query.where(Transaction.recurring_id == wanted.recurring_id)
    if wanted.created_by is not None:
        query = query.where(Transaction.user_id == wanted.created_by)
    return query.order_by(*TRANSACTION_ORDER.clauses())


def get_transaction(user_id: uuid.UUID, transaction_id: uuid.UUID) -> Transaction:
    return _find(db.session(), user_id, transaction_id, lock=False)


def create_transaction(
    user_id: uuid.UUID, new: NewTransaction, *, transaction_id: uuid.UUID | None = None
) -> Transaction:
    """`transaction_id`: the new row's id when the caller derives it (the bot: from the
    Telegram update, so a repeated update cannot record it twice)."""
    ledger_id = memberships_of(user_id).writing(new.ledger_id)
    with UnitOfWork(user_id) as uow:
        uow.count_rows_written(1)
        row = uow.limits(ledger_id).write_expenses(
            INSERT_TRANSACTION,
            {
                "id": transaction_id or uuid.uuid4(),
                "ledger_id": ledger_id,
                "user_id": user_id,
                "category_id": new.category_id,
                "type": new.type,
                "amount": new.amount,
                "date": new.date,
                "description": new.description,
            },
            added=[Expense.of(new.category_id, new.type, new.amount, new.date)],
            referenced_category=new.category_id,
        )
    return _from_row(row)


def update_transaction(
    user_id: uuid.UUID, transaction_id: uuid.UUID, changes: TransactionChanges
) -> Transaction:
    """Apply changes to the row locked FOR UPDATE: its old values are what this request saw.

    A move to another category or month can push the new one over its limit; the category
    must be of the transaction's ledger."""
    with UnitOfWork(user_id) as uow:
        current = _find(uow.session, user_id, transaction_id, lock=True, writing=True)
        values = given(changes)
        if not values:
            return current
        row = uow.limits(current.ledger_id).write_expenses(
            UPDATE_TRANSACTION,
            {**values, "transaction_id": current.id},
            removed=[_expense(current)],
            added=[
                Expense.of(
                    pick(changes.category_id, current.category_id),
                    pick(changes.type, current.type),
                    pick(changes.amount, current.amount),
                    pick(changes.date, current.date),
                )
            ],
            referenced_category=pick(changes.category_id, None),
        )
    return _from_row(row)


def delete_transaction(user_id: uuid.UUID, transaction_id: uuid.UUID) -> None:
    """A deletion never crosses a limit upwards, but it takes the limit's lock all the same: a
    concurrent write must see spending before or after it, not a mix, to judge its own
    crossing."""
    with UnitOfWork(user_id) as uow:
        current = _find(uow.session, user_id, transaction_id, lock=True, writing=True)
        uow.limits(current.ledger_id).write_expenses(
            DELETE_TRANSACTION,
            {"transaction_id": current.id},
            removed=[_expense(current)],
        )


def _expense(transaction: Transaction) -> Expense:
    return Expense.of(
        transaction.category_id, transaction.type, transaction.amount, transaction.date
    )


def _from_row(row: Row[Any]) -> Transaction:
    """The written transaction as its statement returned it (not attached to the session, so
    nothing about it is ever loaded again)."""
    return Transaction(**{column.key: row._mapping[column.key] for column in COLUMNS})


def _find(
    session: Session,
    user_id: uuid.UUID,
    transaction_id: uuid.UUID,
    *,
    lock: bool,
    writing: bool = False,
) -> Transaction:
    """A transaction of one of the person's ledgers; `writing`: Forbidden for a viewer."""
    memberships = memberships_of(user_id)
    query = select(Transaction).where(
        Transaction.id == transaction_id, Transaction.ledger_id.in_(memberships.readable)
    )
    transaction = session.scalar(query.with_for_update() if lock else query)
    if transaction is None:
        raise NotFoundError("transaction not found")
    if writing:
        memberships.check_writer(transaction.ledger_id)
    return transaction
