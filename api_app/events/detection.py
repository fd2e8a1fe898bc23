"""Detecting the crossings that emit events, inside the use case's own transaction.

A limit is crossed when a category's expenses of a month go from <= its limit to > it, and a
warning threshold (BUDGET_WARNING_THRESHOLDS, percentages of the limit) likewise (see levels.py);
one change emits at most one event per category-month: budget.limit_exceeded if it crossed the
limit, else budget.threshold_reached for the highest threshold it crossed. A goal is reached
when its current amount goes from < its target to >= it. Each check is a pair of calls around
the change: a *watch* before it (which locks the row the crossing is about, so
that concurrent requests are serialised and together cross at most once) and an *emit* after
it (which compares and records the event in the same transaction).

    watch = watch_limits(user_id, CategoryMonth(category_id, day.year, day.month))
    db.session.add(transaction)
    db.session.flush()
    watch.emit_crossings(transaction_id=transaction.id)
    db.session.commit()
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from api_app.budgets.spending import spent_in_month
from api_app.events.builders import budget_limit_exceeded, budget_threshold_reached, goal_reached
from api_app.events.levels import LIMIT_LEVEL, Spending, crossed_levels
from api_app.events.outbox import record_event
from api_app.extensions import db
from api_app.models import Budget, BudgetLimit, Category, Goal


@dataclass(frozen=True, order=True)
class CategoryMonth:
    category_id: uuid.UUID
    year: int
    month: int

    @classmethod
    def of(cls, category_id: uuid.UUID, day: date) -> CategoryMonth:
        return cls(category_id, day.year, day.month)


@dataclass(frozen=True)
class _LimitState:
    budget_id: uuid.UUID
    category_name: str
    limit: Decimal
    spent: Decimal

    @property
    def spending(self) -> Spending:
        return Spending(limit=self.limit, spent=self.spent)


def _limit_states(
    user_id: uuid.UUID, keys: list[CategoryMonth]
) -> dict[CategoryMonth, _LimitState]:
    """Lock the budget limit rows of `keys` (in the given order: sorted, so watchers never
    deadlock) and read each one's limit and spent total; keys without a limit are left out."""
    states: dict[CategoryMonth, _LimitState] = {}
    for key in keys:
        row = db.session.execute(
            select(Budget.id, BudgetLimit.limit_amount, Category.name)
            .select_from(BudgetLimit)
            .join(Budget, Budget.id == BudgetLimit.budget_id)
            .join(Category, Category.id == BudgetLimit.category_id)
            .where(
                Budget.user_id == user_id,
                Budget.year == key.year,
                Budget.month == key.month,
                BudgetLimit.category_id == key.category_id,
            )
            .with_for_update(of=BudgetLimit)
        ).one_or_none()
        if row is None:
            continue
        states[key] = _LimitState(
            row[0], row[2], row[1], spent_in_month(user_id, key.category_id, key.year, key.month)
        )
    return states


@dataclass
class LimitWatch:
    """The limits of some category-months before a change; see `watch_limits`."""

    user_id: uuid.UUID
    keys: list[CategoryMonth]
    before: dict[CategoryMonth, _LimitState]

    def emit_crossings(self, *, transaction_id: uuid.UUID | None) -> None:
        """After the change (flushed, not committed): for every watched category-month whose
        spending crossed its limit, record budget.limit_exceeded; for one that crossed only
        warning thresholds, record budget.threshold_reached for the highest of them.

        `transaction_id` is the transaction whose change it was; None for a limit change.
        """
        thresholds: tuple[int, ...] = current_app.config["BUDGET_WARNING_THRESHOLDS"]
        db.session.flush()
        after = _limit_states(self.user_id, self.keys)
        for key, now in after.items():
            was = self.before.get(key)
            crossed = crossed_levels(
                was.spending if was is not None else None, now.spending, thresholds
            )
            if not crossed:
                continue  # staying over (or under) every level emits nothing
            # What both events say about the category-month and the change.
            about: dict[str, Any] = {
                "user_id": self.user_id,
                "budget_id": now.budget_id,
                "category_id": key.category_id,
                "category_name": now.category_name,
                "year": key.year,
                "month": key.month,
                "limit": now.limit,
                "spent": now.spent,
                "transaction_id": transaction_id,
            }
            if crossed[-1] == LIMIT_LEVEL:
                event = budget_limit_exceeded(**about)
            else:
                event = budget_threshold_reached(
                    **about,
                    percent=now.spending.whole_percent,
                    crossed_thresholds=crossed,
                )
            record_event(event)


def watch_limits(user_id: uuid.UUID, *keys: CategoryMonth) -> LimitWatch:
    """Before changing expenses or limits of these category-months: lock and note them.

    Call it before the change is added to the session (its reads must not see the change).
    A transaction moved to another category or month watches both the old and the new one; a
    category-month without a limit is simply not watched (a limit set later starts watching).
    The locks are held until the caller's commit.
    """
    ordered = sorted(set(keys))
    with db.session.no_autoflush:
        before = _limit_states(user_id, ordered)
    return LimitWatch(user_id, ordered, before)


def lock_goal(user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal | None:
    """The user's goal, locked until commit (None if there is no such goal of theirs), so that
    concurrent contributions add up and reach the target only once."""
    return db.session.scalar(
        select(Goal)
        .where(Goal.id == goal_id, Goal.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


@dataclass
class GoalWatch:
    goal: Goal
    reached_before: bool

    def emit_if_reached(self) -> None:
        """After the change: record goal.reached if the goal went from < target to >= it."""
        goal = self.goal
        if self.reached_before or goal.current_amount < goal.target_amount:
            return
        record_event(
            goal_reached(
                user_id=goal.user_id,
                goal_id=goal.id,
                name=goal.name,
                target_amount=goal.target_amount,
                current_amount=goal.current_amount,
            )
        )


def watch_goal(goal: Goal) -> GoalWatch:
    """Before changing a goal returned by `lock_goal` (a contribution, a new target)."""
    return GoalWatch(goal, reached_before=goal.current_amount >= goal.target_amount)
