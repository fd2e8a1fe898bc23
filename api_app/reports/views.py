"""/api/reports: the monthly trend of income, expenses and spending per category."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.views import MethodView
from flask_jwt_extended import current_user
from flask_smorest.error_handler import ErrorSchema

from api_app.access import NO_SUCH_LEDGER, current_user_id, protected
from api_app.rate_limits import spend_report_months
from api_app.reports.monthly import MonthTrend, months_between, trend_of
from api_app.reports.schemas import MAX_MONTHS, MonthlyReportArgsSchema, MonthTrendSchema
from api_app.users.timezones import today_in
from service_kit.blueprint import Blueprint, abort
from service_kit.openapi import RATE_LIMITED

blp = Blueprint("reports", __name__, url_prefix="/api/reports", description="Reports over months")

DEFAULT_MONTHS = 12


@blp.route("/monthly")
class MonthlyReport(MethodView):
    @protected(blp)
    @blp.arguments(MonthlyReportArgsSchema, location="query")
    @blp.response(200, MonthTrendSchema(many=True))
    @blp.alt_response(
        422, schema=ErrorSchema, description="Not YYYY-MM, `to` before `from`, over 36 months"
    )
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    @blp.alt_response(429, **RATE_LIMITED)
    def get(self, args: dict[str, Any]) -> list[MonthTrend]:
        """Income, expenses, net and spending per category for each month of a range (at most
        36 months), oldest first, every month present"""
        first, last = args.get("first"), args.get("last")
        if last is None:
            last = today_in(current_user.timezone).replace(day=1)
            if first is not None:
                last = max(first, last)
        if first is None:
            first = _months_before(last, DEFAULT_MONTHS - 1)
        if months_between(first, last) > MAX_MONTHS:
            abort(
                422,
                message="invalid query",
                errors={"query": {"from": [f"A report covers at most {MAX_MONTHS} months."]}},
            )
        spend_report_months(months_between(first, last))
        return trend_of(
            current_user_id(), first, last, args["ledger_id"], by_member=args.get("by") == "member"
        )


def _months_before(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)
