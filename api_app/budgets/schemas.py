"""Budgets, their limits and the monthly summary as clients send and receive them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from api_app.budgets.service import NewBudget, NewLimit
from api_app.schemas_common import Money, MoneyOut, Percent, ledger_id_field

MONTH = validate.Range(min=1, max=12)
YEAR = validate.Range(min=2000, max=2100)
MAX_LIMITS = 500


class BudgetLimitSchema(Schema):
    category_id = fields.UUID(required=True)
    limit_amount = MoneyOut()


class BudgetSchema(Schema):
    id = fields.UUID(required=True)
    month = fields.Integer(required=True)
    year = fields.Integer(required=True)
    limits = fields.List(fields.Nested(BudgetLimitSchema), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class LimitInputSchema(Schema):
    category_id = fields.UUID(required=True)
    limit_amount = Money(required=True)

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> NewLimit:
        return NewLimit(**data)


class BudgetCreateSchema(Schema):
    month = fields.Integer(strict=True, required=True, validate=MONTH)
    year = fields.Integer(strict=True, required=True, validate=YEAR)
    limits = fields.List(
        fields.Nested(LimitInputSchema),
        load_default=list,
        validate=validate.Length(max=MAX_LIMITS),
        metadata={"description": "Limits to set; they override copied ones."},
    )
    copy_from = fields.String(
        validate=validate.OneOf(["previous"]),
        metadata={
            "description": "`previous`: start from the limits of the ledger's latest earlier"
            " budget."
        },
    )
    ledger_id = ledger_id_field()

    @validates_schema
    def _one_limit_per_category(self, data: dict[str, Any], **kwargs: Any) -> None:
        category_ids = [limit.category_id for limit in data.get("limits", [])]
        if len(set(category_ids)) != len(category_ids):
            raise ValidationError("At most one limit per category.", "limits")

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> NewBudget:
        return NewBudget(
            year=data["year"],
            month=data["month"],
            limits=data["limits"],
            copy_previous=data.get("copy_from") == "previous",
            ledger_id=data["ledger_id"],
        )


class BudgetListArgsSchema(Schema):
    year = fields.Integer(validate=YEAR, metadata={"description": "Only budgets of this year"})
    ledger_id = ledger_id_field()


class LimitAmountSchema(Schema):
    limit_amount = Money(required=True)


class SummaryArgsSchema(Schema):
    year = fields.Integer(required=True, validate=YEAR)
    month = fields.Integer(required=True, validate=MONTH)
    ledger_id = ledger_id_field()


class CategorySpendingSchema(Schema):
    category_id = fields.UUID(required=True)
    name = fields.String(required=True)
    icon = fields.String(required=True, allow_none=True)
    limit = MoneyOut(allow_none=True, metadata={"description": "null when the month has none"})
    spent = MoneyOut(metadata={"description": "Expenses of the month in this category"})
    remaining = MoneyOut(
        allow_none=True, metadata={"description": "limit - spent; negative when over"}
    )
    percent = Percent(allow_none=True, metadata={"description": "spent as a percentage of limit"})
    over_limit = fields.Boolean(
        required=True,
        metadata={"description": "spent > limit (spending exactly the limit is not over)"},
    )


class MonthlySummarySchema(Schema):
    year = fields.Integer(required=True)
    month = fields.Integer(required=True)
    income = MoneyOut()
    expense = MoneyOut()
    net = MoneyOut(metadata={"description": "income - expense"})
    categories = fields.List(fields.Nested(CategorySpendingSchema), required=True)
