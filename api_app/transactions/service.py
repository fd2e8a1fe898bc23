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
from sqlalchemy.orm import Session, selectinload

from api_app.changes import UNSET, Unset, given, pick
from api_app.crossings.limits import Expense
from api_app.domain_errors import InvalidError, NotFoundError
from api_app.extensions import db
from api_app.ledgers.membership import memberships_of
from api_app.models import Transaction, TransactionShare, TransactionType
from api_app.splits.sharing import (
    NOT_SPLIT,
    AppliedSplit,
    SplitRequest,
    apply_split,
    compute_shares,
    write_shares,
)
from api_app.unit_of_work import UnitOfWork
from event_contract import LEDGER_SHARED
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
    # A shared ledger's expense: who paid (None: the recorder) and how it is split (None: not
    # at all, the household pays; UNSET: the ledger's default split).
    paid_by: uuid.UUID | None = None
    split: SplitRequest | Unset | None = UNSET


@dataclass(frozen=True)
class TransactionChanges:
    """A PATCH: the fields given, UNSET for the others."""

    category_id: uuid.UUID | Unset = UNSET
    type: TransactionType | Unset = UNSET
    amount: Decimal | Unset = UNSET
    date: datetime.date | Unset = UNSET
    description: str | Unset | None = UNSET
    paid_by: uuid.UUID | Unset = UNSET
    # None: no longer split.
    split: SplitRequest | Unset | None = UNSET


def transactions_of(user_id: uuid.UUID, wanted: TransactionFilter) -> Select[tuple[Transaction]]:
    """The ledger's transactions matching the filter, newest date first, then newest created."""
    memberships = memberships_of(user_id)
    ledger_id = memberships.reading(wanted.ledger_id)
    query = select(Transaction).where(Transaction.ledger_id == ledger_id)
    if memberships.by_ledger[ledger_id].kind == LEDGER_SHARED:
        # One more statement for the page's shares; a personal ledger's expenses have none.
        query = query.options(selectinload(Transaction.shares))
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
    transaction = _find(db.session(), user_id, transaction_id, lock=False)
    _load_shares(db.session(), user_id, transaction)
    return transaction


def create_transaction(
    user_id: uuid.UUID, new: NewTransaction, *, transaction_id: uuid.UUID | None = None
) -> Transaction:
    """`transaction_id`: the new row's id when the caller derives it (the bot: from the
    Telegram update, so a repeated update cannot record it twice)."""
    memberships = memberships_of(user_id)
    ledger_id = memberships.writing(new.ledger_id)
    membership = memberships.by_ledger[ledger_id]
    shared = membership.kind == LEDGER_SHARED
    with UnitOfWork(user_id) as uow:
        uow.count_rows_written(1)
        # Paid by the recorder (a member), not split: known without asking the database, so
        # such an expense costs what a personal one does.
        expense = new.type is TransactionType.EXPENSE
        applied = AppliedSplit(user_id, None, ()) if shared and expense else NOT_SPLIT
        asks = new.paid_by is not None or not isinstance(new.split, Unset)
        if asks or (membership.splits_by_default and expense):
            applied = apply_split(
                uow.session,
                ledger_id=ledger_id,
                shared=shared,
                type=new.type,
                amount=new.amount,
                recorder=user_id,
                paid_by=new.paid_by,
                asked=None if isinstance(new.split, Unset) else new.split,
                use_default=isinstance(new.split, Unset),
            )
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
                "paid_by": applied.paid_by,
                "split": applied.split_json,
            },
            added=[Expense.of(new.category_id, new.type, new.amount, new.date)],
            referenced_category=new.category_id,
        )
        shares = _write_shares(uow, row, applied, replace=False)
    return _from_row(row, shares)


def update_transaction(
    user_id: uuid.UUID, transaction_id: uuid.UUID, changes: TransactionChanges
) -> Transaction:
    """Apply changes to the row locked FOR UPDATE: its old values are what this request saw.

    A move to another category or month can push the new one over its limit; the category
    must be of the transaction's ledger."""
    with UnitOfWork(user_id) as uow:
        current = _find(uow.session, user_id, transaction_id, lock=True, writing=True)
        values = given(changes)
        applied = _changed_split(uow, user_id, current, changes)
        if applied is None:
            _load_shares(uow.session, user_id, current)
        if not values:
            return current
        if applied is not None:
            values.update(paid_by=applied.paid_by, split=applied.split_json)
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
        if applied is None:
            return _from_row(row, list(current.shares))
        shares = _write_shares(uow, row, applied, replace=True)
    return _from_row(row, shares)


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


def _changed_split(
    uow: UnitOfWork, user_id: uuid.UUID, current: Transaction, changes: TransactionChanges
) -> AppliedSplit | None:
    """The split a PATCH leaves the expense with, its shares computed again, when the PATCH
    touches it (the amount, the type, who paid or the split); None when it stays as it is."""
    touched = given(changes).keys() & {"amount", "type", "paid_by", "split"}
    if not touched:
        return None
    if isinstance(changes.split, Unset):
        stored = None if current.split is None else SplitRequest.from_json(current.split)
    else:
        stored = changes.split
    if stored is None and touched <= {"amount", "type"}:
        # Split neither before nor after: nothing to compute again (a personal ledger's
        # PATCH costs what it did).
        return None
    shared = memberships_of(user_id).by_ledger[current.ledger_id].kind == LEDGER_SHARED
    type_ = pick(changes.type, current.type)
    if stored is not None and shared and type_ is TransactionType.EXPENSE and touched == {"amount"}:
        # Only the amount changed: the same split, its shares computed again (an `amounts`
        # split that no longer adds up says so).
        shares = compute_shares(pick(changes.amount, current.amount), stored)
        return AppliedSplit(current.paid_by, stored, tuple(shares))
    if stored is not None and type_ is not TransactionType.EXPENSE and "split" not in touched:
        message = "an income is not split: give `split` null to change it into one"
        raise InvalidError.on("split", message, message)
    return apply_split(
        uow.session,
        ledger_id=current.ledger_id,
        shared=shared,
        type=type_,
        amount=pick(changes.amount, current.amount),
        recorder=current.user_id or user_id,
        paid_by=pick(changes.paid_by, current.paid_by),
        asked=stored,
        use_default=False,
    )


def _load_shares(session: Session, user_id: uuid.UUID, transaction: Transaction) -> None:
    """A shared ledger's transaction gets its shares (a personal one's has none to read)."""
    if memberships_of(user_id).by_ledger[transaction.ledger_id].kind == LEDGER_SHARED:
        transaction.shares = list(
            session.scalars(
                select(TransactionShare)
                .where(TransactionShare.transaction_id == transaction.id)
                .order_by(TransactionShare.user_id)
            )
        )


def _write_shares(
    uow: UnitOfWork, row: Row[Any], applied: AppliedSplit, *, replace: bool
) -> list[TransactionShare]:
    if not applied.shares and not replace:
        return []
    return write_shares(
        uow.session,
        ledger_id=row.ledger_id,
        transaction_id=row.id,
        shares=applied.shares,
        replace=replace,
    )


def _from_row(row: Row[Any], shares: list[TransactionShare]) -> Transaction:
    """The written transaction as its statement returned it (not attached to the session, so
    nothing about it is ever loaded again), with its shares."""
    transaction = Transaction(**{column.key: row._mapping[column.key] for column in COLUMNS})
    transaction.shares = shares
    return transaction


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
