"""Use cases on savings goals; each write is one transaction, committed here.

Every change to a goal's amounts locks its row (SELECT ... FOR UPDATE) first, so concurrent
contributions queue up and none is lost, and a change sees the amounts it replaces.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from api_app.blueprint import abort
from api_app.events import watch_goal
from api_app.extensions import db
from api_app.models import Goal
from api_app.money import MAX_AMOUNT
from api_app.pagination import ListOrder
from event_contract import money

GOAL_ORDER = ListOrder((Goal.created_at, Goal.id), descending=True)


def goals_of(user_id: uuid.UUID) -> Select[tuple[Goal]]:
    return select(Goal).where(Goal.user_id == user_id).order_by(*GOAL_ORDER.clauses())


def get_goal(user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal:
    return _find(user_id, goal_id, lock=False)


def create_goal(
    user_id: uuid.UUID, name: str, target_amount: Decimal, deadline: date | None
) -> Goal:
    goal = Goal(user_id=user_id, name=name, target_amount=target_amount, deadline=deadline)
    db.session.add(goal)
    db.session.commit()
    return goal


def update_goal(user_id: uuid.UUID, goal_id: uuid.UUID, changes: dict[str, Any]) -> Goal:
    goal = _find(user_id, goal_id, lock=True)
    reaching = watch_goal(goal)  # lowering the target can reach it
    for attribute, value in changes.items():
        setattr(goal, attribute, value)
    reaching.emit_if_reached()
    db.session.commit()
    return goal


def delete_goal(user_id: uuid.UUID, goal_id: uuid.UUID) -> None:
    db.session.delete(_find(user_id, goal_id, lock=True))
    db.session.commit()


def contribute(user_id: uuid.UUID, goal_id: uuid.UUID, amount: Decimal) -> Goal:
    """Add amount (negative: withdraw) to what the goal has saved, never going below 0.00."""
    goal = _find(user_id, goal_id, lock=True)
    reaching = watch_goal(goal)
    saved = goal.current_amount + amount
    if saved < 0:
        abort(
            422,
            message="a withdrawal cannot take the saved amount below 0.00",
            errors={
                "json": {"amount": [f"At most {money(goal.current_amount)} can be withdrawn."]}
            },
        )
    if saved > MAX_AMOUNT:
        abort(
            422,
            message="the saved amount cannot exceed 9999999999.99",
            errors={"json": {"amount": ["Too large for what the goal has saved."]}},
        )
    goal.current_amount = saved
    reaching.emit_if_reached()
    db.session.commit()
    return goal


def _find(user_id: uuid.UUID, goal_id: uuid.UUID, *, lock: bool) -> Goal:
    query = select(Goal).where(Goal.id == goal_id, Goal.user_id == user_id)
    goal = db.session.scalar(query.with_for_update() if lock else query)
    if goal is None:
        abort(404, message="goal not found")
    return goal
