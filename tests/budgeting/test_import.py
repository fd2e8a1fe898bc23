"""POST /api/transactions/import: CSV statements in, all rows or none, duplicates counted."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
from flask import Flask
from werkzeug.test import TestResponse

from event_contract import BUDGET_LIMIT_EXCEEDED, BUDGET_THRESHOLD_REACHED
from tests.budgeting.test_concurrency import wait_until_a_request_waits_for_a_lock
from tests.budgeting.test_export import SEPARATED_FORMULAS
from tests.conftest import ServiceDatabases
from tests.people import outbox_payloads
from tests.users import SignedInUser

IMPORT = "/api/transactions/import"
BANK_HEADER = "date,amount,description,category\n"


def upload(user: SignedInUser, content: bytes | str, **form: str) -> TestResponse:
    data = content.encode() if isinstance(content, str) else content
    return user.post(
        IMPORT,
        data={"file": (io.BytesIO(data), "statement.csv"), **form},
        content_type="multipart/form-data",
    )


def imported(user: SignedInUser, content: bytes | str, **form: str) -> dict[str, Any]:
    response = upload(user, content, **form)
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def listed(user: SignedInUser) -> list[tuple[str, str, str, str, str | None]]:
    """(date, type, amount, category name, description) of every transaction, sorted."""
    names = {c["id"]: c["name"] for c in user.get("/api/categories?page_size=100").json}
    items = user.get("/api/transactions?page_size=100").json
    return sorted(
        (i["date"], i["type"], i["amount"], names[i["category_id"]], i["description"])
        for i in items
    )


def test_an_export_imported_into_another_account_reproduces_its_transactions(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    food, salary = alice.category("Food"), alice.category("Salary")
    alice.transaction(food["id"], "12.50", "2024-03-15", description="Market, stall 3")
    alice.transaction(food["id"], "3.20", "2024-03-16", description='He said "coffee"\nand left')
    alice.transaction(food["id"], "3.20", "2024-03-16", description='He said "coffee"\nand left')
    alice.transaction(food["id"], "7.00", "2024-03-17", description="=cmd|' /C calc'!A0")
    alice.transaction(food["id"], "1.00", "2024-03-17", description="-minus and +plus")
    alice.transaction(food["id"], "9.99", "2024-02-29")
    alice.transaction(salary["id"], "3000", "2024-03-01", kind="INCOME", description="Pay")
    export = alice.get("/api/transactions/export.csv").get_data()
    bob.category("food")  # names match in any letter case
    bob.category("Salary")

    result = imported(bob, export)

    assert result == {"created": 7, "duplicates": 0, "errors": []}
    assert [(d, t, a, n.capitalize(), s) for d, t, a, n, s in listed(bob)] == listed(alice)


def test_an_export_imported_into_the_same_account_is_all_duplicates(alice: SignedInUser) -> None:
    food = alice.category("Food")
    alice.transaction(food["id"], "2.50", "2024-03-16", description="Coffee")
    alice.transaction(food["id"], "2.50", "2024-03-16", description="Coffee")
    alice.transaction(food["id"], "8.00", "2024-03-17")
    before = listed(alice)
    export = alice.get("/api/transactions/export.csv").get_data()
    assert imported(alice, export) == {"created": 0, "duplicates": 3, "errors": []}
    assert listed(alice) == before


def test_duplicates_are_counted_per_occurrence(alice: SignedInUser) -> None:
    food = alice.category("Food")
    alice.transaction(food["id"], "2.50", "2024-03-16", description="Coffee")
    two_coffees = BANK_HEADER + "2024-03-16,-2.50,Coffee,Food\n" * 2
    # One of the two is already there: one is created.
    assert imported(alice, two_coffees) == {"created": 1, "duplicates": 1, "errors": []}
    # The same file again creates nothing.
    assert imported(alice, two_coffees) == {"created": 0, "duplicates": 2, "errors": []}
    assert len(alice.get("/api/transactions").json) == 2
    # Another amount, description, type or day is another transaction.
    others = (
        BANK_HEADER
        + "2024-03-16,-2.60,Coffee,Food\n"
        + "2024-03-16,-2.50,Tea,Food\n"
        + "2024-03-16,2.50,Coffee,Food\n"
        + "2024-03-17,-2.50,Coffee,Food\n"
    )
    assert imported(alice, others) == {"created": 4, "duplicates": 0, "errors": []}


def test_two_identical_rows_of_one_file_are_two_transactions(alice: SignedInUser) -> None:
    alice.category("Food")
    result = imported(alice, BANK_HEADER + "2024-03-16,-2.50,Coffee,Food\n" * 2)
    assert result == {"created": 2, "duplicates": 0, "errors": []}


def test_a_bank_statement_with_semicolons_bom_dotted_dates_and_decimal_commas(
    alice: SignedInUser,
) -> None:
    food, salary = alice.category("Food"), alice.category("Salary")
    other = alice.category("Other")
    statement = (
        "\ufeffBuchung;Date;Amount;Description;Category;Balance\n"
        "1;01.02.2024;-12,5;Bäckerei;FOOD;100,00\n"
        "2;2024-02-02;+2500,00;Gehalt;salary;2600,00\n"
        "3;29.02.2024;-7;Kiosk;;2593,00\n"
    ).encode()
    result = imported(alice, statement, default_category_id=other["id"])
    assert result == {"created": 3, "duplicates": 0, "errors": []}
    assert listed(alice) == [
        ("2024-02-01", "EXPENSE", "12.50", "Food", "Bäckerei"),
        ("2024-02-02", "INCOME", "2500.00", "Salary", "Gehalt"),
        ("2024-02-29", "EXPENSE", "7.00", "Other", "Kiosk"),
    ]
    assert {food["id"], salary["id"]} <= {
        item["category_id"] for item in alice.get("/api/transactions").json
    }


def test_a_dry_run_says_what_would_happen_and_records_nothing(alice: SignedInUser) -> None:
    food = alice.category("Food")
    alice.transaction(food["id"], "2.50", "2024-03-16", description="Coffee")
    statement = BANK_HEADER + "2024-03-16,-2.50,Coffee,Food\n2024-03-17,-4.00,,Food\n"
    result = imported(alice, statement, dry_run="true")
    assert result == {
        "created": 1,
        "duplicates": 1,
        "errors": [],
        "transactions": [
            {"date": "2024-03-17", "type": "EXPENSE", "amount": "4.00",
             "category_id": food["id"], "description": None},
        ],
    }  # fmt: skip
    assert len(alice.get("/api/transactions").json) == 1


def test_any_row_error_imports_nothing_and_lists_every_error_by_line(alice: SignedInUser) -> None:
    alice.category("Food")
    statement = (
        BANK_HEADER
        + "2024-03-16,-2.50,Coffee,Food\n"  # line 2: fine
        + "2024-02-30,-1.00,Bad day,Food\n"  # line 3
        + '2024-03-17,-1.00,"two\nlines",Food\n'  # lines 4-5: fine
        + "2024-03-18,abc,Bad amount,Food\n"  # line 6
        + "2024-03-18,-1.00,No such category,Fuel\n"  # line 7
        + "2024-03-18,-1.00,No category\n"  # line 8: a cell short
        + "2024-03-18,0,Nothing,Food\n"  # line 9
        + "2024-03-18,-1.00,No category given,\n"  # line 10: no default_category_id
    )
    response = upload(alice, statement)
    assert response.status_code == 422
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert [error["line"] for error in response.json["errors"]] == [3, 6, 7, 8, 9, 10]
    assert all(error["message"] for error in response.json["errors"])
    assert alice.get("/api/transactions").json == []


def test_an_import_over_a_limit_alerts_once_for_the_category_month(
    api: Flask, alice: SignedInUser
) -> None:
    food = alice.category("Food")
    alice.budget(2024, 3, limits={food["id"]: "100"})
    statement = BANK_HEADER + "".join(
        f"2024-03-{day:02d},-30.00,Lunch,Food\n" for day in range(1, 6)
    )
    assert imported(alice, statement)["created"] == 5
    alerts = outbox_payloads(api, alice.id, BUDGET_LIMIT_EXCEEDED)
    assert [(a["year"], a["month"], a["spent"]) for a in alerts] == [(2024, 3, "150.00")]
    assert outbox_payloads(api, alice.id, BUDGET_THRESHOLD_REACHED) == []


def test_files_that_cannot_be_read_are_refused(alice: SignedInUser) -> None:
    alice.category("Food")
    for content, line in [
        (b"", 1),
        (b"when,how much,what\n2024-01-01,1,x\n", 1),
        (b"date,amount,description\n2024-01-01,-1,caf\xe9\n", 2),
        (b'date,amount,description\n2024-01-01,-1,"open\n', 2),
    ]:
        response = upload(alice, content)
        assert response.status_code == 422, content
        [error] = response.json["errors"]
        assert error["line"] == line, (content, error)
    assert alice.get("/api/transactions").json == []


def test_at_most_10000_rows(alice: SignedInUser) -> None:
    food = alice.category("Food")
    row = "2024-03-16,-1.00,Coffee\n"
    response = upload(alice, "date,amount,description\n" + row * 10_001,
                      default_category_id=food["id"])  # fmt: skip
    assert response.status_code == 422
    assert response.json["errors"] == [
        {"line": 10_002, "message": "a file holds at most 10000 rows"}
    ]
    result = imported(alice, "date,amount,description\n" + row * 10_000,
                      default_category_id=food["id"], dry_run="true")  # fmt: skip
    assert result["created"] == 10_000


def test_at_most_5_mib(alice: SignedInUser) -> None:
    food = alice.category("Food")
    header = b"date,amount,description\n2024-03-16,-1.00,"
    response = upload(alice, header + b"x" * (5 * 1024 * 1024), default_category_id=food["id"])
    assert response.status_code == 413
    assert set(response.json) == {"code", "status", "message", "errors"}


def test_the_request_itself_is_checked(alice: SignedInUser, bob: SignedInUser) -> None:
    bobs = bob.category("Food")
    statement = BANK_HEADER + "2024-03-16,-2.50,Coffee,\n"
    assert upload(alice, statement, default_category_id=bobs["id"]).status_code == 404
    assert upload(alice, statement, default_category_id="nope").status_code == 422
    assert upload(alice, statement, dry_run="perhaps").status_code == 422
    no_file = alice.post(IMPORT, data={"dry_run": "true"}, content_type="multipart/form-data")
    assert no_file.status_code == 422
    assert "file" in no_file.json["errors"]["multipart"]
    assert alice.post(IMPORT, json={"file": "x"}).status_code == 422
    assert alice.client.post(IMPORT).status_code == 401
    assert alice.get("/api/transactions").json == []


def test_the_export_of_an_import_reads_the_same(alice: SignedInUser, bob: SignedInUser) -> None:
    alice.category("Food")
    imported(alice, BANK_HEADER + "2024-03-16,-2.50,@home,Food\n")
    export = alice.get("/api/transactions/export.csv").get_data(as_text=True)
    [row] = list(csv.DictReader(io.StringIO(export)))
    assert row["description"] == "'@home"  # kept from running as a formula in a spreadsheet
    bob.category("Food")
    imported(bob, export)
    assert listed(bob) == listed(alice)


def test_text_guarded_against_spreadsheets_reads_back_unchanged(
    alice: SignedInUser, bob: SignedInUser
) -> None:
    food = alice.category("Rent;=2+3")
    for description in SEPARATED_FORMULAS:
        alice.transaction(food["id"], "1.00", description=description)
    export = alice.get("/api/transactions/export.csv").get_data()
    bob.category("Rent;=2+3")
    assert imported(bob, export)["created"] == len(SEPARATED_FORMULAS)
    assert listed(bob) == listed(alice)
    assert {row[4] for row in listed(bob)} == set(SEPARATED_FORMULAS)


def test_an_import_waits_for_the_users_import_in_progress_and_counts_what_it_created(
    alice: SignedInUser, test_databases: ServiceDatabases
) -> None:
    """Another import of the same file holds the user's import lock and has inserted its rows
    when this one starts: this one must wait, then count them as duplicates. Without the lock it
    would count nothing and create every row a second time."""
    food = alice.category("Food")
    statement = BANK_HEADER + "2024-03-16,-2.50,Coffee,Food\n2024-03-17,-4.00,Tea,Food\n"
    holder = psycopg2.connect(test_databases.api_url)
    watcher = psycopg2.connect(test_databases.api_url)
    watcher.autocommit = True
    try:
        with holder.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM ledgers WHERE personal_user_id = %s FOR NO KEY UPDATE",
                (str(alice.id),),
            )
            cursor.executemany(
                "INSERT INTO transactions"
                " (user_id, category_id, type, amount, date, description, ledger_id)"
                " SELECT %s, id, 'EXPENSE', %s, %s, %s, ledger_id FROM categories WHERE id = %s",
                [
                    (str(alice.id), "2.50", "2024-03-16", "Coffee", food["id"]),
                    (str(alice.id), "4.00", "2024-03-17", "Tea", food["id"]),
                ],
            )
            with ThreadPoolExecutor(1) as pool:
                answer = pool.submit(upload, alice, statement)
                wait_until_a_request_waits_for_a_lock(watcher.cursor())
                holder.commit()
                response = answer.result()
    finally:
        holder.close()
        watcher.close()
    assert response.status_code == 200, response.json
    assert response.json == {"created": 0, "duplicates": 2, "errors": []}
    assert len(alice.get("/api/transactions").json) == 2
