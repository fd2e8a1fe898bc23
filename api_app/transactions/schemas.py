"""Transactions as clients send and receive them, and the filters of their lists."""

from __future__ import annotations

from typing import Any, Final

from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from api_app.models import TransactionType
from api_app.schemas_common import IsoDate, Money, MoneyOut, Text
from api_app.transactions.service import NewTransaction, TransactionChanges, TransactionFilter

DESCRIPTION_MAX_LENGTH = 500
TYPE_PATTERN: Final = "^([Ii][Nn][Cc][Oo][Mm][Ee]|[Ee][Xx][Pp][Ee][Nn][Ss][Ee])$"


class TransactionTypeIn(fields.Field[TransactionType]):
    """INCOME or EXPENSE, in any letter case."""

    default_error_messages = {"invalid": "Must be INCOME or EXPENSE."}  # noqa: RUF012

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "type": "string",
            "pattern": TYPE_PATTERN,
            "description": "INCOME or EXPENSE, in any letter case",
            "example": "EXPENSE",
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or value.upper() not in TransactionType.__members__:
            raise self.make_error("invalid")
        return TransactionType[value.upper()]


class TransactionSchema(Schema):
    id = fields.UUID(required=True)
    category_id = fields.UUID(required=True)
    type = fields.Enum(TransactionType, required=True)
    amount = MoneyOut()
    date = fields.Date(required=True)
    description = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class TransactionCreateSchema(Schema):
    category_id = fields.UUID(required=True, metadata={"description": "One of your categories"})
    type = TransactionTypeIn(required=True)
    amount = Money(required=True)
    date = IsoDate(required=True)
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, allow_none=True, load_default=None)

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> NewTransaction:
        return NewTransaction(**data)


class TransactionUpdateSchema(Schema):
    category_id = fields.UUID(metadata={"description": "One of your categories"})
    type = TransactionTypeIn()
    amount = Money()
    date = IsoDate()
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, allow_none=True)

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> TransactionChanges:
        return TransactionChanges(**data)


class TransactionFilterSchema(Schema):
    date_from = IsoDate(data_key="from", metadata={"description": "Earliest date, inclusive"})
    date_to = IsoDate(data_key="to", metadata={"description": "Latest date, inclusive"})
    type = TransactionTypeIn()
    category_id = fields.UUID()

    @validates_schema
    def _from_before_to(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "date_from" in data and "date_to" in data and data["date_from"] > data["date_to"]:
            raise ValidationError("Must not be before `from`.", "to")

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> TransactionFilter:
        return TransactionFilter(**data)
