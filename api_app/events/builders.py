"""The four events of the contract, built from api_app's values with the contract's shapes.

Amounts leave as strings with two decimals (event_contract.money), ids as strings, so the
message is JSON as it is and no float ever touches money.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from event_contract import (
    BUDGET_LIMIT_EXCEEDED,
    GOAL_REACHED,
    USER_DELETED,
    USER_REGISTERED,
    Event,
    money,
)


def user_registered(user_id: uuid.UUID, email: str) -> Event:
    return Event(type=USER_REGISTERED, user_id=user_id, payload={"email": email})


def user_deleted(user_id: uuid.UUID) -> Event:
    return Event(type=USER_DELETED, user_id=user_id, payload={})


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
