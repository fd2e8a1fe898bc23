"""GET /api/transactions/export.csv: the list's rows, byte for byte as csv writes them, streamed."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from typing import Any

import psycopg2
import pytest

from api_app.transactions.export import crlf_rows
from tests.budgeting.test_lists import walk
from tests.conftest import ServiceDatabases
from tests.eventually import eventually
from tests.users import SignedInUser

HEADER = ["date", "type", "amount", "category_id", "category", "description", "id", "created_at"]
AWKWARD_DESCRIPTIONS = [
    None,
    "",
    "plain",
    "with, a comma",
    'a "quoted" word',
    "two\nlines",
    "windows\r\nlines",
    "carriage\rreturn",
    "=SUM(A1:A9)",
    "+1",
    "-2 for fees",
    "@someone",
    "\tindented",
    "\rreturned first",
    "back\\slash and \\n not a newline",
    "control \x01 character",
    "ünïcödé ✓ 🚲",
    '",\n"',
    " leading space",
]


def as_text(cell: str) -> str:
    """The formula guard as users know it: a cell a spreadsheet would evaluate starts with '."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def expected_csv(transactions: list[dict[str, Any]], names: dict[str, str]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for item in transactions:
        writer.writerow(
            [
                item["date"],
                item["type"],
                item["amount"],
                item["category_id"],
                as_text(names[item["category_id"]]),
                as_text(item["description"] or ""),
                item["id"],
                item["created_at"],
            ]
        )
    return buffer.getvalue().encode()


