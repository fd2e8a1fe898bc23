"""Transactions as CSV for spreadsheets, streamed row by row from a server-side cursor."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, Final

from sqlalchemy import Select

from api_app.extensions import db
from api_app.models import Category, Transaction
from event_contract import money

HEADER: Final = (
    "date",
    "type",
    "amount",
    "category_id",
    "category",
    "description",
    "id",
    "created_at",
)
ROWS_PER_FETCH: Final = 500
# A cell starting with one of these is a formula to a spreadsheet; a leading ' keeps it text.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_lines(transactions: Select[tuple[Transaction]]) -> Iterator[str]:
    """The header, then one line per transaction in the statement's order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: tuple[Any, ...]) -> str:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(HEADER)
    with_names = transactions.join(Category, Category.id == Transaction.category_id).add_columns(
        Category.name
    )
    result = db.session.execute(with_names.execution_options(yield_per=ROWS_PER_FETCH))
    for transaction, category_name in result.tuples():
        yield line(
            (
                transaction.date.isoformat(),
                transaction.type.value,
                money(transaction.amount),
                transaction.category_id,
                _as_text(category_name),
                _as_text(transaction.description or ""),
                transaction.id,
                transaction.created_at.isoformat(),
            )
        )


def _as_text(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
