"""Reading a CSV statement: which of the two formats it is, and each row's transaction.

Two formats are recognised from the header (names in any letter case, `,` or `;` between cells):

- the export of GET /api/transactions/export.csv (`date,type,amount,category_id,category,
  description,id,created_at`): the category is matched by its name, `category_id`, `id` and
  `created_at` are ignored (they belong to the account that exported it), and each `'` the export
  puts where a spreadsheet would see a formula start is taken off again;
- a bank's: `date`, `amount`, `description` and optionally `category`, in any order, other
  columns ignored; a negative amount is an expense, a positive one an income, dates YYYY-MM-DD or
  DD.MM.YYYY, amounts with `.` or `,` as the decimal mark.

Nothing here touches the database: a row is parsed into what it says, and the service decides
what it means for the account.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from api_app.models import TransactionType
from api_app.money import CENT, MAX_AMOUNT
from api_app.schemas_common import ISO_DATE_PATTERN, POSITIVE_AMOUNT_PATTERN
from api_app.transactions.export import FORMULA_GUARD, HEADER
from api_app.transactions.schemas import DESCRIPTION_MAX_LENGTH

MAX_ROWS: Final = 10_000
DELIMITERS: Final = (",", ";")
BANK_REQUIRED: Final = frozenset({"date", "amount", "description"})
BANK_AMOUNT_PATTERN: Final = r"^([+-]?)([0-9]{1,10})(?:[.,]([0-9]{1,2}))?$"
DOTTED_DATE_PATTERN: Final = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{4}$"
EXPORT_COLUMNS: Final = tuple(HEADER)
HEADER_HELP: Final = (
    "the header must be the export's (" + ",".join(HEADER) + ") or name the columns date, "
    "amount, description and optionally category"
)


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


class UnreadableFileError(Exception):
    """The file as a whole cannot be read: not UTF-8, no known header, too many rows."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class ParsedRow:
    line: int
    date: date
    type: TransactionType
    amount: Decimal
    # None: the row names no category (the import's default category applies).
    category_name: str | None
    description: str | None


def parse_statement(content: bytes) -> tuple[list[ParsedRow], list[RowError]]:
    """Every row of the file, parsed, and the errors of the rows that could not be."""
    text = _decode(content)
    lines = io.StringIO(text, newline="")
    first_line = lines.readline()
    if not first_line.strip():
        raise UnreadableFileError(RowError(1, "the file is empty: " + HEADER_HELP))
    delimiter, columns = _recognise(first_line)
    lines.seek(0)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    next(reader)
    parse: Callable[[int, list[str]], ParsedRow] = (
        _parse_export_row if columns is None else _BankRowParser(columns)
    )
    width = len(EXPORT_COLUMNS) if columns is None else len(columns)
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    for line, cells in _records(reader):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(rows) + len(errors) == MAX_ROWS:
            raise UnreadableFileError(RowError(line, f"a file holds at most {MAX_ROWS} rows"))
        if len(cells) != width:
            errors.append(RowError(line, f"expected {width} cells, found {len(cells)}"))
            continue
        try:
            rows.append(parse(line, cells))
        except ValueError as error:
            errors.append(RowError(line, str(error)))
    return rows, errors


def _decode(content: bytes) -> str:
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise UnreadableFileError(RowError(line, "the file is not UTF-8 text")) from error


def _recognise(first_line: str) -> tuple[str, dict[str, int] | None]:
    """The delimiter, and None for the export format or the bank columns' positions."""
    for delimiter in DELIMITERS:
        try:
            cells = next(csv.reader([first_line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        names = [cell.strip().lower() for cell in cells]
        if tuple(names) == EXPORT_COLUMNS:
            return delimiter, None
        if set(names) >= BANK_REQUIRED:
            if len(set(names)) != len(names):
                raise UnreadableFileError(RowError(1, "the header names a column twice"))
            return delimiter, {name: position for position, name in enumerate(names)}
    raise UnreadableFileError(RowError(1, "unknown header: " + HEADER_HELP))


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(line of the record's first physical line, cells): a quoted cell may span lines."""
    line_num = 1
    while True:
        start = line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise UnreadableFileError(RowError(start, f"the CSV is malformed: {error}")) from error
        line_num = reader.line_num  # type: ignore[attr-defined]
        yield start, cells


def _parse_export_row(line: int, cells: list[str]) -> ParsedRow:
    cell = dict(zip(EXPORT_COLUMNS, cells, strict=True))
    kind = cell["type"].strip().upper()
    if kind not in TransactionType.__members__:
        raise ValueError("type must be INCOME or EXPENSE")
    amount = cell["amount"].strip()
    if re.fullmatch(POSITIVE_AMOUNT_PATTERN, amount) is None:
        raise ValueError(f"amount {amount!r} is not an amount greater than 0 such as 12.50")
    return ParsedRow(
        line=line,
        date=_iso_date(cell["date"].strip()),
        type=TransactionType[kind],
        amount=Decimal(amount).quantize(CENT),
        category_name=_category(_as_written(cell["category"])),
        description=_description(_as_written(cell["description"])),
    )


class _BankRowParser:
    def __init__(self, columns: dict[str, int]) -> None:
        self.columns = columns

    def __call__(self, line: int, cells: list[str]) -> ParsedRow:
        day = cells[self.columns["date"]].strip()
        signed = _bank_amount(cells[self.columns["amount"]].strip())
        category = (
            _category(cells[self.columns["category"]]) if "category" in self.columns else None
        )
        return ParsedRow(
            line=line,
            date=_iso_date(day) if re.fullmatch(DOTTED_DATE_PATTERN, day) is None else _dotted(day),
            type=TransactionType.EXPENSE if signed < 0 else TransactionType.INCOME,
            amount=abs(signed),
            category_name=category,
            description=_description(cells[self.columns["description"]]),
        )


def _iso_date(text: str) -> date:
    if re.fullmatch(ISO_DATE_PATTERN, text) is None:
        raise ValueError(f"date {text!r} is not YYYY-MM-DD or DD.MM.YYYY")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text!r} is not a day of the calendar") from None


def _dotted(text: str) -> date:
    try:
        return datetime.strptime(text, "%d.%m.%Y").date()
    except ValueError:
        raise ValueError(f"date {text!r} is not a day of the calendar") from None


def _bank_amount(text: str) -> Decimal:
    match = re.fullmatch(BANK_AMOUNT_PATTERN, text)
    if match is None:
        raise ValueError(
            f"amount {text!r} is not an amount such as -12.50 or 12,50 (at most two decimals)"
        )
    sign, whole, cents = match.groups()
    amount = Decimal(f"{sign}{whole}.{(cents or '0').ljust(2, '0')}")
    if amount == 0:
        raise ValueError("amount must not be 0")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"amount is at most {MAX_AMOUNT} in absolute value")
    return amount


def _as_written(cell: str) -> str:
    """The text before the export kept a spreadsheet from running it as a formula."""
    return re.sub(FORMULA_GUARD, r"\1", cell)


def _category(cell: str) -> str | None:
    name = cell.strip()
    return name or None


def _description(cell: str) -> str | None:
    if "\x00" in cell:
        raise ValueError("description must not contain NUL characters")
    if len(cell) > DESCRIPTION_MAX_LENGTH:
        raise ValueError(f"description is longer than {DESCRIPTION_MAX_LENGTH} characters")
    return cell or None
