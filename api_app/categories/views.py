"""/api/categories: a user's spending and income categories."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema
from sqlalchemy import Select

from api_app.access import NO_SUCH_LEDGER, VIEWER_READS_ONLY, current_user_id, protected
from api_app.categories import service
from api_app.categories.schemas import (
    CategoryCreateSchema,
    CategoryDeleteArgsSchema,
    CategoryListArgsSchema,
    CategorySchema,
    CategoryUpdateSchema,
)
from api_app.models import Category
from service_kit.blueprint import Blueprint

blp = Blueprint("categories", __name__, url_prefix="/api/categories", description="Your categories")


@blp.route("")
class Categories(MethodView):
    @protected(blp)
    @blp.arguments(CategoryListArgsSchema, location="query")
    @blp.response(200, CategorySchema(many=True))
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    @blp.paginate(service.CATEGORY_ORDER)
    def get(self, args: dict[str, Any]) -> Select[tuple[Category]]:
        """The categories of one of your ledgers (your personal one by default), by name"""
        return service.categories_of(current_user_id(), args["ledger_id"])

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(CategoryCreateSchema)
    @blp.response(201, CategorySchema)
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    @blp.alt_response(
        409, schema=ErrorSchema, description="You already have a category of that name"
    )
    def post(self, new: service.NewCategory) -> Category:
        """Create a category"""
        return service.create_category(current_user_id(), new)


@blp.route("/<uuid:category_id>")
class CategoryById(MethodView):
    @protected(blp)
    @blp.response(200, CategorySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such category of yours")
    def get(self, category_id: uuid.UUID) -> Category:
        """One category"""
        return service.get_category(current_user_id(), category_id)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(CategoryUpdateSchema)
    @blp.response(200, CategorySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such category of yours")
    @blp.alt_response(
        409, schema=ErrorSchema, description="You already have a category of that name"
    )
    def patch(self, changes: service.CategoryChanges, category_id: uuid.UUID) -> Category:
        """Rename a category or change its icon"""
        return service.update_category(current_user_id(), category_id, changes)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(CategoryDeleteArgsSchema, location="query")
    @blp.response(204)
    @blp.alt_response(
        404, schema=ErrorSchema, description="No such category of yours (or reassign_to is not one)"
    )
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="The category has transactions, recurring transactions or budget limits and no"
        " reassign_to was given",
    )
    def delete(self, args: dict[str, Any], category_id: uuid.UUID) -> None:
        """Delete a category, optionally moving its transactions to another one"""
        service.delete_category(current_user_id(), category_id, args.get("reassign_to"))
