"""Importing a CSV statement: all rows or none, duplicates counted per occurrence, one limit
check per category-month for the whole file.

A row equal to a transaction the account already has (same date, type, amount, category and
description) is a duplicate, counted per occurrence: with two equal transactions in the account,
the first two equal rows of the file are duplicates and a third is created. So importing a file
a second time creates nothing, while two identical coffees on one day in one file are two rows.
Imports of one user are serialised (the user row FOR NO KEY UPDATE, which the FOR KEY SHARE
of their other requests does not wait for), so two uploads of the same file at once cannot both
create its rows.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final, NoReturn

from sqlalchemy import func, select, tuple_

from api_app.blueprint import abort
from api_app.crossings.limits import CategoryMonth
from api_app.extensions import db
from api_app.models import Category, Transaction, TransactionType, User
from api_app.transactions.csv_import import RowError, UnreadableFileError, parse_statement
from api_app.unit_of_work import UnitOfWork

MAX_FILE_BYTES: Final = 5 * 1024 * 1024

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


def import_statement(
    user_id: uuid.UUID, content: bytes, *, default_category_id: uuid.UUID | None, dry_run: bool
) -> ImportOutcome:
    if len(content) > MAX_FILE_BYTES:
        abort(413, message=f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        parsed, errors = parse_statement(content)
    except UnreadableFileError as unreadable:
        _reject([unreadable.error])
    if default_category_id is not None:
        _lock_default_category(user_id, default_category_id)
    categories = _categories_by_name(user_id)
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
        _reject(errors)

    # Serialise this user's imports: duplicates are counted against what the last one created.
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    existing = _existing_counts(user_id, wanted)
    to_create: list[ImportedTransaction] = []
    duplicates = 0
    for transaction in wanted:
        if existing[transaction.key] > 0:
            existing[transaction.key] -= 1
            duplicates += 1
        else:
            to_create.append(transaction)
    if dry_run:
        db.session.rollback()
        return ImportOutcome(len(to_create), duplicates, dry_run=True, transactions=to_create)
    _record(user_id, to_create)
    db.session.commit()
    return ImportOutcome(len(to_create), duplicates, dry_run=False)


def _lock_default_category(user_id: uuid.UUID, category_id: uuid.UUID) -> None:
    # FOR KEY SHARE, as for any row about to reference a category: no deletion meanwhile.
    found = db.session.scalar(
        select(Category.id)
        .where(Category.id == category_id, Category.user_id == user_id)
        .with_for_update(key_share=True, read=True)
    )
    if found is None:
        abort(
            404,
            message="category not found",
            errors={"multipart": {"default_category_id": ["No such category."]}},
        )


def _reject(errors: list[RowError]) -> NoReturn:
    db.session.rollback()
    ordered = sorted(errors, key=lambda error: error.line)
    abort(
        422,
        message=f"nothing was imported: {len(ordered)} row(s) with errors",
        errors=[{"line": error.line, "message": error.message} for error in ordered],
    )


def _categories_by_name(user_id: uuid.UUID) -> dict[str, list[tuple[str, uuid.UUID]]]:
    by_name: dict[str, list[tuple[str, uuid.UUID]]] = defaultdict(list)
    for name, category_id in db.session.execute(
        select(Category.name, Category.id).where(Category.user_id == user_id)
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


def _existing_counts(user_id: uuid.UUID, wanted: list[ImportedTransaction]) -> Counter[Key]:
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
    rows = db.session.execute(
        select(*columns, func.count())
        .where(
            Transaction.user_id == user_id,
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


def _record(user_id: uuid.UUID, to_create: list[ImportedTransaction]) -> None:
    """Insert the rows; each expense category-month is checked once, before and after them all,
    so an import that pushes one over its limit alerts once for it."""
    by_month: dict[CategoryMonth, list[Transaction]] = defaultdict(list)
    added: dict[CategoryMonth, Decimal] = defaultdict(Decimal)
    rows: list[Transaction] = []
    for wanted in to_create:
        row = Transaction(
            user_id=user_id,
            category_id=wanted.category_id,
            type=wanted.type,
            amount=wanted.amount,
            date=wanted.date,
            description=wanted.description,
        )
        rows.append(row)
        if wanted.type is TransactionType.EXPENSE:
            key = CategoryMonth.of(wanted.category_id, wanted.date)
            by_month[key].append(row)
            added[key] += wanted.amount

    def write() -> dict[CategoryMonth, uuid.UUID]:
        db.session.add_all(rows)
        db.session.flush()
        # Each alert names the last transaction of its own month.
        return {key: in_month[-1].id for key, in_month in by_month.items()}

    # The caller commits.
    UnitOfWork(user_id).limits.add_expenses(added, write)
