from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_load, validate

from api_app.auth import passwords, refresh_tokens
from api_app.users.schemas import UserSchema
from service_kit.i18n import LANGUAGES

# RFC 5321 caps a forward path at 256 octets, so an address is at most 254 characters.
MAX_EMAIL_LENGTH = 254


def normalize_email(email: str) -> str:
    return email.strip().lower()


class _EmailAndPassword(Schema):
    email = fields.Email(
        required=True,
        validate=validate.Length(max=MAX_EMAIL_LENGTH),
        metadata={"description": "trimmed and lower-cased", "example": "test@example.com"},
    )

    @pre_load
    def _normalize_email(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            return {**data, "email": normalize_email(data["email"])}
        return data


class RegistrationSchema(_EmailAndPassword):
    password = fields.String(
        required=True,
        validate=validate.Length(min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH),
        metadata={"description": "8 to 128 characters, any characters", "example": "password123"},
    )
    language = fields.String(
        validate=validate.OneOf(LANGUAGES),
        metadata={
            "description": "The language of the bot, the alerts and the default categories'"
            " names; without it the categories follow Accept-Language and the bot the chat's"
            " Telegram language",
            "example": "ru",
        },
    )


class LoginSchema(_EmailAndPassword):
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=passwords.MAX_LENGTH),
        metadata={"example": "password123"},
    )


class RefreshTokenSchema(Schema):
    refresh_token = fields.String(
        required=True, validate=validate.Length(min=1, max=refresh_tokens.MAX_PRESENTED_LENGTH)
    )


class SessionSchema(Schema):
    access_token = fields.String(required=True, metadata={"description": "EdDSA-signed JWT"})
    refresh_token = fields.String(
        required=True, metadata={"description": "opaque; shown once; good for one refresh"}
    )
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(
        required=True, metadata={"description": "access token lifetime in seconds"}
    )
    user = fields.Nested(UserSchema, required=True)
