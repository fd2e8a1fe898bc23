"""Transactions as clients send and receive them, and the filters of their lists."""

from __future__ import annotations

from typing import Any, Final

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from api_app.models import TransactionType
from api_app.schemas_common import IsoDate, Money, MoneyOut, Text, ledger_id_field
from api_app.splits.schemas import ShareSchema, SplitOutSchema, SplitSchema
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
    recurring_id = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "The recurring transaction that recorded it, if any"},
    )
    created_by = fields.UUID(
        required=True,
        allow_none=True,
        attribute="user_id",
        metadata={"description": "Who recorded it; null once their account is deleted"},
    )
    created_at = fields.DateTime(required=True)
    paid_by = fields.UUID(
        required=True,
        allow_none=True,
        metadata={"description": "A shared ledger's expense: the member who paid it"},
    )
    split = fields.Nested(
        SplitOutSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The split as asked (or the ledger's default); null: not split"},
    )
    shares = fields.List(
        fields.Nested(ShareSchema),
        required=True,
        metadata={"description": "What each member owes of it, adding up to the amount"},
    )


def _split_in(*, omitted: str) -> fields.Nested:
    """`split` in a transaction's body: null is never split, `omitted` says what leaving the
    field out means."""
    return fields.Nested(
        SplitSchema,
        allow_none=True,
        metadata={
            "description": "A shared ledger's expense: who owes what of it. Omitted:"
            f" {omitted}; null: not split (the household pays)"
        },
    )


class TransactionCreateSchema(Schema):
    category_id = fields.UUID(
        required=True, metadata={"description": "One of the ledger's categories"}
    )
    type = TransactionTypeIn(required=True)
    amount = Money(required=True)
    date = IsoDate(required=True)
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, allow_none=True, load_default=None)
    ledger_id = ledger_id_field()
    paid_by = fields.UUID(
        metadata={"description": "A shared ledger's expense: the member who paid (default: you)"}
    )
    split = _split_in(omitted="the ledger's default split")

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> NewTransaction:
        return NewTransaction(**data)


class TransactionUpdateSchema(Schema):
    category_id = fields.UUID(metadata={"description": "One of your categories"})
    type = TransactionTypeIn()
    amount = Money()
    date = IsoDate()
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, allow_none=True)
    paid_by = fields.UUID(
        metadata={"description": "A shared ledger's expense: the member who paid"}
    )
    split = _split_in(omitted="as it is")

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> TransactionChanges:
        return TransactionChanges(**data)


class TransactionFilterSchema(Schema):
    date_from = IsoDate(data_key="from", metadata={"description": "Earliest date, inclusive"})
    date_to = IsoDate(data_key="to", metadata={"description": "Latest date, inclusive"})
    type = TransactionTypeIn()
    category_id = fields.UUID()
    recurring_id = fields.UUID(
        metadata={"description": "Only those recorded by this recurring transaction"}
    )
    created_by = fields.UUID(metadata={"description": "Only those this person recorded"})
    ledger_id = ledger_id_field()

    @validates_schema
    def _from_before_to(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "date_from" in data and "date_to" in data and data["date_from"] > data["date_to"]:
            raise ValidationError("Must not be before `from`.", "to")

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> TransactionFilter:
        return TransactionFilter(**data)


class ImportArgsSchema(Schema):
    file = Upload(
        required=True,
        metadata={
            "description": "CSV, UTF-8 (a BOM is fine), `,` or `;` between cells, at most 5 MiB"
            " and 10,000 rows: the export's format, or a bank's with the columns date, amount,"
            " description and optionally category"
        },
    )
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "Only say what would be imported"}
    )
    default_category_id = fields.UUID(
        metadata={"description": "One of the ledger's categories, for rows that name none"}
    )
    ledger_id = ledger_id_field()


class RowErrorSchema(Schema):
    line = fields.Integer(required=True, metadata={"description": "Line in the file; header: 1"})
    message = fields.String(required=True)


class ImportedTransactionSchema(Schema):
    category_id = fields.UUID(required=True)
    type = fields.Enum(TransactionType, required=True)
    amount = MoneyOut()
    date = fields.Date(required=True)
    description = fields.String(required=True, allow_none=True)


class ImportResultSchema(Schema):
    created = fields.Integer(
        required=True, metadata={"description": "Transactions created (dry run: to be created)"}
    )
    duplicates = fields.Integer(
        required=True, metadata={"description": "Rows equal to a transaction you already have"}
    )
    errors = fields.List(fields.Nested(RowErrorSchema), required=True)
    transactions = fields.List(
        fields.Nested(ImportedTransactionSchema),
        metadata={"description": "Dry run only: the transactions that would be created"},
    )


class ImportRejectedSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Raw(
        metadata={
            "description": "Every row's error as [{line, message}]; or, for a malformed request,"
            " the usual {location: {field: [messages]}}"
        }
    )
