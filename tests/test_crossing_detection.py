"""Crossing detection: what the transaction, budget and goal use cases emit.

Each `*_use_case` helper below runs the corresponding endpoint's service function (one unit of
work, whose single spending path locks, writes and judges); the outbox shows which events a
change emitted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from event_contract import BUDGET_LIMIT_EXCEEDED, BUDGET_THRESHOLD_REACHED, GOAL_REACHED
from tests.parallel import in_parallel
from tests.pipeline import finished_delivery, set_settings
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import add_personal_ledger

NOVEMBER = date(2026, 11, 10)


@dataclass(frozen=True)
class Setup:
    user_id: uuid.UUID
    food: uuid.UUID
    rent: uuid.UUID
    ledger_id: uuid.UUID


@pytest.fixture
def setup(api: Flask) -> Setup:
    """A user with categories Food and Rent, and a November 2026 budget: Food limited to 500."""
    from api_app.extensions import db
    from api_app.models import Budget, BudgetLimit, Category, User

    with api.app_context():
        user = User(email=f"{uuid.uuid4().hex}@example.com", password_hash="unusable")
        db.session.add(user)
        db.session.flush()
        ledger_id = add_personal_ledger(user.id)
        food = Category(ledger_id=ledger_id, user_id=user.id, name="Food")
        rent = Category(ledger_id=ledger_id, user_id=user.id, name="Rent")
        db.session.add_all([food, rent])
        db.session.flush()
        budget = Budget(ledger_id=ledger_id, user_id=user.id, year=2026, month=11)
        budget.limits.append(BudgetLimit(category_id=food.id, limit_amount=Decimal("500.00")))
        db.session.add(budget)
        db.session.commit()
        return Setup(user.id, food.id, rent.id, ledger_id)


def add_transaction_use_case(
    api: Flask,
    setup: Setup,
    amount: str,
    *,
    category_id: uuid.UUID | None = None,
    day: date = NOVEMBER,
    kind: str = "EXPENSE",
) -> uuid.UUID:
    from api_app.models import TransactionType
    from api_app.transactions.service import NewTransaction, create_transaction

    with api.app_context():
        transaction = create_transaction(
            setup.user_id,
            NewTransaction(
                category_id=category_id or setup.food,
                type=TransactionType(kind),
                amount=Decimal(amount),
                date=day,
            ),
        )
        return transaction.id


def change_transaction_use_case(
    api: Flask, setup: Setup, transaction_id: uuid.UUID, **changes: Any
) -> None:
    from api_app.transactions.service import TransactionChanges, update_transaction

    with api.app_context():
        update_transaction(setup.user_id, transaction_id, TransactionChanges(**changes))


def delete_transaction_use_case(api: Flask, setup: Setup, transaction_id: uuid.UUID) -> None:
    from api_app.transactions.service import delete_transaction

    with api.app_context():
        delete_transaction(setup.user_id, transaction_id)


def set_limit_use_case(api: Flask, setup: Setup, category_id: uuid.UUID, amount: str) -> None:
    from api_app.budgets.service import set_limit
    from api_app.extensions import db
    from api_app.models import Budget

    with api.app_context():
        budget_id = db.session.scalar(
            select(Budget.id).where(Budget.user_id == setup.user_id, Budget.year == 2026)
        )
        assert budget_id is not None
        set_limit(setup.user_id, budget_id, category_id, Decimal(amount))


def emitted(api: Flask, event_type: str = BUDGET_LIMIT_EXCEEDED) -> list[dict[str, Any]]:
    """Payloads of the events of `event_type` in the outbox, oldest first."""
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    with api.app_context():
        rows = db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == event_type)
            .order_by(OutboxEvent.created_at)
        ).all()
        return [row.payload["payload"] for row in rows]


def test_crossing_the_limit_emits_once_and_staying_over_emits_nothing(
    api: Flask, setup: Setup
) -> None:
    add_transaction_use_case(api, setup, "300.00")
    add_transaction_use_case(api, setup, "200.00")  # exactly the limit: not over it
    assert emitted(api) == []

    crossing = add_transaction_use_case(api, setup, "20.00")
    add_transaction_use_case(api, setup, "15.00")  # still over: nothing new

    [payload] = emitted(api)
    assert payload["category_id"] == str(setup.food)
    assert payload["category_name"] == "Food"
    assert (payload["year"], payload["month"]) == (2026, 11)
    assert (payload["limit"], payload["spent"]) == ("500.00", "520.00")
    assert payload["transaction_id"] == str(crossing)


def test_falling_back_under_the_limit_and_crossing_again_emits_again(
    api: Flask, setup: Setup
) -> None:
    add_transaction_use_case(api, setup, "480.00")
    big = add_transaction_use_case(api, setup, "40.00")
    delete_transaction_use_case(api, setup, big)
    assert len(emitted(api)) == 1

    add_transaction_use_case(api, setup, "30.00")
    assert [p["spent"] for p in emitted(api)] == ["520.00", "510.00"]


def test_income_other_months_and_unlimited_categories_do_not_count(
    api: Flask, setup: Setup
) -> None:
    add_transaction_use_case(api, setup, "900.00", kind="INCOME")
    add_transaction_use_case(api, setup, "900.00", day=date(2026, 10, 31))
    add_transaction_use_case(api, setup, "900.00", day=date(2026, 12, 1))
    add_transaction_use_case(api, setup, "900.00", category_id=setup.rent)
    assert emitted(api) == []


def test_changing_amount_type_date_or_category_can_cross(api: Flask, setup: Setup) -> None:
    add_transaction_use_case(api, setup, "450.00")
    income = add_transaction_use_case(api, setup, "100.00", kind="INCOME")
    october = add_transaction_use_case(api, setup, "100.00", day=date(2026, 10, 5))
    rent = add_transaction_use_case(api, setup, "100.00", category_id=setup.rent)
    small = add_transaction_use_case(api, setup, "10.00")

    from api_app.models import TransactionType

    change_transaction_use_case(api, setup, small, amount=Decimal("60.00"))  # 510
    change_transaction_use_case(api, setup, small, amount=Decimal("10.00"))  # 460
    change_transaction_use_case(api, setup, income, type=TransactionType.EXPENSE)  # 560
    change_transaction_use_case(api, setup, income, type=TransactionType.INCOME)  # 460
    change_transaction_use_case(api, setup, october, date=date(2026, 11, 30))  # 560
    change_transaction_use_case(api, setup, october, date=date(2026, 10, 5))  # 460
    change_transaction_use_case(api, setup, rent, category_id=setup.food)  # 560

    assert [p["spent"] for p in emitted(api)] == ["510.00", "560.00", "560.00", "560.00"]
    assert emitted(api)[-1]["transaction_id"] == str(rent)


def test_setting_or_lowering_a_limit_under_the_spent_amount_emits_once(
    api: Flask, setup: Setup
) -> None:
    add_transaction_use_case(api, setup, "400.00")
    add_transaction_use_case(api, setup, "700.00", category_id=setup.rent)

    set_limit_use_case(api, setup, setup.food, "450.00")  # still under
    set_limit_use_case(api, setup, setup.food, "350.00")  # crossed by lowering
    set_limit_use_case(api, setup, setup.food, "300.00")  # already over
    set_limit_use_case(api, setup, setup.rent, "600.00")  # a new limit under the spent total

    payloads = emitted(api)
    assert [(p["category_name"], p["limit"], p["spent"]) for p in payloads] == [
        ("Food", "350.00", "400.00"),
        ("Rent", "600.00", "700.00"),
    ]
    assert all(p["transaction_id"] is None for p in payloads)


def contribute_use_case(
    api: Flask, user_id: uuid.UUID, goal_id: uuid.UUID, amount: str = "0", target: str | None = None
) -> None:
    from api_app.models import Goal
    from api_app.unit_of_work import UnitOfWork

    def change(goal: Goal) -> None:
        goal.current_amount += Decimal(amount)
        if target is not None:
            goal.target_amount = Decimal(target)

    with api.app_context(), UnitOfWork(user_id) as uow:
        uow.change_goal(goal_id, change)


def test_reaching_a_goal_emits_once_by_contribution_or_by_lowering_the_target(
    api: Flask, setup: Setup
) -> None:
    from api_app.extensions import db
    from api_app.models import Goal

    with api.app_context():
        bike = Goal(
            ledger_id=setup.ledger_id,
            user_id=setup.user_id,
            name="New bike",
            target_amount=Decimal("1000.00"),
        )
        car = Goal(
            ledger_id=setup.ledger_id,
            user_id=setup.user_id,
            name="Car",
            target_amount=Decimal("5000.00"),
        )
        db.session.add_all([bike, car])
        db.session.commit()
        bike_id, car_id = bike.id, car.id

    contribute_use_case(api, setup.user_id, bike_id, "999.99")
    contribute_use_case(api, setup.user_id, bike_id, "0.01")
    contribute_use_case(api, setup.user_id, bike_id, "50.00")  # already reached
    contribute_use_case(api, setup.user_id, car_id, "3000.00")
    contribute_use_case(api, setup.user_id, car_id, target="3000.00")

    assert emitted(api, GOAL_REACHED) == [
        {
            "goal_id": str(bike_id),
            "name": "New bike",
            "target_amount": "1000.00",
            "current_amount": "1000.00",
        },
        {
            "goal_id": str(car_id),
            "name": "Car",
            "target_amount": "3000.00",
            "current_amount": "3000.00",
        },
    ]
    assert lock_goal_missing(api, uuid.uuid4(), bike_id)


def lock_goal_missing(api: Flask, stranger: uuid.UUID, goal_id: uuid.UUID) -> bool:
    from api_app.crossings.goals import lock_goal
    from api_app.extensions import db

    with api.app_context():
        return lock_goal(db.session(), stranger, goal_id) is None


def test_twenty_parallel_transactions_that_cross_together_send_one_message(
    api: Flask,
    notify: Flask,
    setup: Setup,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
) -> None:
    set_settings(notify, setup.user_id, chat_id="777")  # warnings at the default 80 %

    in_parallel(*[lambda: add_transaction_use_case(api, setup, "30.00")] * 20)

    [payload] = emitted(api)
    assert (payload["limit"], payload["spent"]) == ("500.00", "510.00")
    # Each warning threshold is crossed by exactly one of the twenty as well.
    warnings = sorted(emitted(api, BUDGET_THRESHOLD_REACHED), key=lambda p: p["threshold"])
    assert [(p["threshold"], p["spent"], p["percent"]) for p in warnings] == [
        (50, "270.00", 54),
        (80, "420.00", 84),
        (90, "480.00", 96),
    ]
    messages = telegram.wait_for_messages(2, timeout=30)
    assert sorted(message["text"] for message in messages) == [
        "Budget alert: Food for November 2026 is over its limit: 510.00 spent of 500.00 (102%).",
        "Heads-up: Food for November 2026 is at 84% of its limit: 420.00 of 500.00.",
    ]
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    with api.app_context():
        event_ids = db.session.scalars(select(OutboxEvent.id)).all()
    assert sorted(finished_delivery(notify, event_id).status for event_id in event_ids) == [
        "sent",
        "sent",
        "skipped",
        "skipped",
    ]
    assert len(telegram.messages) == 2


def test_moving_an_expense_between_two_limited_categories_judges_both(
    api: Flask, setup: Setup
) -> None:
    set_limit_use_case(api, setup, setup.rent, "100.00")
    add_transaction_use_case(api, setup, "450.00")
    moving = add_transaction_use_case(api, setup, "60.00")  # Food 510: over its limit
    change_transaction_use_case(api, setup, moving, category_id=setup.rent)  # Food 450, Rent 60
    change_transaction_use_case(api, setup, moving, amount=Decimal("101.00"))  # Rent 101
    change_transaction_use_case(api, setup, moving, category_id=setup.food)  # Food 551, Rent 0

    assert [(p["category_name"], p["spent"]) for p in emitted(api)] == [
        ("Food", "510.00"),
        ("Rent", "101.00"),
        ("Food", "551.00"),
    ]
    warnings = emitted(api, BUDGET_THRESHOLD_REACHED)
    assert [(p["category_name"], p["spent"], p["threshold"]) for p in warnings] == [
        ("Food", "450.00", 80),
        ("Rent", "60.00", 50),
    ]
