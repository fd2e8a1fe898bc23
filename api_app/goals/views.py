"""/api/goals: savings goals and contributions to them."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema
from sqlalchemy import Select

from api_app.access import NO_SUCH_LEDGER, VIEWER_READS_ONLY, current_user_id, protected
from api_app.goals import service
from api_app.goals.schemas import (
    ContributionSchema,
    GoalCreateSchema,
    GoalListArgsSchema,
    GoalSchema,
    GoalUpdateSchema,
)
from api_app.models import Goal
from service_kit.blueprint import Blueprint

blp = Blueprint("goals", __name__, url_prefix="/api/goals", description="Savings goals")

NO_GOAL = "No such goal of yours"


@blp.route("")
class Goals(MethodView):
    @protected(blp)
    @blp.arguments(GoalListArgsSchema, location="query")
    @blp.response(200, GoalSchema(many=True))
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    @blp.paginate(service.GOAL_ORDER)
    def get(self, args: dict[str, Any]) -> Select[tuple[Goal]]:
        """The goals of one of your ledgers (your personal one by default), newest first"""
        return service.goals_of(current_user_id(), args["ledger_id"])

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(GoalCreateSchema)
    @blp.response(201, GoalSchema)
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    def post(self, new: service.NewGoal) -> Goal:
        """Create a savings goal"""
        return service.create_goal(current_user_id(), new)


@blp.route("/<uuid:goal_id>")
class GoalById(MethodView):
    @protected(blp)
    @blp.response(200, GoalSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_GOAL)
    def get(self, goal_id: uuid.UUID) -> Goal:
        """One goal"""
        return service.get_goal(current_user_id(), goal_id)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(GoalUpdateSchema)
    @blp.response(200, GoalSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_GOAL)
    def patch(self, changes: service.GoalChanges, goal_id: uuid.UUID) -> Goal:
        """Rename a goal or change its target or deadline"""
        return service.update_goal(current_user_id(), goal_id, changes)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_GOAL)
    def delete(self, goal_id: uuid.UUID) -> None:
        """Delete a goal"""
        service.delete_goal(current_user_id(), goal_id)


@blp.route("/<uuid:goal_id>/contributions")
class Contributions(MethodView):
    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(ContributionSchema)
    @blp.response(200, GoalSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_GOAL)
    def post(self, data: dict[str, Any], goal_id: uuid.UUID) -> Goal:
        """Add to (or, with a negative amount, withdraw from) what a goal has saved

        A withdrawal larger than the saved amount answers 422 and changes nothing.
        """
        return service.contribute(current_user_id(), goal_id, data["amount"])
