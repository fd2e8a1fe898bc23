"""Fields every api_app resource shares: exact money, strict dates, text PostgreSQL can store."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Final

from marshmallow import ValidationError, fields, validate

from api_app.money import CENT, MAX_AMOUNT
from event_contract import money

# The textual forms of an amount: at most ten integer digits and two decimals, no leading zeros.
_POSITIVE_AMOUNT: Final = r"([1-9][0-9]{0,9}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))"
POSITIVE_AMOUNT_PATTERN: Final = f"^{_POSITIVE_AMOUNT}$"
NONZERO_AMOUNT_PATTERN: Final = f"^-?{_POSITIVE_AMOUNT}$"
OUTPUT_AMOUNT_PATTERN: Final = r"^-?[0-9]+\.[0-9]{2}$"
ISO_DATE_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
NO_NUL_PATTERN: Final = "^[^\\u0000]*$"


class Money(fields.Field[Decimal]):
    """An amount given by a client: a string ("12.50") or a JSON number (12.5), read as Decimal.

    Both forms allow at most two decimals and an absolute value up to 9999999999.99. By default
    the amount must be greater than 0; `signed=True` allows negative amounts but never 0. JSON
    numbers reach this field as Decimal or int (see service_kit.blueprint), never as float.
    """

    default_error_messages = {  # noqa: RUF012 - marshmallow's own declaration style
        "invalid": 'Not a valid amount: give a string such as "12.50" or a number.',
        "decimals": "An amount has at most two decimals.",
        "too_large": "An amount is at most 9999999999.99 in absolute value.",
        "not_positive": "The amount must be greater than 0.",
        "zero": "The amount must not be 0.",
    }

    def __init__(self, *, signed: bool = False, **kwargs: Any) -> None:
        self.signed = signed
        pattern = NONZERO_AMOUNT_PATTERN if signed else POSITIVE_AMOUNT_PATTERN
        number: dict[str, Any] = {
            "type": "number",
            "multipleOf": 0.01,
            "maximum": float(MAX_AMOUNT),
        }
        if signed:
            number["minimum"] = -float(MAX_AMOUNT)
            number["not"] = {"enum": [0]}
        else:
            number.update(minimum=0, exclusiveMinimum=True)
        described = "not 0; negative" if signed else "greater than 0"
        metadata = {
            "anyOf": [{"type": "string", "pattern": pattern}, number],
            "description": f"Amount, {described}, at most two decimals: a string such as "
            '"12.50" (preferred) or a number.',
            "example": "12.50",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, str):
            pattern = NONZERO_AMOUNT_PATTERN if self.signed else POSITIVE_AMOUNT_PATTERN
            if re.fullmatch(pattern, value) is None:
                raise self.make_error("invalid")
            return Decimal(value)
        # bool is an int to Python, and a float would already have lost exactness.
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self.make_error("invalid")
        amount = Decimal(value)
        if not amount.is_finite():
            raise self.make_error("invalid")
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise self.make_error("decimals")
        if abs(amount) > MAX_AMOUNT:
            raise self.make_error("too_large")
        if amount == 0:
            raise self.make_error("zero" if self.signed else "not_positive")
        if amount < 0 and not self.signed:
            raise self.make_error("not_positive")
        return amount.quantize(CENT)

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else money(value)


class MoneyOut(fields.Field[Decimal]):
    """An amount in a response: always a string with two decimals, such as "12.50" or "-3.00"."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "type": "string",
            "pattern": OUTPUT_AMOUNT_PATTERN,
            "example": "12.50",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, required=True, **kwargs)

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else money(value)


class Percent(fields.Field[Decimal]):
    """A percentage in a response: a JSON number with at most two decimals, such as 83.33."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "number", "example": 83.33, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, required=True, **kwargs)

    def _serialize(self, value: Decimal | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        # A float only at the very edge, for display: 83.33 prints as 83.33.
        return None if value is None else float(value)


class IsoDate(fields.Date):
    """A calendar date written exactly YYYY-MM-DD (Python alone would also take 20240131)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"example": "2024-01-31", **kwargs.pop("metadata", {})}
        super().__init__(format="iso", metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or re.fullmatch(ISO_DATE_PATTERN, value) is None:
            raise self.make_error("invalid")
        parsed: date = super()._deserialize(value, attr, data, **kwargs)
        return parsed


class Text(fields.String):
    """A string of bounded length that PostgreSQL can store as given.

    PostgreSQL text holds neither NUL characters nor lone surrogates, so both are refused here
    rather than failing in the database.
    """

    def __init__(self, *, max_length: int, min_length: int = 0, **kwargs: Any) -> None:
        metadata = {"pattern": NO_NUL_PATTERN, **kwargs.pop("metadata", {})}
        length = validate.Length(min=min_length, max=max_length)
        super().__init__(validate=[length, _storable], metadata=metadata, **kwargs)


def _storable(text: str) -> None:
    if "\x00" in text:
        raise ValidationError("Text must not contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValidationError("Text must be valid Unicode.") from error


def ledger_id_field() -> fields.UUID:
    """`ledger_id` in a create's body or a list's query: a ledger of the caller's."""
    return fields.UUID(
        load_default=None,
        metadata={
            "description": "One of your ledgers (GET /api/ledgers); without it, your personal"
            " ledger. A ledger that is not yours answers 404; a write to one you only view, 403."
        },
    )
