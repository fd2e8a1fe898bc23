"""Recurring transactions as clients send and receive them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from api_app.models import Frequency, TransactionType
from api_app.recurring.service import NewRule, RuleChanges
from api_app.schemas_common import IsoDate, Money, MoneyOut, Text, ledger_id_field
from api_app.splits.schemas import SplitOutSchema, SplitSchema
from api_app.transactions.schemas import DESCRIPTION_MAX_LENGTH, TransactionTypeIn

FREQUENCY_HELP = (
    "weekly, monthly or yearly from start_date; a monthly rule falls on start_date's day of the"
    " month, or the month's last day where the month is shorter"
)


class RecurringSchema(Schema):
    id = fields.UUID(required=True)
    category_id = fields.UUID(required=True)
    type = fields.Enum(TransactionType, required=True)
    amount = MoneyOut()
    description = fields.String(required=True, allow_none=True)
    frequency = fields.Enum(Frequency, by_value=True, required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True, allow_none=True)
    next_date = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "The next occurrence to be recorded; null once the rule ended"},
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    paid_by = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "A shared ledger's rule: who pays its expenses (null: its maker)"},
    )
    split = fields.Nested(
        SplitOutSchema,
        required=True,
        allow_none=True,
        metadata={"description": "How its expenses are split; null: the ledger's default"},
    )


SPLIT_HELP = (
    "A shared ledger's expense rule: how what it records is split; null or omitted: by the"
    " ledger's default split at each occurrence"
)


def _end_not_before_start(data: dict[str, Any]) -> None:
    start, end = data.get("start_date"), data.get("end_date")
    if start is not None and end is not None and end < start:
        raise ValidationError("Must not be before start_date.", "end_date")


class RecurringCreateSchema(Schema):
    category_id = fields.UUID(required=True, metadata={"description": "One of your categories"})
    type = TransactionTypeIn(required=True)
    amount = Money(required=True)
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, allow_none=True, load_default=None)
    frequency = fields.Enum(
        Frequency, by_value=True, required=True, metadata={"description": FREQUENCY_HELP}
    )
    start_date = IsoDate(required=True, metadata={"description": "The first occurrence"})
    end_date = IsoDate(
        allow_none=True,
        load_default=None,
        metadata={"description": "No occurrence after this date; null: no end"},
    )
    ledger_id = ledger_id_field()

    @validates_schema
    def _dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        _end_not_before_start(data)

    paid_by = fields.UUID(
        metadata={"description": "A shared ledger's expense rule: who pays (default: you)"}
    )
    split = fields.Nested(
        SplitSchema, allow_none=True, load_default=None, metadata={"description": SPLIT_HELP}
    )

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> NewRule:
        return NewRule(**data)


class RecurringListArgsSchema(Schema):
    ledger_id = ledger_id_field()


class RecurringUpdateSchema(Schema):
    category_id = fields.UUID(metadata={"description": "One of your categories"})
    type = TransactionTypeIn()
    amount = Money()
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, allow_none=True)
    frequency = fields.Enum(Frequency, by_value=True, metadata={"description": FREQUENCY_HELP})
    start_date = IsoDate()
    end_date = IsoDate(allow_none=True)

    @validates_schema
    def _dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        _end_not_before_start(data)

    paid_by = fields.UUID(
        allow_none=True, metadata={"description": "Who pays; null: the rule's maker"}
    )
    split = fields.Nested(SplitSchema, allow_none=True, metadata={"description": SPLIT_HELP})

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> RuleChanges:
        return RuleChanges(**data)
