"""The monthly report's range as clients give it, and its months as they receive them."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from marshmallow import Schema, ValidationError, fields, post_dump, validate, validates_schema

from api_app.reports.monthly import months_between
from api_app.schemas_common import MoneyOut, ledger_id_field

MAX_MONTHS: Final = 36
YEAR_MONTH_PATTERN: Final = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"


class YearMonth(fields.Field[date]):
    """A month written YYYY-MM (years 2000 to 2100), read as the first day of that month."""

    default_error_messages = {"invalid": "Not a valid month: give YYYY-MM, such as 2024-03."}  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "type": "string",
            "pattern": YEAR_MONTH_PATTERN,
            "example": "2024-03",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or re.fullmatch(YEAR_MONTH_PATTERN, value) is None:
            raise self.make_error("invalid")
        year, month = value.split("-")
        return date(int(year), int(month), 1)


class MonthlyReportArgsSchema(Schema):
    first = YearMonth(
        data_key="from",
        metadata={"description": "First month, included; default: 11 months before `to`"},
    )
    last = YearMonth(
        data_key="to",
        metadata={"description": "Last month, included; default: the current month (your zone)"},
    )
    ledger_id = ledger_id_field()
    by = fields.String(
        validate=validate.OneOf(["member"]),
        metadata={"description": "`member`: each month also lists what each member spent"},
    )

    @validates_schema
    def _a_range_of_at_most_36_months(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "first" in data and "last" in data:
            if data["first"] > data["last"]:
                raise ValidationError("Must not be before `from`.", "to")
            if months_between(data["first"], data["last"]) > MAX_MONTHS:
                raise ValidationError(f"A report covers at most {MAX_MONTHS} months.", "to")


class CategoryTrendSchema(Schema):
    category_id = fields.UUID(required=True)
    name = fields.String(required=True)
    spent = MoneyOut(metadata={"description": "Expenses of the month in this category"})
    limit = MoneyOut(allow_none=True, metadata={"description": "null when the month has none"})


class MemberSpendingSchema(Schema):
    user_id = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "null: expenses of accounts deleted since"},
    )
    name = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Their display name, else their email's local part"},
    )
    spent = MoneyOut(metadata={"description": "Expenses they recorded in the month"})


class MonthTrendSchema(Schema):
    year = fields.Integer(required=True)
    month = fields.Integer(required=True)
    income = MoneyOut()
    expense = MoneyOut()
    net = MoneyOut(metadata={"description": "income - expense"})
    categories = fields.List(
        fields.Nested(CategoryTrendSchema),
        required=True,
        metadata={"description": "Categories with a limit or expenses in the month, by name"},
    )
    members = fields.List(
        fields.Nested(MemberSpendingSchema),
        metadata={
            "description": "With by=member only: every member (spending or not), then anyone"
            " else who recorded expenses in the month"
        },
    )

    @post_dump
    def _members_when_asked(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("members") is None:
            data.pop("members", None)
        return data
