from __future__ import annotations

from marshmallow import Schema, fields


class DeliverySchema(Schema):
    id = fields.UUID(dump_only=True)
    event_id = fields.UUID(dump_only=True)
    event_type = fields.String(dump_only=True, metadata={"example": "budget.limit_exceeded"})
    channel = fields.String(dump_only=True, metadata={"example": "telegram"})
    status = fields.String(
        dump_only=True,
        metadata={"enum": ["pending", "sent", "skipped", "failed"], "example": "sent"},
    )
    reason = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "why it was skipped"}
    )
    text = fields.String(dump_only=True)
    chat_id = fields.String(dump_only=True, allow_none=True)
    attempts = fields.Integer(dump_only=True)
    last_error = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    sent_at = fields.DateTime(dump_only=True, allow_none=True)
