from __future__ import annotations

from marshmallow import Schema, fields, validate

from api_app.auth import passwords


class UserSchema(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True, metadata={"example": "test@example.com"})
    created_at = fields.DateTime(required=True)


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
