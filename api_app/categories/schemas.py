"""Categories as clients send and receive them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load

from api_app.categories.service import CategoryChanges, NewCategory
from api_app.schemas_common import Text, ledger_id_field

NAME_MAX_LENGTH = 64
ICON_MAX_LENGTH = 64


class CategorySchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    icon = fields.String(required=True, allow_none=True)
    is_default = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class CategoryCreateSchema(Schema):
    name = Text(min_length=1, max_length=NAME_MAX_LENGTH, required=True)
    icon = Text(max_length=ICON_MAX_LENGTH, allow_none=True, load_default=None)
    ledger_id = ledger_id_field()

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> NewCategory:
        return NewCategory(**data)


class CategoryUpdateSchema(Schema):
    name = Text(min_length=1, max_length=NAME_MAX_LENGTH)
    icon = Text(max_length=ICON_MAX_LENGTH, allow_none=True)

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> CategoryChanges:
        return CategoryChanges(**data)


class CategoryListArgsSchema(Schema):
    ledger_id = ledger_id_field()


class CategoryDeleteArgsSchema(Schema):
    reassign_to = fields.UUID(
        metadata={
            "description": "Another category of yours that receives this category's "
            "transactions; its budget limits are dropped."
        }
    )
