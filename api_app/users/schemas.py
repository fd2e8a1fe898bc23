from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api_app.auth import passwords
from api_app.schemas_common import Text
from api_app.users.timezones import is_known_zone
from service_kit.i18n import LANGUAGES, known_currency

TIMEZONE_MAX_LENGTH = 64
DISPLAY_NAME_MAX_LENGTH = 64


class UserSchema(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True, metadata={"example": "test@example.com"})
    timezone = fields.String(
        required=True,
        metadata={"description": "IANA time zone of the user's dates", "example": "Europe/Berlin"},
    )
    language = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The language of the bot and the alerts; null: the chat's Telegram"
            " language, else English",
            "example": "ru",
        },
    )
    currency = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "ISO 4217 code of the account's amounts in the bot and the alerts;"
            " null: the language's own (ru: RUB, en: plain numbers)",
            "example": "EUR",
        },
    )
    created_at = fields.DateTime(required=True)


def _known_zone(name: str) -> None:
    if not is_known_zone(name):
        raise ValidationError("Not a known IANA time zone, such as Europe/Berlin or UTC.")


def _known_currency(code: str) -> None:
    if not known_currency(code):
        raise ValidationError("Not a known ISO 4217 currency code, such as EUR or RUB.")


class UserUpdateSchema(Schema):
    timezone = fields.String(
        validate=[validate.Length(min=1, max=TIMEZONE_MAX_LENGTH), _known_zone],
        metadata={
            "description": "An IANA time zone name: where the user's day begins and ends",
            "example": "Europe/Berlin",
        },
    )
    language = fields.String(
        allow_none=True,
        validate=validate.OneOf(LANGUAGES),
        metadata={
            "description": "The language of the bot and the alerts (en, ru); null to follow"
            " the chat's Telegram language",
            "example": "ru",
        },
    )

    currency = fields.String(
        allow_none=True,
        validate=[validate.Length(equal=3), _known_currency],
        metadata={
            "description": "An ISO 4217 code (EUR, RUB, USD); null for the language's own",
            "example": "EUR",
        },
    )
    display_name = Text(
        min_length=1,
        max_length=DISPLAY_NAME_MAX_LENGTH,
        allow_none=True,
        metadata={
            "description": "How the other members of your shared ledgers see you (their members"
            " list, by=member reports, the alerts of expenses you record); null: your email's"
            " local part",
            "example": "Anna",
        },
    )

    @validates_schema
    def _something(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give a timezone, a language, a currency or a display_name.")


class PasswordChangeSchema(Schema):
    current_password = fields.String(
        required=True, validate=validate.Length(min=1, max=passwords.MAX_LENGTH)
    )
    new_password = fields.String(
        required=True,
        validate=validate.Length(min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH),
        metadata={"description": "8 to 128 characters, any characters"},
    )


class AccountDeletionSchema(Schema):
    password = fields.String(
        required=True, validate=validate.Length(min=1, max=passwords.MAX_LENGTH)
    )
