"""GET /api/budgets/summary: exact totals, limits at their boundary, a month's rows only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import pytest
from flask import Flask
from sqlalchemy import event

from api_app.budgets.spending import spent_in_month
from api_app.extensions import db
from tests.conftest import ServiceDatabases
from tests.users import SignedInUser

INDEX = "transactions_ledger_id_date_idx"


def summary(client: SignedInUser, year: int = 2024, month: int = 3) -> dict[str, Any]:
    response = client.get(f"/api/budgets/summary?year={year}&month={month}")
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def test_money_adds_up_exactly_and_spending_the_limit_is_not_over(alice: SignedInUser) -> None:
    food = alice.category("Food", icon="🍎")
    alice.budget(limits={food["id"]: "0.30"})
    alice.transaction(food["id"], "0.10")
    alice.transaction(food["id"], 0.2)
    assert summary(alice) == {
        "year": 2024,
        "month": 3,
        "income": "0.00",
        "expense": "0.30",
        "net": "-0.30",
        "categories": [
            {
                "category_id": food["id"],
                "name": "Food",
                "icon": "🍎",
                "limit": "0.30",
                "spent": "0.30",
                "remaining": "0.00",
                "percent": 100.0,
                "over_limit": False,
            }
        ],
    }
    alice.transaction(food["id"], "0.01")
    [over] = summary(alice)["categories"]
    assert (over["spent"], over["remaining"], over["percent"], over["over_limit"]) == (
        "0.31", "-0.01", 103.33, True,
    )  # fmt: skip


def test_one_cent_over_a_large_limit_is_over_even_if_the_percentage_rounds_to_100(
    alice: SignedInUser,
) -> None:
    food = alice.category("Food")
    alice.budget(limits={food["id"]: "1000000.00"})
    alice.transaction(food["id"], "1000000.01")
    [category] = summary(alice)["categories"]
    assert (category["percent"], category["over_limit"], category["remaining"]) == (
        100.0, True, "-0.01",
    )  # fmt: skip


def test_every_category_with_a_limit_or_spending_appears(alice: SignedInUser) -> None:
    food = alice.category("Food")
    rent = alice.category("Rent")
    salary = alice.category("Salary")
    alice.category("Unused")
    alice.budget(limits={rent["id"]: "900"})
    alice.transaction(food["id"], "12.34")
    alice.transaction(salary["id"], "2500", kind="INCOME")
    body = summary(alice)
    assert (body["income"], body["expense"], body["net"]) == ("2500.00", "12.34", "2487.66")
    assert body["categories"] == [
        {
            "category_id": food["id"], "name": "Food", "icon": None, "limit": None,
            "spent": "12.34", "remaining": None, "percent": None, "over_limit": False,
        },
        {
            "category_id": rent["id"], "name": "Rent", "icon": None, "limit": "900.00",
            "spent": "0.00", "remaining": "900.00", "percent": 0.0, "over_limit": False,
        },
    ]  # fmt: skip


def test_without_a_budget_spending_still_shows(alice: SignedInUser) -> None:
    food = alice.category("Food")
    alice.transaction(food["id"], "3.00")
    [category] = summary(alice)["categories"]
    assert (category["spent"], category["limit"]) == ("3.00", None)


def test_an_empty_month(alice: SignedInUser) -> None:
    assert summary(alice, 2030, 1) == {
        "year": 2030, "month": 1, "income": "0.00", "expense": "0.00", "net": "0.00",
        "categories": [],
    }  # fmt: skip


@pytest.mark.parametrize(("year", "month"), [(2024, 3), (2023, 12)])
def test_only_the_month_counts_first_and_last_day_included(
    alice: SignedInUser, year: int, month: int
) -> None:
    food = alice.category("Food")
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    last_day = 31
    alice.transaction(food["id"], "1.00", f"{year}-{month:02d}-01")
    alice.transaction(food["id"], "2.00", f"{year}-{month:02d}-{last_day}")
    alice.transaction(food["id"], "40.00", f"{next_year}-{next_month:02d}-01")
    previous_month = 2 if month == 3 else 11
    alice.transaction(food["id"], "80.00", f"{year}-{previous_month:02d}-28")
    assert summary(alice, year, month)["expense"] == "3.00"


@pytest.mark.parametrize(
    "query",
    ["", "year=2024", "month=3", "year=2024&month=13", "year=1999&month=1", "year=x&month=1"],
)
def test_year_and_month_are_required_and_checked(alice: SignedInUser, query: str) -> None:
    assert alice.get(f"/api/budgets/summary?{query}").status_code == 422


def test_other_users_rows_never_count(alice: SignedInUser, bob: SignedInUser) -> None:
    food = alice.category("Food")
    bobs_food = bob.category("Food")
    bob.budget(limits={bobs_food["id"]: "5"})
    bob.transaction(bobs_food["id"], "99.00")
    bob.transaction(bobs_food["id"], "50.00", kind="INCOME")
    alice.transaction(food["id"], "1.00")
    body = summary(alice)
    assert (body["income"], body["expense"]) == ("0.00", "1.00")
    assert [category["category_id"] for category in body["categories"]] == [food["id"]]


def test_spent_in_month_is_one_categorys_expenses_of_one_month(
    alice: SignedInUser, bob: SignedInUser, api: Flask
) -> None:
    food = alice.category("Food")
    rent = alice.category("Rent")
    alice.transaction(food["id"], "0.10", "2024-03-01")
    alice.transaction(food["id"], "0.20", "2024-03-31")
    alice.transaction(food["id"], "7.00", "2024-03-10", kind="INCOME")
    alice.transaction(food["id"], "5.00", "2024-04-01")
    alice.transaction(rent["id"], "900.00", "2024-03-01")
    bob.transaction(bob.category("Food")["id"], "3.00", "2024-03-05")
    with api.app_context():
        assert str(spent_in_month(alice.id, uuid.UUID(food["id"]), 2024, 3)) == "0.30"
        assert str(spent_in_month(alice.id, uuid.UUID(food["id"]), 2024, 5)) == "0.00"
        assert str(spent_in_month(bob.id, uuid.UUID(food["id"]), 2024, 3)) == "0.00"
    assert summary(alice)["categories"][0]["spent"] == "0.30"


@contextmanager
def recorded_statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def fill_history(database_url: str, owner: SignedInUser, category_id: str, amount: str) -> None:
    """Six years of expenses, three a day, in one category."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO transactions (user_id, category_id, type, amount, date, ledger_id)
            SELECT %(user)s::uuid, id, 'EXPENSE', %(amount)s::numeric, day, ledger_id
            FROM categories,
                 generate_series('2019-01-01'::date, '2024-12-31'::date, '1 day') AS day,
                 generate_series(1, 3)
            WHERE id = %(category)s::uuid
            """,
            {"user": str(owner.id), "category": category_id, "amount": amount},
        )
        cursor.execute("ANALYZE transactions")
    connection.close()


def test_the_summary_reads_only_that_months_rows_through_the_index(
    alice: SignedInUser, bob: SignedInUser, api: Flask, test_databases: ServiceDatabases
) -> None:
    food = alice.category("Food")
    alice.budget(limits={food["id"]: "100"})
    fill_history(test_databases.api_url, alice, food["id"], "1.25")
    fill_history(test_databases.api_url, bob, bob.category("Food")["id"], "2.00")

    with recorded_statements(api) as statements:
        body = summary(alice)
    assert body["expense"] == "116.25"  # 31 days x 3 x 1.25
    assert body["categories"][0]["over_limit"] is True

    # One statement checks the token's user, the summary itself takes two aggregates.
    assert len(statements) <= 3, statements
    touching_transactions = [s for s in statements if "transactions" in s[0]]
    assert touching_transactions
    with psycopg2.connect(test_databases.api_url) as connection, connection.cursor() as cursor:
        for statement, parameters in touching_transactions:
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan on transactions" not in plan, plan
            lines = plan.splitlines()
            scan = next(i for i, line in enumerate(lines) if INDEX in line)
            # The month is the index range, not a filter over the user's whole history.
            index_condition = next(line for line in lines[scan:] if "Index Cond" in line)
            assert "date >= '2024-03-01'" in index_condition, plan
            assert "date < '2024-04-01'" in index_condition, plan
    connection.close()
