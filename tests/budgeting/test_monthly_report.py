"""GET /api/reports/monthly: income, expenses and categories for every month of a range."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.users import SignedInUser


def report(user: SignedInUser, query: str) -> list[dict[str, Any]]:
    response = user.get(f"/api/reports/monthly?{query}")
    assert response.status_code == 200, response.json
    body: list[dict[str, Any]] = response.json
    return body


def test_every_month_of_the_range_is_present_with_zeros_where_empty(alice: SignedInUser) -> None:
    food, salary = alice.category("Food"), alice.category("Salary")
    alice.transaction(salary["id"], "3000.00", "2023-11-30", kind="INCOME")
    alice.transaction(food["id"], "12.50", "2023-11-01")
    alice.transaction(food["id"], "7.50", "2023-11-30")
    alice.transaction(food["id"], "5.00", "2024-02-29")
    alice.transaction(food["id"], "99.00", "2023-10-31")  # before the range
    alice.transaction(food["id"], "99.00", "2024-03-01")  # after it

    months = report(alice, "from=2023-11&to=2024-02")

    assert [(m["year"], m["month"]) for m in months] == [
        (2023, 11), (2023, 12), (2024, 1), (2024, 2),
    ]  # fmt: skip
    november, december, january, february = months
    assert (november["income"], november["expense"], november["net"]) == (
        "3000.00", "20.00", "2980.00",
    )  # fmt: skip
    assert november["categories"] == [
        {"category_id": food["id"], "name": "Food", "spent": "20.00", "limit": None}
    ]
    for empty in (december, january):
        assert empty == {
            "year": empty["year"], "month": empty["month"],
            "income": "0.00", "expense": "0.00", "net": "0.00", "categories": [],
        }  # fmt: skip
    assert (february["expense"], february["net"]) == ("5.00", "-5.00")


def test_categories_with_a_limit_or_spending_appear_by_name(alice: SignedInUser) -> None:
    food, rent, fun = alice.category("Food"), alice.category("Rent"), alice.category("Fun")
    alice.budget(2024, 1, limits={rent["id"]: "1000", food["id"]: "300"})
    alice.transaction(food["id"], "310.00", "2024-01-10")
    alice.transaction(fun["id"], "20.00", "2024-01-11")
    alice.transaction(fun["id"], "5.00", "2024-02-11")
    alice.transaction(rent["id"], "50.00", "2024-02-11", kind="INCOME")  # income is no spending

    january, february = report(alice, "from=2024-01&to=2024-02")

    assert january["categories"] == [
        {"category_id": food["id"], "name": "Food", "spent": "310.00", "limit": "300.00"},
        {"category_id": fun["id"], "name": "Fun", "spent": "20.00", "limit": None},
        {"category_id": rent["id"], "name": "Rent", "spent": "0.00", "limit": "1000.00"},
    ]
    assert february["categories"] == [
        {"category_id": fun["id"], "name": "Fun", "spent": "5.00", "limit": None}
    ]
    assert (february["income"], february["expense"]) == ("50.00", "5.00")


def test_each_month_agrees_with_the_monthly_summary(alice: SignedInUser) -> None:
    food, salary = alice.category("Food"), alice.category("Salary")
    alice.budget(2024, 5, limits={food["id"]: "100"})
    for day, amount in (("2024-04-30", "10.00"), ("2024-05-01", "0.01"), ("2024-05-31", "99.99")):
        alice.transaction(food["id"], amount, day)
    alice.transaction(salary["id"], "1234.56", "2024-05-15", kind="INCOME")
    for month in report(alice, "from=2024-04&to=2024-06"):
        summary = alice.get(
            f"/api/budgets/summary?year={month['year']}&month={month['month']}"
        ).json
        assert {key: month[key] for key in ("income", "expense", "net")} == {
            key: summary[key] for key in ("income", "expense", "net")
        }
        assert [(c["category_id"], c["spent"], c["limit"]) for c in month["categories"]] == [
            (c["category_id"], c["spent"], c["limit"]) for c in summary["categories"]
        ]


def test_a_range_across_the_new_year_and_of_one_month(alice: SignedInUser) -> None:
    food = alice.category("Food")
    alice.transaction(food["id"], "1.00", "2024-12-31")
    alice.transaction(food["id"], "2.00", "2025-01-01")
    months = report(alice, "from=2024-12&to=2025-01")
    assert [(m["year"], m["month"], m["expense"]) for m in months] == [
        (2024, 12, "1.00"), (2025, 1, "2.00"),
    ]  # fmt: skip
    assert [m["expense"] for m in report(alice, "from=2025-01&to=2025-01")] == ["2.00"]


def test_36_months_at_most(alice: SignedInUser) -> None:
    assert len(report(alice, "from=2022-01&to=2024-12")) == 36
    response = alice.get("/api/reports/monthly?from=2022-01&to=2025-01")
    assert response.status_code == 422
    assert "to" in response.json["errors"]["query"]


@pytest.mark.parametrize(
    "query",
    [
        "from=2024-13&to=2024-12", "from=2024-1&to=2024-12", "from=2024-01-01&to=2024-12",
        "from=1999-12&to=2000-01", "from=x&to=2024-01", "from=2024-05&to=2024-04",
        "from=2000-01",
    ],
)  # fmt: skip
def test_bad_ranges_are_refused(alice: SignedInUser, query: str) -> None:
    response = alice.get(f"/api/reports/monthly?{query}")
    assert response.status_code == 422
    assert set(response.json) == {"code", "status", "message", "errors"}


def test_the_default_is_the_last_twelve_months_in_the_users_time_zone(alice: SignedInUser) -> None:
    assert alice.patch("/api/users/me", json={"timezone": "Pacific/Kiritimati"}).status_code == 200
    today = datetime.now(UTC).astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    months = report(alice, "")
    assert len(months) == 12
    assert (months[-1]["year"], months[-1]["month"]) == (today.year, today.month)
    only_to = report(alice, "to=2024-06")
    assert [(m["year"], m["month"]) for m in (only_to[0], only_to[-1])] == [(2023, 7), (2024, 6)]
    only_from = report(alice, f"from={today.year}-{today.month:02d}")
    assert [(m["year"], m["month"]) for m in only_from] == [(today.year, today.month)]


def test_other_users_rows_never_count(alice: SignedInUser, bob: SignedInUser) -> None:
    bobs_food = bob.category("Food")
    bob.budget(2024, 3, limits={bobs_food["id"]: "5"})
    bob.transaction(bobs_food["id"], "99.00", "2024-03-02")
    alice.category("Food")
    [march] = report(alice, "from=2024-03&to=2024-03")
    assert (march["expense"], march["categories"]) == ("0.00", [])


def test_the_report_needs_a_token(alice: SignedInUser) -> None:
    assert alice.client.get("/api/reports/monthly").status_code == 401
