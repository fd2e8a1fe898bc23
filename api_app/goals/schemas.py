"""Savings goals and contributions as clients send and receive them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, pre_dump

from api_app.goals.progress import progress_percent, reached, remaining
from api_app.goals.service import GoalChanges, NewGoal
from api_app.models import Goal
from api_app.schemas_common import IsoDate, Money, MoneyOut, Percent, Text, ledger_id_field

NAME_MAX_LENGTH = 100


class GoalSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    target_amount = MoneyOut()
    current_amount = MoneyOut()
    remaining = MoneyOut(metadata={"description": "target - current, 0.00 once reached"})
    progress_percent = Percent(
        metadata={"description": "current as a percentage of target (above 100 when exceeded)"}
    )
    reached = fields.Boolean(required=True, metadata={"description": "current >= target"})
    deadline = fields.Date(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)

    @pre_dump
    def _with_progress(self, goal: Goal, **kwargs: Any) -> dict[str, Any]:
        return {
            "id": goal.id,
            "name": goal.name,
            "target_amount": goal.target_amount,
            "current_amount": goal.current_amount,
            "remaining": remaining(goal),
            "progress_percent": progress_percent(goal),
            "reached": reached(goal),
            "deadline": goal.deadline,
            "created_at": goal.created_at,
            "updated_at": goal.updated_at,
        }


class GoalCreateSchema(Schema):
    name = Text(min_length=1, max_length=NAME_MAX_LENGTH, required=True)
    target_amount = Money(required=True)
    deadline = IsoDate(allow_none=True, load_default=None)
    ledger_id = ledger_id_field()

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> NewGoal:
        return NewGoal(**data)


class GoalUpdateSchema(Schema):
    name = Text(min_length=1, max_length=NAME_MAX_LENGTH)
    target_amount = Money()
    deadline = IsoDate(allow_none=True)

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> GoalChanges:
        return GoalChanges(**data)


class GoalListArgsSchema(Schema):
    ledger_id = ledger_id_field()


class ContributionSchema(Schema):
    amount = Money(
        signed=True,
        required=True,
        metadata={"description": "Added to the goal; negative for a withdrawal, never 0"},
    )
