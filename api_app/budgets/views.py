"""/api/budgets: monthly budgets with a spending limit per category, and the monthly summary."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema
from sqlalchemy import Select

from api_app.access import NO_SUCH_LEDGER, VIEWER_READS_ONLY, current_user_id, protected
from api_app.budgets import service
from api_app.budgets.schemas import (
    BudgetCreateSchema,
    BudgetListArgsSchema,
    BudgetSchema,
    LimitAmountSchema,
    MonthlySummarySchema,
    SummaryArgsSchema,
)
from api_app.budgets.summary import MonthlySummary
from api_app.models import Budget
from service_kit.blueprint import Blueprint

blp = Blueprint("budgets", __name__, url_prefix="/api/budgets", description="Monthly budgets")

NO_BUDGET = "No such budget of yours"


@blp.route("")
class Budgets(MethodView):
    @protected(blp)
    @blp.arguments(BudgetListArgsSchema, location="query")
    @blp.response(200, BudgetSchema(many=True))
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    @blp.paginate(service.BUDGET_ORDER)
    def get(self, args: dict[str, Any]) -> Select[tuple[Budget]]:
        """The budgets of one of your ledgers (your personal one by default), newest month
        first"""
        return service.budgets_of(current_user_id(), args.get("year"), args["ledger_id"])

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(BudgetCreateSchema)
    @blp.response(201, BudgetSchema)
    @blp.alt_response(
        404,
        schema=ErrorSchema,
        description="No such ledger of yours, or a limit names no category of the ledger",
    )
    @blp.alt_response(
        409, schema=ErrorSchema, description="You already have a budget for that month"
    )
    def post(self, new: service.NewBudget) -> Budget:
        """Create the budget of a month, optionally copying your latest earlier budget's limits"""
        return service.create_budget(current_user_id(), new)


@blp.route("/summary")
class Summary(MethodView):
    @protected(blp)
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, MonthlySummarySchema)
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    def get(self, args: dict[str, Any]) -> MonthlySummary:
        """Income, expense and spending against limits for one month (with or without a budget)"""
        return service.summary_of(current_user_id(), args["year"], args["month"], args["ledger_id"])


@blp.route("/<uuid:budget_id>")
class BudgetById(MethodView):
    @protected(blp)
    @blp.response(200, BudgetSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_BUDGET)
    def get(self, budget_id: uuid.UUID) -> Budget:
        """One budget"""
        return service.get_budget(current_user_id(), budget_id)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_BUDGET)
    def delete(self, budget_id: uuid.UUID) -> None:
        """Delete a budget and its limits"""
        service.delete_budget(current_user_id(), budget_id)


@blp.route("/<uuid:budget_id>/limits/<uuid:category_id>")
class CategoryLimit(MethodView):
    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(LimitAmountSchema)
    @blp.response(200, BudgetSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such budget or category of yours")
    def put(self, data: dict[str, Any], budget_id: uuid.UUID, category_id: uuid.UUID) -> Budget:
        """Set the limit of one category in a budget (created or changed)"""
        return service.set_limit(current_user_id(), budget_id, category_id, data["limit_amount"])

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.response(204)
    @blp.alt_response(
        404,
        schema=ErrorSchema,
        description="No such budget of yours, or no limit for that category in it",
    )
    def delete(self, budget_id: uuid.UUID, category_id: uuid.UUID) -> None:
        """Remove the limit of one category from a budget"""
        service.remove_limit(current_user_id(), budget_id, category_id)
