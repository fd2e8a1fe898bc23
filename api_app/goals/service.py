"""Use cases on savings goals; each write is one unit of work.

Every change to a goal's amounts goes through the unit of work's `change_goal`, which locks its
row (SELECT ... FOR UPDATE) first, so concurrent contributions queue up and none is lost, a
change sees the amounts it replaces, and reaching the target records goal.reached once.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select

from api_app.changes import UNSET, Unset
from api_app.domain_errors import InvalidError, NotFoundError
from api_app.extensions import db
from api_app.ledgers.membership import memberships_of
from api_app.models import Goal
from api_app.money import MAX_AMOUNT
from api_app.unit_of_work import UnitOfWork
from event_contract import money
from service_kit.pagination import ListOrder

GOAL_ORDER = ListOrder((Goal.created_at, Goal.id), descending=True)


@dataclass(frozen=True)
class NewGoal:
    name: str
    target_amount: Decimal
    deadline: datetime.date | None = None
    # None: the person's personal ledger.
    ledger_id: uuid.UUID | None = None


@dataclass(frozen=True)
class GoalChanges:
    """A PATCH: the fields given, UNSET for the others."""

    name: str | Unset = UNSET
    target_amount: Decimal | Unset = UNSET
    deadline: datetime.date | Unset | None = UNSET


def goals_of(user_id: uuid.UUID, ledger_id: uuid.UUID | None = None) -> Select[tuple[Goal]]:
    """The goals of a ledger of the person's (None: their personal one)."""
    ledger_id = memberships_of(user_id).reading(ledger_id)
    return select(Goal).where(Goal.ledger_id == ledger_id).order_by(*GOAL_ORDER.clauses())


def get_goal(user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal:
    goal = db.session.scalar(
        select(Goal).where(Goal.id == goal_id, Goal.ledger_id.in_(memberships_of(user_id).readable))
    )
    if goal is None:
        raise NotFoundError("goal not found")
    return goal


def create_goal(user_id: uuid.UUID, new: NewGoal) -> Goal:
    ledger_id = memberships_of(user_id).writing(new.ledger_id)
    with UnitOfWork(user_id) as uow:
        goal = Goal(
            ledger_id=ledger_id,
            user_id=user_id,
            name=new.name,
            target_amount=new.target_amount,
            deadline=new.deadline,
        )
        uow.session.add(goal)
    return goal


def update_goal(user_id: uuid.UUID, goal_id: uuid.UUID, changes: GoalChanges) -> Goal:
    """Lowering the target can reach the goal."""

    def apply(goal: Goal) -> None:
        if not isinstance(changes.name, Unset):
            goal.name = changes.name
        if not isinstance(changes.target_amount, Unset):
            goal.target_amount = changes.target_amount
        if not isinstance(changes.deadline, Unset):
            goal.deadline = changes.deadline

    with UnitOfWork(user_id) as uow:
        return uow.change_goal(goal_id, apply)


def delete_goal(user_id: uuid.UUID, goal_id: uuid.UUID) -> None:
    memberships = memberships_of(user_id)
    with UnitOfWork(user_id) as uow:
        goal = uow.session.scalar(
            select(Goal)
            .where(Goal.id == goal_id, Goal.ledger_id.in_(memberships.readable))
            .with_for_update()
        )
        if goal is None:
            raise NotFoundError("goal not found")
        memberships.check_writer(goal.ledger_id)
        uow.session.delete(goal)


def contribute(user_id: uuid.UUID, goal_id: uuid.UUID, amount: Decimal) -> Goal:
    """Add amount (negative: withdraw) to what the goal has saved, never going below 0.00."""

    def add(goal: Goal) -> None:
        saved = goal.current_amount + amount
        if saved < 0:
            raise InvalidError.on(
                "amount",
                f"At most {money(goal.current_amount)} can be withdrawn.",
                "a withdrawal cannot take the saved amount below 0.00",
            )
        if saved > MAX_AMOUNT:
            raise InvalidError.on(
                "amount",
                "Too large for what the goal has saved.",
                "the saved amount cannot exceed 9999999999.99",
            )
        goal.current_amount = saved

    with UnitOfWork(user_id) as uow:
        return uow.change_goal(goal_id, add)
