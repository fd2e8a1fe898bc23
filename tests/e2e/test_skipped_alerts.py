"""Issue 6: a notification turned off, or no chat to send to, sends nothing and says why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Rows, settled_history
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

LIMIT_ALERT = (
    "Budget alert: Food for November 2026 is over its limit: 510.00 spent of 500.00 (102%)."
)
GOAL_ALERT = 'Goal reached: "Holiday" has 300.00 of 300.00.'


def cross_the_food_limit(user: SignedInUser) -> None:
    food = user.category_id("Food")
    user.budget(2026, 11, {food: "500.00"})
    user.transaction(food, "510.00", "2026-11-10")


def reach_a_goal(user: SignedInUser) -> None:
    goal = user.expect(201, "POST", "/api/goals", json={"name": "Holiday", "target_amount": "300"})
    user.expect(200, "POST", f"/api/goals/{goal['id']}/contributions", json={"amount": "300"})


@pytest.mark.parametrize(
    ("patches", "cross", "text", "reason"),
    [
        pytest.param(
            [{"telegram_chat_id": "4242", "notify_limit_exceeded": False}],
            cross_the_food_limit, LIMIT_ALERT, "budget limit notifications are turned off",
            id="limit alerts off",
        ),
        pytest.param(
            [{"telegram_chat_id": "4242", "notify_goal_reached": False}],
            reach_a_goal, GOAL_ALERT, "goal notifications are turned off",
            id="goal alerts off",
        ),
        pytest.param(
            [], cross_the_food_limit, LIMIT_ALERT, "no Telegram chat id is set",
            id="no chat id, limit",
        ),
        pytest.param(
            [{"telegram_chat_id": "4242"}, {"telegram_chat_id": None}],
            reach_a_goal, GOAL_ALERT, "no Telegram chat id is set",
            id="chat id removed, goal",
        ),
    ],
)  # fmt: skip
def test_an_unwanted_or_undeliverable_alert_is_skipped_with_the_reason(
    register: Callable[[], SignedInUser],
    celery_worker: LaunchedProcess,
    rows: Rows,
    telegram: TelegramStandIn,
    patches: list[dict[str, Any]],
    cross: Callable[[SignedInUser], None],
    text: str,
    reason: str,
) -> None:
    user = register()
    for patch in patches:
        user.settings(**patch)

    cross(user)

    (delivery,) = settled_history(user, rows)
    assert (delivery["status"], delivery["reason"], delivery["text"]) == ("skipped", reason, text)
    assert (delivery["attempts"], delivery["sent_at"]) == (0, None)
    assert telegram.calls == []


def test_turning_limit_alerts_back_on_delivers_the_next_crossing(
    register: Callable[[], SignedInUser],
    celery_worker: LaunchedProcess,
    rows: Rows,
    telegram: TelegramStandIn,
) -> None:
    user = register()
    user.settings(telegram_chat_id="4242", notify_limit_exceeded=False)
    food = user.category_id("Food")
    budget = user.budget(2026, 11, {food: "500.00"})["id"]
    user.transaction(food, "510.00", "2026-11-10")
    assert [row["status"] for row in settled_history(user, rows)] == ["skipped"]

    user.settings(notify_limit_exceeded=True)
    user.expect(200, "PUT", f"/api/budgets/{budget}/limits/{food}", json={"limit_amount": "600"})
    user.transaction(food, "100.00", "2026-11-11")

    assert [row["status"] for row in settled_history(user, rows)] == ["sent", "skipped"]
    assert [(m["chat_id"], m["text"]) for m in telegram.messages] == [
        (
            "4242",
            "Budget alert: Food for November 2026 is over its limit:"
            " 610.00 spent of 600.00 (101%).",
        )
    ]
