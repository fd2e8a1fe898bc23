"""Splits as clients send and receive them: on transactions, recurring rules and ledgers."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Final

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from api_app.money import MAX_AMOUNT
from api_app.schemas_common import MoneyOut
from api_app.splits.arithmetic import Portion, SplitMethod
from api_app.splits.sharing import DefaultSplit, SplitRequest

# At most ten integer digits and two decimals, 0 allowed (a member left out on purpose).
VALUE_PATTERN: Final = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
MAX_MEMBERS_IN_SPLIT: Final = 100
METHODS: Final = [str(method) for method in SplitMethod]


class SplitValue(fields.Field[Decimal]):
    """A member's value in a split: a share (2 of 3), a percentage or an amount."""

    default_error_messages = {  # noqa: RUF012 - marshmallow's own declaration style
        "invalid": 'Not a valid value: give a string such as "40" or "12.50", or a number,'
        " from 0 with at most two decimals.",
    }

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "anyOf": [
                {"type": "string", "pattern": VALUE_PATTERN},
                {"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT), "multipleOf": 0.01},
            ],
            "description": "shares: a weight; percent: a percentage; amounts: an amount."
            " Omitted (or null) for equal",
            "example": "50",
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, str):
            if re.fullmatch(VALUE_PATTERN, value) is None:
                raise self.make_error("invalid")
            return Decimal(value)
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self.make_error("invalid")
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        if (
            not number.is_finite()
            or number < 0
            or number > MAX_AMOUNT
            or (isinstance(exponent, int) and exponent < -2)
        ):
            raise self.make_error("invalid")
        return number

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else str(value)


class PortionSchema(Schema):
    user_id = fields.UUID(required=True, metadata={"description": "A member of the ledger"})
    value = SplitValue(allow_none=True, load_default=None)


class SplitSchema(Schema):
    """A split as asked: how, and among whom."""

    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    among = fields.List(
        fields.Nested(PortionSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_MEMBERS_IN_SPLIT),
        metadata={"description": "The members who owe a part, each once"},
    )

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> SplitRequest:
        return SplitRequest(
            SplitMethod(data["method"]),
            tuple(Portion(portion["user_id"], portion["value"]) for portion in data["among"]),
        )


class DefaultSplitSchema(Schema):
    """A ledger's default split: `equal` (among its owners and members, naming nobody), or
    fixed `shares` or `percent` among named members."""

    method = fields.String(required=True, validate=validate.OneOf(["equal", "shares", "percent"]))
    among = fields.List(
        fields.Nested(PortionSchema),
        load_default=list,
        validate=validate.Length(max=MAX_MEMBERS_IN_SPLIT),
        metadata={"description": "equal: empty or omitted; shares, percent: each member once"},
    )

    @validates_schema
    def _among_for_fixed(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("method") in ("shares", "percent") and not data.get("among"):
            raise ValidationError("Name the members and their values.", "among")

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> DefaultSplit:
        return DefaultSplit(
            SplitMethod(data["method"]),
            tuple(Portion(portion["user_id"], portion["value"]) for portion in data["among"]),
        )


class PortionOutSchema(Schema):
    user_id = fields.String(required=True, metadata={"format": "uuid"})
    value = fields.String(required=True, allow_none=True)


class SplitOutSchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(METHODS))
    among = fields.List(fields.Nested(PortionOutSchema), required=True)


class ShareSchema(Schema):
    user_id = fields.UUID(required=True)
    amount = MoneyOut()
