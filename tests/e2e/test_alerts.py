"""Issue 6 through the API: every way a limit is crossed or a goal reached sends one message.

Ann has linked a chat and a November 2026 budget that limits Food to 500.00. Each test makes
changes through the HTTP API and checks what Ann sees: the answers, the messages her chat
received, and her notification history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import Rows, sent_messages, settled_history
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

CHAT_ID = "-1001234567890"
NOVEMBER = "2026-11-10"
WAIT = 30.0


@dataclass(frozen=True)
class Budgeted:
    person: SignedInUser
    food: str
    budget_id: str


@pytest.fixture
def ann(register: Callable[[], SignedInUser], celery_worker: LaunchedProcess) -> Budgeted:
    ann = register()
    # Limit and goal alerts alone: heads-up warnings have their own tests (tests/test_warnings.py).
    assert (
        ann.settings(telegram_chat_id=CHAT_ID, warn_at_percent=None)["telegram_chat_id"] == CHAT_ID
    )
    food = ann.category_id("Food")
    return Budgeted(ann, food, ann.budget(2026, 11, {food: "500.00"})["id"])


def food_alert(spent: str, limit: str, percent: int) -> tuple[str, str]:
    return (
        CHAT_ID,
        f"Budget alert: Food for November 2026 is over its limit: {spent} spent of {limit}"
        f" ({percent}%).",
    )


def test_an_expense_over_the_limit_alerts_once_until_spending_falls_back_under_it(
    ann: Budgeted, rows: Rows, telegram: TelegramStandIn
) -> None:
    user = ann.person
    first = user.transaction(ann.food, "520.00", NOVEMBER)
    telegram.wait_for_messages(1, timeout=WAIT)
    assert telegram.messages == [
        {
            "chat_id": CHAT_ID,
            "text": "Budget alert: Food for November 2026 is over its limit:"
            " 520.00 spent of 500.00 (104%).",
            "disable_web_page_preview": True,
        }
    ]

    # Already over: a second expense in the month says nothing new.
    second = user.transaction(ann.food, "30.00", "2026-11-20")
    assert [row["status"] for row in settled_history(user, rows)] == ["sent"]

    user.expect(204, "DELETE", f"/api/transactions/{second['id']}")
    user.expect(204, "DELETE", f"/api/transactions/{first['id']}")
    summary = user.expect(200, "GET", "/api/budgets/summary?year=2026&month=11")
    (food,) = summary["categories"]
    assert (food["spent"], food["over_limit"]) == ("0.00", False)
    assert len(settled_history(user, rows)) == 1

    # Back under the limit, crossing it again is news again.
    user.transaction(ann.food, "501.00", "2026-11-28")
    history = settled_history(user, rows)
    assert [(row["status"], row["chat_id"], row["text"]) for row in history] == [
        ("sent", *food_alert("501.00", "500.00", 100)),
        ("sent", *food_alert("520.00", "500.00", 104)),
    ]
    assert sent_messages(telegram.messages) == [
        food_alert("520.00", "500.00", 104),
        food_alert("501.00", "500.00", 100),
    ]


def test_lowering_a_limit_under_what_was_spent_alerts_once(
    ann: Budgeted, rows: Rows, telegram: TelegramStandIn
) -> None:
    user = ann.person
    user.transaction(ann.food, "400.00", NOVEMBER)
    limit = f"/api/budgets/{ann.budget_id}/limits/{ann.food}"

    user.expect(200, "PUT", limit, json={"limit_amount": "450.00"})  # still above the spending
    assert settled_history(user, rows) == []
    budget = user.expect(200, "PUT", limit, json={"limit_amount": "350.00"})
    assert budget["limits"] == [{"category_id": ann.food, "limit_amount": "350.00"}]
    user.expect(200, "PUT", limit, json={"limit_amount": "300.00"})  # already over it

    history = settled_history(user, rows)
    assert [(row["status"], row["text"]) for row in history] == [
        ("sent", food_alert("400.00", "350.00", 114)[1])
    ]
    assert sent_messages(telegram.messages) == [food_alert("400.00", "350.00", 114)]


# How a transaction that did not count against November's Food limit is changed so it does.
TRANSACTION_CHANGES = {
    "amount": ({"amount": "100.00"}, {"amount": "600.00"}),
    "category": ({"category": "Transport"}, {"category_id": "Food"}),
    "date": ({"day": "2026-10-31"}, {"date": "2026-11-01"}),
    "type": ({"kind": "INCOME"}, {"type": "expense"}),
}


@pytest.mark.parametrize("changed", list(TRANSACTION_CHANGES))
def test_changing_a_transaction_so_it_crosses_the_limit_alerts_once(
    changed: str, ann: Budgeted, rows: Rows, telegram: TelegramStandIn
) -> None:
    user = ann.person
    made, change = TRANSACTION_CHANGES[changed]
    original: dict[str, Any] = {"category": "Food", "amount": "600.00", "day": NOVEMBER}
    original |= made
    transaction = user.transaction(
        user.category_id(original["category"]),
        original["amount"],
        original["day"],
        kind=original.get("kind", "EXPENSE"),
    )
    assert settled_history(user, rows) == []
    patch = {
        field: user.category_id(value) if field == "category_id" else value
        for field, value in change.items()
    }

    changed_row = user.expect(200, "PATCH", f"/api/transactions/{transaction['id']}", json=patch)
    assert (changed_row["category_id"], changed_row["type"], changed_row["amount"]) == (
        ann.food,
        "EXPENSE",
        "600.00",
    )
    # A change that leaves it over the limit is not a new crossing.
    user.expect(
        200, "PATCH", f"/api/transactions/{transaction['id']}", json={"description": "still over"}
    )

    assert [row["status"] for row in settled_history(user, rows)] == ["sent"]
    assert sent_messages(telegram.messages) == [food_alert("600.00", "500.00", 120)]


def test_deleting_a_category_into_another_that_goes_over_its_limit_alerts_once(
    ann: Budgeted, rows: Rows, telegram: TelegramStandIn
) -> None:
    user = ann.person
    user.transaction(ann.food, "300.00", NOVEMBER)
    groceries = user.category("Groceries")["id"]
    user.transaction(groceries, "250.00", "2026-11-02")
    user.transaction(groceries, "80.00", "2026-10-02")  # a month without a budget
    assert settled_history(user, rows) == []

    user.expect(204, "DELETE", f"/api/categories/{groceries}?reassign_to={ann.food}")

    user.expect(404, "GET", f"/api/categories/{groceries}")
    assert [row["status"] for row in settled_history(user, rows)] == ["sent"]
    assert sent_messages(telegram.messages) == [food_alert("550.00", "500.00", 110)]


def test_reaching_a_goal_by_a_contribution_or_a_lower_target_alerts_once_each(
    ann: Budgeted, rows: Rows, telegram: TelegramStandIn
) -> None:
    user = ann.person
    new_bike = {"name": "New bike", "target_amount": "1000"}
    bike = user.expect(201, "POST", "/api/goals", json=new_bike)
    contribute = f"/api/goals/{bike['id']}/contributions"
    user.expect(200, "POST", contribute, json={"amount": "600.00"})
    assert settled_history(user, rows) == []
    reached = user.expect(200, "POST", contribute, json={"amount": "400.00"})
    assert (reached["current_amount"], reached["reached"]) == ("1000.00", True)
    telegram.wait_for_messages(1, timeout=WAIT)
    user.expect(200, "POST", contribute, json={"amount": "50.00"})  # reached already

    car = user.expect(201, "POST", "/api/goals", json={"name": "Car", "target_amount": "5000.00"})
    user.expect(200, "POST", f"/api/goals/{car['id']}/contributions", json={"amount": "3000.00"})
    user.expect(200, "PATCH", f"/api/goals/{car['id']}", json={"target_amount": "2500.00"})
    user.expect(200, "PATCH", f"/api/goals/{car['id']}", json={"target_amount": "2000.00"})

    history = settled_history(user, rows)
    assert {row["status"] for row in history} == {"sent"}
    assert sent_messages(telegram.messages) == [
        (CHAT_ID, 'Goal reached: "New bike" has 1000.00 of 1000.00.'),
        (CHAT_ID, 'Goal reached: "Car" has 3000.00 of 2500.00.'),
    ]
