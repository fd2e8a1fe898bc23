"""Transactions as CSV for spreadsheets, written by PostgreSQL's COPY and streamed as it comes.

The list's own select() (its filters and order) becomes `COPY (SELECT ...) TO STDOUT WITH CSV`,
its cells formatted in SQL exactly as Python's csv module would write them: ISO dates and
timestamps as `isoformat()` makes them, amounts with two decimals, and a ' before text that a
spreadsheet would run as a formula, at a cell's start or after a separator (_as_text).
PostgreSQL quotes cells as the csv module does (a cell with a comma, a quote, a CR or an LF),
so the rows are byte for byte what csv writes, except that COPY ends them with LF: the stream
turns those into the CRLF of RFC 4180, leaving line breaks inside quoted cells alone.

psycopg2's copy_expert pushes the rows into a file; a thread runs it into a pipe whose other end
the response reads, so memory stays at a pipe's worth however long the history, and a client
that stops reading stops the query.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import os
import threading
from collections.abc import Iterator
from typing import Any, Final

from sqlalchemy import ColumnElement, Engine, Select, Text, func
from sqlalchemy.orm import InstrumentedAttribute

from api_app.models import Category, Transaction

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
# A spreadsheet runs text as a formula where a cell starts with = + - @ TAB or CR, also after
# spaces or quotes. A cell starts at the start of ours, and for a spreadsheet that splits rows
# on another separator than ours (`;` in many locales, a tab) or breaks them at a line break
# inside a quoted cell, after each of ; , TAB CR LF too. A ' put at each such place keeps the
# text (csv_import takes it off again: FORMULA_GUARD).
# PostgreSQL's regular expressions (export) and Python's (import) read these alike.
_SEPARATOR: Final = "[;,\t\r\n]"
_FORMULA_AHEAD: Final = "(?=['\" ]*[-=+@\t\r])"
FORMULA_GUARD: Final = f"(^|{_SEPARATOR})'{_FORMULA_AHEAD}"
CHUNK_BYTES: Final = 64 * 1024
# The pipe from the COPY to the response holds this much (Linux's default is 64 KiB), so neither
# side waits on the other for every piece.
PIPE_BYTES: Final = 1024 * 1024


class ExportInterruptedError(RuntimeError):
    """The database stopped sending rows before the end: the response is cut short on purpose."""


def header_line() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(HEADER)
    return buffer.getvalue().encode()


def csv_rows(transactions: Select[tuple[Transaction]]) -> Select[Any]:
    """The list's rows (its filters, its order) as the CSV's cells, formatted by PostgreSQL."""
    return transactions.join(Category, Category.id == Transaction.category_id).with_only_columns(
        # As COPY writes them: dates in the ISO style (set for the export's transaction), the
        # type's name, numeric(12, 2) with its two decimals, uuids in lower case.
        Transaction.date,
        Transaction.type,
        Transaction.amount,
        Transaction.category_id,
        _as_text(Category.name),
        # NULL, not '': COPY writes an empty string as "" but NULL as nothing, as csv did.
        _as_text(func.nullif(Transaction.description, "")),
        Transaction.id,
        _isoformat(Transaction.created_at),
        maintain_column_froms=True,
    )


def csv_stream(engine: Engine, rows: Select[Any]) -> Iterator[bytes]:
    """The header, then the rows as COPY writes them, with CRLF line ends."""
    yield header_line()
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        compiled = rows.compile(dialect=engine.dialect)
        parameters = {
            name: _bound(compiled.binds[name].type, engine, value)
            for name, value in compiled.params.items()
        }
        select_sql = cursor.mogrify(compiled.string, parameters).decode()
        yield from _copied(connection, cursor, f"COPY ({select_sql}) TO STDOUT WITH (FORMAT csv)")
    except BaseException:
        # A COPY cut short leaves the connection mid-protocol: never reuse it.
        connection.invalidate()
        raise
    finally:
        connection.close()


def _copied(connection: Any, cursor: Any, copy_sql: str) -> Iterator[bytes]:
    read_end, write_end = os.pipe()
    with contextlib.suppress(AttributeError, OSError):  # Linux only, and the limit may be lower
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    failures: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_end, "wb", buffering=CHUNK_BYTES) as sink:
                cursor.copy_expert(copy_sql, sink)
        except BaseException as error:  # handed to the reading side, which raises it
            failures.append(error)

    producer = threading.Thread(target=produce, name="csv-export", daemon=True)
    producer.start()
    finished = False
    try:
        with open(read_end, "rb", buffering=0) as source:
            inside_quotes = False
            while chunk := source.read(CHUNK_BYTES):
                converted, inside_quotes = crlf_rows(chunk, inside_quotes)
                yield converted
        finished = True
    finally:
        if not finished:
            # The client went away: stop the query rather than wait for it to fill the pipe.
            connection.driver_connection.cancel()
        producer.join()
    if failures:
        raise ExportInterruptedError("the CSV export stopped before its last row") from failures[0]


def crlf_rows(chunk: bytes, inside_quotes: bool) -> tuple[bytes, bool]:
    """`chunk` of COPY's CSV with its row ends made CRLF; whether it ends inside a quoted cell.

    Every quote character belongs to a quoted cell (COPY quotes a cell that contains one), so
    an LF is inside a cell exactly when an odd number of quotes precedes it in the stream.
    """
    if b'"' not in chunk:
        return (chunk if inside_quotes else chunk.replace(b"\n", b"\r\n")), inside_quotes
    pieces = chunk.split(b'"')
    for outside in range(1 if inside_quotes else 0, len(pieces), 2):
        pieces[outside] = pieces[outside].replace(b"\n", b"\r\n")
    return b'"'.join(pieces), inside_quotes ^ (len(pieces) % 2 == 0)


def _as_text(cell: ColumnElement[Any] | InstrumentedAttribute[Any]) -> ColumnElement[str]:
    # The start apart: PostgreSQL takes the longest of `^|[;...]`, so one pattern for both would
    # miss the start of "\t\t=". A NULL stays NULL.
    after_separators = func.regexp_replace(
        cell, f"({_SEPARATOR}){_FORMULA_AHEAD}", "\\1'", "g", type_=Text
    )
    return func.regexp_replace(after_separators, f"^{_FORMULA_AHEAD}", "'", type_=Text)


def _isoformat(moment: InstrumentedAttribute[Any]) -> ColumnElement[str]:
    """What datetime.isoformat() writes: no fraction when the microseconds are 0."""
    full = func.to_char(moment, 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM', type_=Text)
    return func.replace(full, ".000000", "", type_=Text)


def _bound(kind: Any, engine: Engine, value: Any) -> Any:
    """A parameter as SQLAlchemy would hand it to psycopg2 (enums as names, uuids as text)."""
    processor = kind.dialect_impl(engine.dialect).bind_processor(engine.dialect)
    return value if processor is None else processor(value)
