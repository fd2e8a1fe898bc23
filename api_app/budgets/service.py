"""Use cases on monthly budgets and their limits; each write is one transaction, committed here."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from api_app.blueprint import abort
from api_app.categories.service import lock_own_category
from api_app.events import CategoryMonth, watch_limits
from api_app.extensions import db
from api_app.models import Budget, BudgetLimit, Category
from api_app.pagination import ListOrder

MONTH_TAKEN = "budgets_user_id_month_year_key"
# A user has one budget per month, so (year, month) is unique in their list.
BUDGET_ORDER = ListOrder((Budget.year, Budget.month), descending=True)


def budgets_of(user_id: uuid.UUID, year: int | None) -> Select[tuple[Budget]]:
    """The user's budgets, newest month first."""
    query = (
        select(Budget)
        .where(Budget.user_id == user_id)
        .order_by(*BUDGET_ORDER.clauses())
        .options(selectinload(Budget.limits))
    )
    return query if year is None else query.where(Budget.year == year)


def get_budget(user_id: uuid.UUID, budget_id: uuid.UUID) -> Budget:
    budget = db.session.scalar(
        select(Budget).where(Budget.id == budget_id, Budget.user_id == user_id)
    )
    if budget is None:
        abort(404, message="budget not found")
    return budget


def create_budget(
    user_id: uuid.UUID,
    year: int,
    month: int,
    limits: dict[uuid.UUID, Decimal],
    copy_previous: bool,
) -> Budget:
    """The month's budget, one per user and month; given limits override copied ones."""
    amounts = _latest_limits_before(user_id, year, month) if copy_previous else {}
    amounts.update(limits)
    owned = _lock_own_categories(user_id, list(amounts))
    unknown = {
        str(index): {"category_id": ["No such category."]}
        for index, category_id in enumerate(limits)
        if category_id not in owned
    }
    if unknown:
        abort(404, message="category not found", errors={"json": {"limits": unknown}})
    budget = Budget(
        user_id=user_id,
        year=year,
        month=month,
        limits=[
            BudgetLimit(category_id=category_id, limit_amount=amount)
            for category_id, amount in amounts.items()
            # A copied limit's category may have been deleted since it was read.
            if category_id in owned
        ],
    )
    # Limits set below what was already spent that month cross at once.
    limits_set = watch_limits(
        user_id, *(CategoryMonth(limit.category_id, year, month) for limit in budget.limits)
    )
    db.session.add(budget)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if MONTH_TAKEN in str(error.orig):
            abort(409, message=f"you already have a budget for {year}-{month:02d}")
        raise
    limits_set.emit_crossings(transaction_id=None)
    db.session.commit()
    return budget


def delete_budget(user_id: uuid.UUID, budget_id: uuid.UUID) -> None:
    db.session.delete(_lock_budget(user_id, budget_id))
    db.session.commit()


def set_limit(
    user_id: uuid.UUID, budget_id: uuid.UUID, category_id: uuid.UUID, amount: Decimal
) -> Budget:
    """Create or change the budget's limit for one category.

    The budget row is locked first, then the limit row: concurrent changes to one budget queue up,
    and a reader of the limit row (which a transaction's write may lock) never waits in a cycle.
    """
    budget = _lock_budget(user_id, budget_id)
    lock_own_category(user_id, category_id)
    # Setting or lowering a limit under what was spent that month crosses it.
    limits = watch_limits(user_id, CategoryMonth(category_id, budget.year, budget.month))
    limit = db.session.scalar(
        select(BudgetLimit)
        .where(BudgetLimit.budget_id == budget.id, BudgetLimit.category_id == category_id)
        .with_for_update()
    )
    if limit is None:
        budget.limits.append(BudgetLimit(category_id=category_id, limit_amount=amount))
    else:
        limit.limit_amount = amount
    budget.updated_at = func.now()
    db.session.flush()
    limits.emit_crossings(transaction_id=None)
    db.session.commit()
    return budget


def remove_limit(user_id: uuid.UUID, budget_id: uuid.UUID, category_id: uuid.UUID) -> None:
    budget = _lock_budget(user_id, budget_id)
    limit = db.session.scalar(
        select(BudgetLimit)
        .where(BudgetLimit.budget_id == budget.id, BudgetLimit.category_id == category_id)
        .with_for_update()
    )
    if limit is None:
        abort(404, message="this budget has no limit for that category")
    db.session.delete(limit)
    budget.updated_at = func.now()
    db.session.commit()


def _lock_budget(user_id: uuid.UUID, budget_id: uuid.UUID) -> Budget:
    budget = db.session.scalar(
        select(Budget).where(Budget.id == budget_id, Budget.user_id == user_id).with_for_update()
    )
    if budget is None:
        abort(404, message="budget not found")
    return budget


def _latest_limits_before(user_id: uuid.UUID, year: int, month: int) -> dict[uuid.UUID, Decimal]:
    previous = db.session.scalar(
        select(Budget)
        .where(
            Budget.user_id == user_id,
            or_(Budget.year < year, and_(Budget.year == year, Budget.month < month)),
        )
        .order_by(Budget.year.desc(), Budget.month.desc())
        .limit(1)
        .options(selectinload(Budget.limits))
    )
    if previous is None:
        return {}
    return {limit.category_id: limit.limit_amount for limit in previous.limits}


def _lock_own_categories(user_id: uuid.UUID, category_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the categories that are the user's, held FOR KEY SHARE until commit."""
    if not category_ids:
        return set()
    return set(
        db.session.scalars(
            select(Category.id)
            .where(Category.id.in_(category_ids), Category.user_id == user_id)
            .with_for_update(key_share=True)
        )
    )
