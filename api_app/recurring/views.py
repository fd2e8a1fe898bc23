"""/api/recurring: rules that record an income or expense every week, month or year."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask.views import MethodView
from flask_jwt_extended import current_user
from flask_smorest.error_handler import ErrorSchema
from sqlalchemy import Select

from api_app.access import NO_SUCH_LEDGER, VIEWER_READS_ONLY, current_user_id, protected
from api_app.models import RecurringTransaction
from api_app.recurring import service
from api_app.recurring.schemas import (
    RecurringCreateSchema,
    RecurringListArgsSchema,
    RecurringSchema,
    RecurringUpdateSchema,
)
from api_app.users.timezones import today_in
from service_kit.blueprint import Blueprint

blp = Blueprint(
    "recurring",
    __name__,
    url_prefix="/api/recurring",
    description="Recurring transactions: rent, salaries, subscriptions",
)

NO_RULE = "No such recurring transaction of yours"
TOO_FAR_BACK = (
    "Invalid input, end_date before start_date, or a start_date so far back that the rule would"
    " record more than 1000 transactions at once"
)


def _users_today() -> date:
    return today_in(current_user.timezone)


@blp.route("")
class RecurringRules(MethodView):
    @protected(blp)
    @blp.arguments(RecurringListArgsSchema, location="query")
    @blp.response(200, RecurringSchema(many=True))
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    @blp.paginate(service.RULE_ORDER)
    def get(self, args: dict[str, Any]) -> Select[tuple[RecurringTransaction]]:
        """The recurring transactions of one of your ledgers (your personal one by default),
        newest first"""
        return service.rules_of(current_user_id(), args["ledger_id"])

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(RecurringCreateSchema)
    @blp.response(201, RecurringSchema)
    @blp.alt_response(
        404,
        schema=ErrorSchema,
        description="No such ledger of yours, or category_id is not one of its categories",
    )
    @blp.alt_response(422, schema=ErrorSchema, description=TOO_FAR_BACK)
    def post(self, new: service.NewRule) -> RecurringTransaction:
        """Create a recurring transaction; its occurrences from start_date up to your today (in
        your time zone) are recorded at once, later ones by a daily job"""
        return service.create_rule(current_user_id(), _users_today(), new)


@blp.route("/<uuid:recurring_id>")
class RecurringRuleById(MethodView):
    @protected(blp)
    @blp.response(200, RecurringSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_RULE)
    def get(self, recurring_id: uuid.UUID) -> RecurringTransaction:
        """One recurring transaction"""
        return service.get_rule(current_user_id(), recurring_id)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(RecurringUpdateSchema)
    @blp.response(200, RecurringSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=f"{NO_RULE}, or no category of yours")
    @blp.alt_response(422, schema=ErrorSchema, description=TOO_FAR_BACK)
    def patch(self, changes: service.RuleChanges, recurring_id: uuid.UUID) -> RecurringTransaction:
        """Change any of its fields; occurrences of the changed rule from start_date up to your
        today that were not recorded yet are recorded at once (recorded ones stay as they are)"""
        return service.update_rule(current_user_id(), recurring_id, _users_today(), changes)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_RULE)
    def delete(self, recurring_id: uuid.UUID) -> None:
        """Delete a recurring transaction; the transactions it recorded stay"""
        service.delete_rule(current_user_id(), recurring_id)
