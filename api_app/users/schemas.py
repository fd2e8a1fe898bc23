from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from api_app.auth import passwords
from api_app.users.timezones import is_known_zone

TIMEZONE_MAX_LENGTH = 64


class UserSchema(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True, metadata={"example": "test@example.com"})
    timezone = fields.String(
        required=True,
        metadata={"description": "IANA time zone of the user's dates", "example": "Europe/Berlin"},
    )
    created_at = fields.DateTime(required=True)


def _known_zone(name: str) -> None:
    if not is_known_zone(name):
        raise ValidationError("Not a known IANA time zone, such as Europe/Berlin or UTC.")


class UserUpdateSchema(Schema):
    timezone = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=TIMEZONE_MAX_LENGTH), _known_zone],
        metadata={
            "description": "An IANA time zone name: where the user's day begins and ends",
            "example": "Europe/Berlin",
        },
    )


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
