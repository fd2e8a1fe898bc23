"""A savings goal is reached when its current amount goes from < its target to >= it.

Every change to a goal's amounts starts with `lock_goal`, which holds the row until commit:
concurrent contributions queue up, each sees the amounts it replaces, and together they reach
the target once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from api_app.crossings.audience import Recorded, addressed
from api_app.domain_errors import NotFoundError
from api_app.ledgers.membership import memberships_of
from api_app.models import Goal
from event_contract import Event, GoalReached


def lock_goal(session: Session, user_id: uuid.UUID, goal_id: uuid.UUID) -> Goal | None:
    """A goal of the person's ledgers, locked until commit (None if there is no such goal of
    theirs); Forbidden for a viewer of its ledger."""
    memberships = memberships_of(user_id)
    goal = session.scalar(
        select(Goal)
        .where(Goal.id == goal_id, Goal.ledger_id.in_(memberships.readable))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if goal is not None:
        memberships.check_writer(goal.ledger_id)
    return goal


def change_goal(
    session: Session,
    user_id: uuid.UUID,
    goal_id: uuid.UUID,
    change: Callable[[Goal], None],
    record: Callable[[Event], None],
) -> Goal:
    """Lock the user's goal, apply `change` to it, and record goal.reached if that took it from
    below its target to it (a contribution, a lower target). NotFoundError if there is no such
    goal of theirs; whatever `change` raises leaves the goal as it was."""
    goal = lock_goal(session, user_id, goal_id)
    if goal is None:
        raise NotFoundError("goal not found")
    reached_before = goal.current_amount >= goal.target_amount
    change(goal)
    if not reached_before and goal.current_amount >= goal.target_amount:
        event = Event(
            user_id=user_id,
            payload=GoalReached(
                goal_id=goal.id,
                name=goal.name,
                target_amount=goal.target_amount,
                current_amount=goal.current_amount,
            ),
        )
        # A household's goal: every member hears of it, and its group.
        for addressed_event in addressed(session, event, goal.ledger_id, Recorded(by=user_id)):
            record(addressed_event)
    return goal
