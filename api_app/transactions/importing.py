"""Importing a CSV statement: all rows or none, duplicates counted per occurrence, one limit
check per category-month for the whole file.

A row equal to a transaction the account already has (same date, type, amount, category and
description) is a duplicate, counted per occurrence: with two equal transactions in the account,
the first two equal rows of the file are duplicates and a third is created. So importing a file
a second time creates nothing, while two identical coffees on one day in one file are two rows.
Imports into one ledger are serialised (the ledger row FOR NO KEY UPDATE, which the FOR KEY
SHARE of other writes does not wait for), so two uploads of the same file at once cannot both
create its rows.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from api_app.domain_errors import InvalidError, NotFoundError
from api_app.ledgers.membership import memberships_of
from api_app.models import Category, Ledger, Transaction, TransactionType
from api_app.splits.sharing import (
    NOT_SPLIT,
    AppliedSplit,
    SplitRequest,
    compute_shares,
    default_split_of,
    write_many_shares,
)
from api_app.transactions.csv_import import RowError, UnreadableFileError, parse_statement
from api_app.unit_of_work import UnitOfWork
from event_contract import LEDGER_SHARED

MAX_FILE_BYTES: Final = 5 * 1024 * 1024  # checked at the edge, which reads the upload

# What makes two transactions the same for duplicate counting; no description equals "".
Key = tuple[date, TransactionType, Decimal, uuid.UUID, str]


@dataclass(frozen=True)
class ImportedTransaction:
    """A transaction the import creates (or, on a dry run, would create)."""

    date: date
    type: TransactionType
    amount: Decimal
    category_id: uuid.UUID
    description: str | None
    id: uuid.UUID | None = None

    @property
    def key(self) -> Key:
        return (self.date, self.type, self.amount, self.category_id, self.description or "")


@dataclass
class ImportOutcome:
    created: int
    duplicates: int
    dry_run: bool
    # On a dry run: what would be created.
    transactions: list[ImportedTransaction] = field(default_factory=list)


class StatementRejectedError(InvalidError):
    """Rows of the file (or the file itself) cannot be imported: nothing was."""

    def __init__(self, errors: list[RowError]) -> None:
        self.rows = sorted(errors, key=lambda error: error.line)
        super().__init__(f"nothing was imported: {len(self.rows)} row(s) with errors")


def import_statement(
    user_id: uuid.UUID,
    content: bytes,
    *,
    default_category_id: uuid.UUID | None,
    dry_run: bool,
    ledger_id: uuid.UUID | None = None,
) -> ImportOutcome:
    """Create the file's transactions that the ledger (None: the person's personal one) does
    not have yet, all or none."""
    ledger_id = memberships_of(user_id).writing(ledger_id)
    try:
        parsed, errors = parse_statement(content)
    except UnreadableFileError as unreadable:
        raise StatementRejectedError([unreadable.error]) from unreadable
    with UnitOfWork(user_id) as uow:
        # Serialise this ledger's imports: duplicates are counted against what the last one
        # created. FOR NO KEY UPDATE: the FOR KEY SHARE of other writes does not wait for it.
        uow.session.execute(
            select(Ledger.id).where(Ledger.id == ledger_id).with_for_update(key_share=True)
        )
        categories = _categories_by_name(uow.session, ledger_id)
        if default_category_id is not None and default_category_id not in {
            category_id for spellings in categories.values() for _, category_id in spellings
        }:
            raise NotFoundError.on("default_category_id", "No such category.", "category not found")
        wanted: list[ImportedTransaction] = []
        for row in parsed:
            if row.category_name is None:
                if default_category_id is None:
                    errors.append(RowError(row.line, "no category: give default_category_id"))
                    continue
                category_id = default_category_id
            else:
                found = _match(categories, row.category_name)
                if isinstance(found, str):
                    errors.append(RowError(row.line, found))
                    continue
                category_id = found
            wanted.append(
                ImportedTransaction(row.date, row.type, row.amount, category_id, row.description)
            )
        if errors:
            raise StatementRejectedError(errors)
        existing = _existing_counts(uow.session, ledger_id, wanted)
        to_create: list[ImportedTransaction] = []
        duplicates = 0
        for transaction in wanted:
            if existing[transaction.key] > 0:
                existing[transaction.key] -= 1
                duplicates += 1
            else:
                to_create.append(transaction)
        if dry_run:
            return ImportOutcome(len(to_create), duplicates, dry_run=True, transactions=to_create)
        # All its rows against the daily quota: an import that would pass it writes nothing.
        uow.count_rows_written(len(to_create))
        membership = memberships_of(user_id).by_ledger[ledger_id]
        shared = membership.kind == LEDGER_SHARED
        # A shared ledger's expenses are paid by the importer and split by the ledger's default.
        default = default_split_of(uow.session, ledger_id) if membership.splits_by_default else None
        applied = [
            _split_of(transaction, user_id, shared=shared, default=default)
            for transaction in to_create
        ]
        written = uow.limits(ledger_id).insert_transactions(
            [
                {
                    "ledger_id": ledger_id,
                    "user_id": user_id,
                    "category_id": transaction.category_id,
                    "type": transaction.type,
                    "amount": transaction.amount,
                    "date": transaction.date,
                    "description": transaction.description,
                    "recurring_id": None,
                    "paid_by": split.paid_by,
                    "split": split.split_json,
                }
                for transaction, split in zip(to_create, applied, strict=True)
            ]
        )
        if default is not None:
            write_many_shares(
                uow.session,
                ledger_id=ledger_id,
                shares={
                    row._mapping["id"]: split.shares
                    for row, split in zip(written, applied, strict=True)
                },
            )
    return ImportOutcome(len(to_create), duplicates, dry_run=False)


def _split_of(
    transaction: ImportedTransaction,
    user_id: uuid.UUID,
    *,
    shared: bool,
    default: SplitRequest | None,
) -> AppliedSplit:
    if not shared or transaction.type is not TransactionType.EXPENSE:
        return NOT_SPLIT
    if default is None:
        return AppliedSplit(user_id, None, ())
    return AppliedSplit(user_id, default, tuple(compute_shares(transaction.amount, default)))


def _categories_by_name(
    session: Session, ledger_id: uuid.UUID
) -> dict[str, list[tuple[str, uuid.UUID]]]:
    """The ledger's categories by name in any letter case, locked FOR NO KEY UPDATE in id order
    (as deleting a category locks them): none can be deleted before the import is committed, and
    changes to their months wait for it (api_app.crossings.limits)."""
    by_name: dict[str, list[tuple[str, uuid.UUID]]] = defaultdict(list)
    for name, category_id in session.execute(
        select(Category.name, Category.id)
        .where(Category.ledger_id == ledger_id)
        .order_by(Category.id)
        .with_for_update(key_share=True)
    ).tuples():
        by_name[name.casefold()].append((name, category_id))
    return by_name


def _match(categories: dict[str, list[tuple[str, uuid.UUID]]], name: str) -> uuid.UUID | str:
    """The category named `name` in any letter case (the exact spelling wins when two differ
    only in case), or the error's message."""
    candidates = categories.get(name.casefold(), [])
    exact = [category_id for spelled, category_id in candidates if spelled == name]
    if len(candidates) == 1 or exact:
        return exact[0] if exact else candidates[0][1]
    if candidates:
        return f"category {name!r} matches several of your categories in letter case"
    return f"no category named {name!r}"


def _existing_counts(
    session: Session, ledger_id: uuid.UUID, wanted: list[ImportedTransaction]
) -> Counter[Key]:
    if not wanted:
        return Counter()
    keys = {transaction.key for transaction in wanted}
    description = func.coalesce(Transaction.description, "")
    columns = (
        Transaction.date,
        Transaction.type,
        Transaction.amount,
        Transaction.category_id,
        description,
    )
    rows = session.execute(
        select(*columns, func.count())
        .where(
            Transaction.ledger_id == ledger_id,
            Transaction.date >= min(key[0] for key in keys),
            Transaction.date <= max(key[0] for key in keys),
            tuple_(*columns).in_(list(keys)),
        )
        .group_by(*columns)
    ).tuples()
    return Counter(
        {
            (day, kind, Decimal(amount), category_id, text): count
            for day, kind, amount, category_id, text, count in rows
        }
    )
