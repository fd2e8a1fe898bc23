"""The events of the contract, built from api_app's values with the contract's payload types.

The payload dataclasses (event_contract) say what each event carries and how it crosses the
broker: amounts as strings with two decimals, ids as strings, so the message is JSON as it is
and no float ever touches money.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from event_contract import (
    BudgetLimitExceeded,
    BudgetMonthClosed,
    BudgetThresholdReached,
    ClosedCategory,
    Event,
    GoalReached,
    LedgerDeleted,
    LedgerMember,
    LedgerMembershipChanged,
    UserDeleted,
    UserLocaleChanged,
    UserRegistered,
    UserSessionsRevoked,
)


def user_registered(user_id: uuid.UUID, email: str, language: str | None = None) -> Event:
    return Event(user_id=user_id, payload=UserRegistered(email=email, language=language))


def user_locale_changed(user_id: uuid.UUID, language: str | None, currency: str | None) -> Event:
    return Event(user_id=user_id, payload=UserLocaleChanged(language=language, currency=currency))


def user_deleted(user_id: uuid.UUID) -> Event:
    return Event(user_id=user_id, payload=UserDeleted())


def user_sessions_revoked(user_id: uuid.UUID, epoch: int, reason: str) -> Event:
    return Event(user_id=user_id, payload=UserSessionsRevoked(epoch=epoch, reason=reason))


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
        user_id=user_id,
        payload=BudgetLimitExceeded(
            budget_id=budget_id,
            category_id=category_id,
            category_name=category_name,
            year=year,
            month=month,
            limit=limit,
            spent=spent,
            transaction_id=transaction_id,
        ),
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
        user_id=user_id,
        payload=GoalReached(
            goal_id=goal_id,
            name=name,
            target_amount=target_amount,
            current_amount=current_amount,
        ),
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
    """One event for the highest of the thresholds one change crossed (see the payload)."""
    return Event(
        user_id=user_id,
        payload=BudgetThresholdReached(
            budget_id=budget_id,
            category_id=category_id,
            category_name=category_name,
            year=year,
            month=month,
            limit=limit,
            spent=spent,
            percent=percent,
            threshold=max(crossed_thresholds),
            crossed_thresholds=tuple(crossed_thresholds),
            transaction_id=transaction_id,
        ),
    )


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


def ledger_membership_changed(
    *,
    user_id: uuid.UUID,
    ledger_id: uuid.UUID,
    name: str,
    kind: str,
    version: int,
    members: Sequence[tuple[uuid.UUID, str]],
) -> Event:
    """The ledger as it is now (`members`: (user id, role) each); `user_id` changed it."""
    return Event(
        user_id=user_id,
        payload=LedgerMembershipChanged(
            ledger_id=ledger_id,
            name=name,
            kind=kind,
            version=version,
            members=tuple(LedgerMember(user_id=member, role=role) for member, role in members),
        ),
    )


def ledger_deleted(*, user_id: uuid.UUID, ledger_id: uuid.UUID, version: int) -> Event:
    return Event(user_id=user_id, payload=LedgerDeleted(ledger_id=ledger_id, version=version))
