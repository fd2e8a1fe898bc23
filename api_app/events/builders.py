"""The events of the contract whose values api_app derives rather than forwards.

Every other event is built where it happens, straight from the contract's payload dataclass
(event_contract): they say what each event carries and how it crosses the broker.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from event_contract import BudgetMonthClosed, ClosedCategory, Event

# uuid5 namespace of the month_closed event ids: one id per user and month, whoever computes it.
MONTH_CLOSED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "budget-api/events/budget.month_closed")


def month_closed_event_id(user_id: uuid.UUID, year: int, month: int) -> uuid.UUID:
    return uuid.uuid5(MONTH_CLOSED_NAMESPACE, f"{user_id}/{year:04d}-{month:02d}")


def household_month_closed_event_id(
    ledger_id: uuid.UUID, member_id: uuid.UUID | None, year: int, month: int
) -> uuid.UUID:
    """A shared ledger's digest: one id per ledger, month and member (None: its group's)."""
    whom = "group" if member_id is None else str(member_id)
    return uuid.uuid5(MONTH_CLOSED_NAMESPACE, f"ledger/{ledger_id}/{whom}/{year:04d}-{month:02d}")


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
        user_id=user_id,
        payload=BudgetMonthClosed(
            year=year,
            month=month,
            income=income,
            expense=expense,
            net=income - expense,
            categories=tuple(categories),
        ),
    )