def export(client: SignedInUser, query: str = "") -> bytes:
    response = client.get(f"/api/transactions/export.csv{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.get_data()


def test_the_export_is_the_list_byte_for_byte(
    alice: SignedInUser, bob: SignedInUser, test_databases: ServiceDatabases
) -> None:
    categories = [alice.category(name) for name in ["Food", "@home", 'Odd, "name"\nhere', "-x"]]
    names = {category["id"]: category["name"] for category in categories}
    for number, description in enumerate(AWKWARD_DESCRIPTIONS):
        category = categories[number % len(categories)]
        kind = "INCOME" if number % 3 == 0 else "EXPENSE"
        day = f"2024-0{1 + number % 3}-1{number % 5}"
        alice.transaction(
            category["id"], f"{number + 1}.{number % 10}0", day=day, kind=kind,
            description=description,
        )  # fmt: skip
    bob.transaction(bob.category("Food")["id"], "9.99")
    with psycopg2.connect(test_databases.api_url) as connection, connection.cursor() as cursor:
        # A timestamp on a whole second, which isoformat writes without a fraction.
        cursor.execute(
            "UPDATE transactions SET created_at = date_trunc('second', created_at)"
            " WHERE user_id = %s AND description = 'plain'",
            (str(alice.id),),
        )
    connection.close()

    everything = walk(alice, "/api/transactions", page_size=5)
    assert len(everything) == len(AWKWARD_DESCRIPTIONS)
    assert sum("." not in item["created_at"] for item in everything) == 1
    assert export(alice) == expected_csv(everything, names)

    query = f"?from=2024-02-01&to=2024-03-31&type=expense&category_id={categories[1]['id']}"
    filtered = walk(alice, f"/api/transactions{query}", page_size=100)
    assert filtered
    assert export(alice, query) == expected_csv(filtered, names)
    assert export(alice, "?from=2030-01-01") == expected_csv([], names)
    assert alice.get("/api/transactions/export.csv?type=nope").status_code == 422

    rows = list(csv.DictReader(io.StringIO(export(alice).decode(), newline="")))
    assert {row["description"] for row in rows} >= {"'=SUM(A1:A9)", "two\nlines", "'-2 for fees"}


def insert_history(
    databases: ServiceDatabases, user_id: uuid.UUID, category_id: str, count: int
) -> None:
    with psycopg2.connect(databases.api_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO transactions"
            " (user_id, category_id, type, amount, description, date, ledger_id)"
            " SELECT %s, id, 'EXPENSE', 1 + n %% 500,"
            "        CASE WHEN n %% 7 = 0 THEN 'line ' || n || E'\\n\"quoted\", too'"
            "             WHEN n %% 11 = 0 THEN '=' || n END,"
            "        DATE '2024-01-01' - n %% 700, ledger_id"
            " FROM categories, generate_series(1, %s) AS n WHERE id = %s",
            (str(user_id), count, category_id),
        )
    connection.close()


def test_a_long_export_streams_in_pieces_and_misses_nothing(
    alice: SignedInUser, test_databases: ServiceDatabases
) -> None:
    food = alice.category("Food")
    insert_history(test_databases, alice.id, food["id"], 6000)
    response = alice.client.get(
        "/api/transactions/export.csv", headers=alice.headers, buffered=False
    )
    pieces = list(response.response)
    response.close()
    assert len(pieces) > 3
    everything = walk(alice, "/api/transactions", page_size=100)
    assert len(everything) == 6000
    assert b"".join(pieces) == expected_csv(everything, {food["id"]: "Food"})


def copies_running(databases: ServiceDatabases) -> int:
    with psycopg2.connect(databases.api_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND state = 'active' AND query LIKE 'COPY%%'"
        )
        (count,) = cursor.fetchone()
    connection.close()
    return int(count)


def test_a_client_that_stops_reading_stops_the_query(
    alice: SignedInUser, test_databases: ServiceDatabases
) -> None:
    food = alice.category("Food")
    insert_history(test_databases, alice.id, food["id"], 20000)
    threads_before = threading.active_count()
    response = alice.client.get(
        "/api/transactions/export.csv", headers=alice.headers, buffered=False
    )
    chunks = iter(response.response)
    assert next(chunks).startswith(b"date,type,amount")
    assert next(chunks)
    response.close()  # what a WSGI server does when the client hangs up
    eventually(lambda: copies_running(test_databases) == 0, "the COPY to end with the client")
    assert threading.active_count() == threads_before
    # The connection pool is fine afterwards.
    assert export(alice, "?from=2030-01-01").startswith(b"date,")
    assert len(alice.get("/api/transactions?page_size=3").json) == 3


# COPY's output (rows end with LF) and what the client must get (rows end with CRLF).
CSV_SAMPLES = [
    ('a,b\n"x\ny",z\n', 'a,b\r\n"x\ny",z\r\n'),
    ('"""",\n"\n\n",""\n', '"""",\r\n"\n\n",""\r\n'),
    ("plain\nrows\nonly\n", "plain\r\nrows\r\nonly\r\n"),
    (
        '"a ""quoted"" cell\nover lines",2\n3,"\r\n"\n',
        '"a ""quoted"" cell\nover lines",2\r\n3,"\r\n"\r\n',
    ),
]


@pytest.mark.parametrize(("copied", "expected"), CSV_SAMPLES)
def test_row_ends_become_crlf_wherever_the_chunks_are_cut(copied: str, expected: str) -> None:
    data = copied.encode()
    for size in range(1, len(data) + 1):
        inside, converted = False, []
        for start in range(0, len(data), size):
            chunk, inside = crlf_rows(data[start : start + size], inside)
            converted.append(chunk)
        assert b"".join(converted) == expected.encode(), size
        assert inside is False


# Issue 22 item 10: text that a spreadsheet splitting on another separator than ours (`;` in
# many locales, a tab), or breaking rows at a line break inside a cell, would see as a formula.
SEPARATED_FORMULAS = [
    "x;=1+2;",
    "rent;+1;-2",
    'a,=HYPERLINK("http://example.com")',
    "tab\t@SUM(A1:A9)",
    "x; =1",
    'x;"=1"',
    "x;'=1",
    "line\n=1+2",
    "crlf\r\n-3",
    "\t\t=",
    "a;;-1",
    "'=already marked",
    "''@twice",
    "' =spaced",
    '"=quoted first',
    "ok; plain; text, really",
    "x;",
    ";",
]
FORMULA_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")


def formulas_seen_splitting_on(text: str, separator: str) -> list[str]:
    """Cells a naive reader splitting on `separator` (and at every line break) would run: those
    starting, after spaces and quotes, with a formula character."""
    cells = [cell for line in text.splitlines() for cell in line.split(separator)]
    return [cell for cell in cells if cell.lstrip(' "').startswith(FORMULA_CHARACTERS)]


def test_no_spreadsheet_sees_a_formula_whatever_it_splits_on(alice: SignedInUser) -> None:
    category = alice.category("Rent;=2+3")
    for description in SEPARATED_FORMULAS:
        alice.transaction(category["id"], "1.00", description=description)
    exported = export(alice).decode()
    for separator in (";", ",", "\t"):
        assert formulas_seen_splitting_on(exported, separator) == [], separator
