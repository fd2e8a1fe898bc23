"""Ledgers, members and invitations as clients send and receive them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api_app.ledgers.service import INVITED_ROLES
from api_app.schemas_common import Text
from api_app.splits.schemas import DefaultSplitSchema, SplitOutSchema
from event_contract import LEDGER_KINDS, LEDGER_ROLES

NAME_MAX_LENGTH = 64
CODE_MAX_LENGTH = 64


def _one_of(values: frozenset[str]) -> validate.OneOf:
    return validate.OneOf(sorted(values))


class LedgerSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=_one_of(LEDGER_KINDS))
    role = fields.String(
        required=True, validate=_one_of(LEDGER_ROLES), metadata={"description": "Yours"}
    )
    member_count = fields.Integer(required=True)
    default_split = fields.Nested(
        SplitOutSchema,
        required=True,
        allow_none=True,
        metadata={"description": "How expenses without a split are split; null: not at all"},
    )


class LedgerNameSchema(Schema):
    name = Text(min_length=1, max_length=NAME_MAX_LENGTH, required=True)


class LedgerChangesSchema(Schema):
    name = Text(min_length=1, max_length=NAME_MAX_LENGTH)
    default_split = fields.Nested(DefaultSplitSchema, allow_none=True)

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give a name or a default_split.")


class InvitationCreateSchema(Schema):
    role = fields.String(
        required=True,
        validate=_one_of(INVITED_ROLES),
        metadata={"description": "What the invited person may do (ownership is handed over)"},
    )


class InvitationSchema(Schema):
    ledger_id = fields.UUID(required=True)
    code = fields.String(required=True, metadata={"description": "Single use; shown only now"})
    link = fields.String(
        required=True,
        metadata={
            "description": "INVITATION_LINK_URL (default: /join on this origin) with"
            " ?code=<code>: the app's page that posts the code to POST /api/ledgers/join"
        },
    )
    role = fields.String(required=True, validate=_one_of(INVITED_ROLES))
    expires_at = fields.DateTime(required=True)


class JoinSchema(Schema):
    code = Text(min_length=1, max_length=CODE_MAX_LENGTH, required=True)


class MembershipSchema(Schema):
    ledger_id = fields.UUID(required=True)
    ledger_name = fields.String(required=True)
    user_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=_one_of(LEDGER_ROLES))
    joined_at = fields.DateTime(required=True)


class MemberSchema(Schema):
    user_id = fields.UUID(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True, allow_none=True)
    role = fields.String(required=True, validate=_one_of(LEDGER_ROLES))
    joined_at = fields.DateTime(required=True)


class RoleSchema(Schema):
    role = fields.String(required=True, validate=_one_of(LEDGER_ROLES))
