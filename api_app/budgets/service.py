"""Use cases on monthly budgets and their limits; each write is one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Select, and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from api_app.budgets.summary import MonthlySummary, monthly_summary
from api_app.crossings.limits import CategoryMonth, LockedLimit
from api_app.domain_errors import ConflictError, FieldPath, NotFoundError
from api_app.extensions import db
from api_app.ledgers.membership import memberships_of
from api_app.models import Budget, BudgetLimit, Category
from api_app.unit_of_work import UnitOfWork
from service_kit.pagination import ListOrder

MONTH_TAKEN = "budgets_ledger_id_month_year_key"
# A ledger has one budget per month, so (year, month) is unique in its list.
BUDGET_ORDER = ListOrder((Budget.year, Budget.month), descending=True)


@dataclass(frozen=True)
class NewLimit:
    category_id: uuid.UUID
    limit_amount: Decimal


@dataclass(frozen=True)
class NewBudget:
    year: int
    month: int
    limits: list[NewLimit] = field(default_factory=list)
    # Start from the limits of the ledger's latest earlier budget; given limits override them.
    copy_previous: bool = False
    # None: the person's personal ledger.
    ledger_id: uuid.UUID | None = None


def budgets_of(
    user_id: uuid.UUID, year: int | None, ledger_id: uuid.UUID | None = None
) -> Select[tuple[Budget]]:
    """The ledger's budgets (None: the person's personal ledger), newest month first."""
    query = (
        select(Budget)
        .where(Budget.ledger_id == memberships_of(user_id).reading(ledger_id))
        .order_by(*BUDGET_ORDER.clauses())
        .options(selectinload(Budget.limits))
    )
    return query if year is None else query.where(Budget.year == year)


def summary_of(
    user_id: uuid.UUID, year: int, month: int, ledger_id: uuid.UUID | None = None
) -> MonthlySummary:
    """The month of a ledger of the person's (None: their personal one)."""
    return monthly_summary(memberships_of(user_id).reading(ledger_id), year, month)


def get_budget(user_id: uuid.UUID, budget_id: uuid.UUID) -> Budget:
    budget = db.session.scalar(
        select(Budget)
        .where(Budget.id == budget_id, Budget.ledger_id.in_(memberships_of(user_id).readable))
        .options(selectinload(Budget.limits))
    )
    if budget is None:
        raise NotFoundError("budget not found")
    return budget


def create_budget(user_id: uuid.UUID, new: NewBudget) -> Budget:
    """The month's budget, one per ledger and month; given limits override copied ones."""
    ledger_id = memberships_of(user_id).writing(new.ledger_id)
    with UnitOfWork(user_id) as uow:
        amounts = _latest_limits_before(ledger_id, new.year, new.month) if new.copy_previous else {}
        amounts.update({limit.category_id: limit.limit_amount for limit in new.limits})
        owned = _lock_own_categories(ledger_id, list(amounts))
        unknown: dict[FieldPath, str] = {
            ("limits", index, "category_id"): "No such category."
            for index, limit in enumerate(new.limits)
            if limit.category_id not in owned
        }
        if unknown:
            raise NotFoundError("category not found", fields=unknown)
        # A copied limit's category may have been deleted since it was read.
        kept = {category_id: amount for category_id, amount in amounts.items()
                if category_id in owned}  # fmt: skip
        budget = Budget(
            ledger_id=ledger_id,
            user_id=user_id,
            year=new.year,
            month=new.month,
            limits=[
                # In the relationship's order (by category), as a reload would list them.
                BudgetLimit(category_id=category_id, limit_amount=amount)
                for category_id, amount in sorted(kept.items())
            ],
        )
        uow.session.add(budget)
        try:
            uow.session.flush()
        except IntegrityError as error:
            if MONTH_TAKEN in str(error.orig):
                raise ConflictError(
                    f"the ledger already has a budget for {new.year}-{new.month:02d}"
                ) from None
            raise
        # Limits set below what was already spent that month cross at once.
        uow.limits(ledger_id).limits_created(budget.id, new.year, new.month, kept, owned)
    return budget


def delete_budget(user_id: uuid.UUID, budget_id: uuid.UUID) -> None:
    with UnitOfWork(user_id) as uow:
        uow.session.delete(_lock_budget(user_id, budget_id))


def set_limit(
    user_id: uuid.UUID, budget_id: uuid.UUID, category_id: uuid.UUID, amount: Decimal
) -> Budget:
    """Create or change the budget's limit for one category.

    The budget row is locked first, then the category and the limit row: concurrent changes to
    one budget queue up, and a reader of the limit row (which a transaction's write may lock)
    never waits in a cycle. Setting or lowering a limit under what was spent that month
    crosses it.
    """
    with UnitOfWork(user_id) as uow:
        budget = _lock_budget(user_id, budget_id)

        def store(current: LockedLimit | None) -> None:
            if current is None:
                budget.limits.append(BudgetLimit(category_id=category_id, limit_amount=amount))
                # The relationship's order (by category), as a reload would list them.
                budget.limits.sort(key=lambda limit: limit.category_id)
            else:
                (limit,) = [row for row in budget.limits if row.category_id == category_id]
                limit.limit_amount = amount
            budget.updated_at = datetime.now(UTC)
            uow.session.flush()

        uow.limits(budget.ledger_id).set_limit(
            budget.id, CategoryMonth(category_id, budget.year, budget.month), amount, store
        )
    return budget


def remove_limit(user_id: uuid.UUID, budget_id: uuid.UUID, category_id: uuid.UUID) -> None:
    with UnitOfWork(user_id) as uow:
        budget = _lock_budget(user_id, budget_id)
        removed = uow.session.scalar(
            delete(BudgetLimit)
            .where(BudgetLimit.budget_id == budget.id, BudgetLimit.category_id == category_id)
            .returning(BudgetLimit.id)
            .execution_options(synchronize_session=False)
        )
        if removed is None:
            raise NotFoundError("this budget has no limit for that category")
        budget.updated_at = datetime.now(UTC)


def _lock_budget(user_id: uuid.UUID, budget_id: uuid.UUID) -> Budget:
    """A budget of the person's ledgers, locked; Forbidden for a viewer of its ledger."""
    memberships = memberships_of(user_id)
    budget = db.session.scalar(
        select(Budget)
        .where(Budget.id == budget_id, Budget.ledger_id.in_(memberships.readable))
        .options(selectinload(Budget.limits))
        .with_for_update(of=Budget)
    )
    if budget is None:
        raise NotFoundError("budget not found")
    memberships.check_writer(budget.ledger_id)
    return budget


def _latest_limits_before(ledger_id: uuid.UUID, year: int, month: int) -> dict[uuid.UUID, Decimal]:
    previous = db.session.scalar(
        select(Budget)
        .where(
            Budget.ledger_id == ledger_id,
            or_(Budget.year < year, and_(Budget.year == year, Budget.month < month)),
        )
        .order_by(Budget.year.desc(), Budget.month.desc())
        .limit(1)
        .options(selectinload(Budget.limits))
    )
    if previous is None:
        return {}
    return {limit.category_id: limit.limit_amount for limit in previous.limits}


def _lock_own_categories(
    ledger_id: uuid.UUID, category_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Those of the categories that are the ledger's (id -> name), FOR NO KEY UPDATE until commit
    (api_app.crossings.limits: changes to a category's months are serialised on it)."""
    if not category_ids:
        return {}
    rows = db.session.execute(
        select(Category.id, Category.name)
        .where(Category.id.in_(category_ids), Category.ledger_id == ledger_id)
        .with_for_update(key_share=True)
    ).tuples()
    return dict(rows.all())
