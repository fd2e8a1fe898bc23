"""The events of the contract, built from api_app's values with the contract's shapes.

Amounts leave as strings with two decimals (event_contract.money), ids as strings, so the
message is JSON as it is and no float ever touches money.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from event_contract import (
    BUDGET_LIMIT_EXCEEDED,
    BUDGET_MONTH_CLOSED,
    BUDGET_THRESHOLD_REACHED,
    GOAL_REACHED,
    USER_DELETED,
    USER_REGISTERED,
    USER_SESSIONS_REVOKED,
    Event,
    money,
)


def user_registered(user_id: uuid.UUID, email: str) -> Event:
    return Event(type=USER_REGISTERED, user_id=user_id, payload={"email": email})


def user_deleted(user_id: uuid.UUID) -> Event:
    return Event(type=USER_DELETED, user_id=user_id, payload={})


def user_sessions_revoked(user_id: uuid.UUID, epoch: int) -> Event:
    return Event(type=USER_SESSIONS_REVOKED, user_id=user_id, payload={"epoch": epoch})


def budget_limit_exceeded(
    *,
    user_id: uuid.UUID,
    budget_id: uuid.UUID,
    category_id: uuid.UUID,
    category_name: str,
    year: int,
    month: int,
    limit: Decimal,
    spent: Decimal,
    transaction_id: uuid.UUID | None,
) -> Event:
    """`transaction_id` is the transaction whose change crossed the limit; None when lowering
    the limit itself did."""
    return Event(
        type=BUDGET_LIMIT_EXCEEDED,
        user_id=user_id,
        payload={
            "budget_id": str(budget_id),
            "category_id": str(category_id),
            "category_name": category_name,
            "year": year,
            "month": month,
            "limit": money(limit),
            "spent": money(spent),
            "transaction_id": str(transaction_id) if transaction_id is not None else None,
        },
    )


def goal_reached(
    *,
    user_id: uuid.UUID,
    goal_id: uuid.UUID,
    name: str,
    target_amount: Decimal,
    current_amount: Decimal,
) -> Event:
    return Event(
        type=GOAL_REACHED,
        user_id=user_id,
        payload={
            "goal_id": str(goal_id),
            "name": name,
            "target_amount": money(target_amount),
            "current_amount": money(current_amount),
        },
    )


def budget_threshold_reached(
    *,
    user_id: uuid.UUID,
    budget_id: uuid.UUID,
    category_id: uuid.UUID,
    category_name: str,
    year: int,
    month: int,
    limit: Decimal,
    spent: Decimal,
    percent: int,
    crossed_thresholds: Sequence[int],
    transaction_id: uuid.UUID | None,
) -> Event:
    """One change crossed `crossed_thresholds` (ascending) of the warning thresholds, but not the
    limit: one event, for the highest of them (`threshold`). The whole list travels along so that
    a user warned at a lower one still hears of a jump past it."""
    return Event(
        type=BUDGET_THRESHOLD_REACHED,
        user_id=user_id,
        payload={
            "budget_id": str(budget_id),
            "category_id": str(category_id),
            "category_name": category_name,
            "year": year,
            "month": month,
            "limit": money(limit),
            "spent": money(spent),
            "percent": percent,
            "threshold": max(crossed_thresholds),
            "crossed_thresholds": list(crossed_thresholds),
            "transaction_id": str(transaction_id) if transaction_id is not None else None,
        },
    )


class ClosedCategory(NamedTuple):
    name: str
    limit: Decimal | None
    spent: Decimal


# uuid5 namespace of the month_closed event ids: one id per user and month, whoever computes it.
MONTH_CLOSED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "budget-api/events/budget.month_closed")


def month_closed_event_id(user_id: uuid.UUID, year: int, month: int) -> uuid.UUID:
    return uuid.uuid5(MONTH_CLOSED_NAMESPACE, f"{user_id}/{year:04d}-{month:02d}")


def budget_month_closed(
    *,
    user_id: uuid.UUID,
    year: int,
    month: int,
    income: Decimal,
    expense: Decimal,
    categories: Sequence[ClosedCategory],
) -> Event:
    """The month's totals and, per category, its limit (None without one) and spending.

    Its id is derived from the user and the month, so closing a month twice makes the same event.
    """
    return Event(
        id=month_closed_event_id(user_id, year, month),
        type=BUDGET_MONTH_CLOSED,
        user_id=user_id,
        payload={
            "year": year,
            "month": month,
            "income": money(income),
            "expense": money(expense),
            "net": money(income - expense),
            "categories": [
                {
                    "name": category.name,
                    "limit": money(category.limit) if category.limit is not None else None,
                    "spent": money(category.spent),
                }
                for category in categories
            ],
        },
    )
