"""How far a savings goal has come; derived from its amounts, never stored."""

from __future__ import annotations

from decimal import Decimal

from api_app.models import Goal
from api_app.money import percent_of


def remaining(goal: Goal) -> Decimal:
    """What is still missing, 0.00 once the target is reached."""
    return max(goal.target_amount - goal.current_amount, Decimal("0.00"))


def progress_percent(goal: Goal) -> Decimal:
    """current as a percentage of target; above 100 when more than the target is saved."""
    return percent_of(goal.current_amount, goal.target_amount)


def reached(goal: Goal) -> bool:
    return goal.current_amount >= goal.target_amount
